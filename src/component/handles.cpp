// Handle tables and the resource built-ins, with the spec's traps.
#include "component/handles.h"

#include <algorithm>

namespace wink::component {

Result<uint32_t> HandleTable::add(ResourceHandle h) {
  uint32_t i;
  if (!free_.empty()) {
    i = free_.back();
    free_.pop_back();
  } else {
    if (entries_.size() > kMaxLength) return make_error("handle table is full (2^28-1 handles)");
    i = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  entries_[i].used = true;
  entries_[i].handle = h;
  return i;
}

Result<ResourceHandle*> HandleTable::get(uint32_t i) {
  if (i >= entries_.size() || !entries_[i].used) {
    return make_error("invalid handle index " + std::to_string(i));
  }
  return &entries_[i].handle;
}

Result<ResourceHandle> HandleTable::remove(uint32_t i) {
  WINK_ASSIGN_OR_RETURN(ResourceHandle * h, get(i));
  ResourceHandle out = *h;
  entries_[i].used = false;
  free_.push_back(i);
  return out;
}

size_t HandleTable::live() const {
  return static_cast<size_t>(std::count_if(entries_.begin(), entries_.end(), [](const Slot& s) { return s.used; }));
}

bool HandleTable::at_rest() const {
  return std::all_of(entries_.begin(), entries_.end(), [](const Slot& s) {
    return !s.used || (s.handle.own && s.handle.num_lends == 0 && s.handle.borrow_scope == nullptr);
  });
}

void HandleTable::save(ByteWriter& w) const {
  w.u32(static_cast<uint32_t>(entries_.size()));
  for (const Slot& s : entries_) {
    w.u8(s.used ? 1 : 0);
    if (!s.used) continue;
    w.u32(s.handle.resource);
    w.u32(s.handle.rep);
  }
  w.u32(static_cast<uint32_t>(free_.size()));
  for (uint32_t i : free_) w.u32(i);
}

Result<HandleTable> HandleTable::read(ByteReader& r) {
  HandleTable t;
  const uint32_t n = r.u32();
  // Every slot takes a byte at least: the length is bounded by the input.
  if (n == 0 || n - 1 > kMaxLength || n > r.left()) return make_error("handle table: bad length");
  t.entries_.resize(n);
  for (uint32_t i = 0; i < n && !r.bad; ++i) {
    Slot& s = t.entries_[i];
    s.used = r.u8() != 0;
    if (!s.used) continue;
    if (i == 0) return make_error("handle table: index 0 in use");
    s.handle = {r.u32(), r.u32(), true, nullptr, 0};
  }
  const uint32_t nfree = r.u32();
  if (nfree > n || nfree > r.left() / 4) return make_error("handle table: bad free list");
  std::vector<uint8_t> listed(n, 0);
  for (uint32_t k = 0; k < nfree && !r.bad; ++k) {
    const uint32_t i = r.u32();
    if (i == 0 || i >= n || t.entries_[i].used || listed[i]) return make_error("handle table: bad free index");
    listed[i] = 1;
    t.free_.push_back(i);
  }
  // An unused slot not on the free list would never be handed out again: harmless, but
  // not what remove() leaves.
  for (uint32_t i = 1; i < n && !r.bad; ++i) {
    if (!t.entries_[i].used && !listed[i]) return make_error("handle table: an unused index not on the free list");
  }
  if (r.bad) return make_error("handle table: truncated");
  return t;
}

bool InstanceState::implements(ResourceId r) const {
  return std::find(implemented.begin(), implemented.end(), r) != implemented.end();
}

void Subtask::add_lender(ResourceHandle* h) {
  h->num_lends += 1;
  lenders_.push_back(h);
}

void Subtask::deliver_resolve() {
  for (ResourceHandle* h : lenders_) h->num_lends -= 1;
  lenders_.clear();
}

Result<uint32_t> resource_new(InstanceState& inst, ResourceId rt, uint32_t rep) {
  if (!inst.may_leave) return make_error("resource.new called while the instance may not leave");
  return inst.handles.add({rt, rep, true, nullptr, 0});
}

Result<uint32_t> resource_rep(InstanceState& inst, ResourceId rt, uint32_t handle) {
  WINK_ASSIGN_OR_RETURN(ResourceHandle * h, inst.handles.get(handle));
  if (h->resource != rt) return make_error("resource.rep of handle " + std::to_string(handle) + " of another resource type");
  return h->rep;
}

Result<void> resource_drop(InstanceState& inst, ResourceId rt, uint32_t handle,
                           const std::function<Result<void>(uint32_t rep)>& dtor) {
  if (!inst.may_leave) return make_error("resource.drop called while the instance may not leave");
  // Check before removing, so a refused drop leaves the table as it was.
  WINK_ASSIGN_OR_RETURN(ResourceHandle * peek, inst.handles.get(handle));
  if (peek->resource != rt) {
    return make_error("resource.drop of handle " + std::to_string(handle) + " of another resource type");
  }
  if (peek->num_lends != 0) {
    return make_error("resource.drop of handle " + std::to_string(handle) + " while it is lent to a call");
  }
  WINK_ASSIGN_OR_RETURN(ResourceHandle h, inst.handles.remove(handle));
  if (h.own) {
    if (dtor) WINK_TRY(dtor(h.rep));
  } else if (h.borrow_scope) {
    h.borrow_scope->num_borrows -= 1;
  }
  return {};
}

}  // namespace wink::component
