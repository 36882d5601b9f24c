// Per-instance handle tables for resources (CanonicalABI.md "Table State",
// "Resource State"): own and borrow handles, borrow scopes that must be empty
// when a call returns, and lends that keep a handle alive during a call.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <vector>

#include "common/byte_io.h"
#include "common/result.h"
#include "component/types.h"

namespace wink::component {

// The callee side of a call (canon lift): borrows lowered into the callee
// count here and must all be dropped before the call returns.
struct Task {
  uint32_t num_borrows = 0;
};

struct ResourceHandle {
  ResourceId resource = 0;
  uint32_t rep = 0;
  bool own = false;
  Task* borrow_scope = nullptr;  // borrows: the task that lent them
  uint32_t num_lends = 0;        // own/borrow handles lent out to a running call
};

class HandleTable {
 public:
  static constexpr uint32_t kMaxLength = (1u << 28) - 1;

  HandleTable() : entries_(1) {}  // index 0 is never a valid handle

  Result<uint32_t> add(ResourceHandle h);
  Result<ResourceHandle*> get(uint32_t i);
  Result<ResourceHandle> remove(uint32_t i);
  size_t live() const;
  // Between calls every handle is an own handle lent to nobody; then the
  // table can be copied into another instance of the same component (an
  // instance image). False while a borrow or a lend is outstanding.
  bool at_rest() const;
  // An at-rest table as bytes (an instance image written to a file) and
  // back: every slot in index order, then the free list, so handles keep
  // their indices and the next new handle gets the same one. read() checks
  // every index and refuses a table that could not have been made by add()
  // and remove() (a free index in use or listed twice, a bad length).
  void save(ByteWriter& w) const;
  static Result<HandleTable> read(ByteReader& r);

 private:
  struct Slot {
    bool used = false;
    ResourceHandle handle;
  };
  std::deque<Slot> entries_;  // deque: handles stay put while lent (Subtask holds pointers)
  std::vector<uint32_t> free_;
};

// The runtime state of one component instance that the ABI touches.
struct InstanceState {
  HandleTable handles;
  // Resource types this instance defines (it sees its own borrows as reps).
  std::vector<ResourceId> implemented;
  // False while realloc or post-return run: the guest may not call out then.
  bool may_leave = true;

  bool implements(ResourceId r) const;
};

// The caller side of a call (canon lower): handles lent to the callee for
// the duration of the call.
class Subtask {
 public:
  void add_lender(ResourceHandle* h);
  // The call returned: the lent handles are usable again.
  void deliver_resolve();

 private:
  std::vector<ResourceHandle*> lenders_;
};

// canon resource.new / resource.rep / resource.drop. `dtor` runs for owned
// handles of resources with a destructor.
Result<uint32_t> resource_new(InstanceState& inst, ResourceId rt, uint32_t rep);
Result<uint32_t> resource_rep(InstanceState& inst, ResourceId rt, uint32_t handle);
Result<void> resource_drop(InstanceState& inst, ResourceId rt, uint32_t handle,
                           const std::function<Result<void>(uint32_t rep)>& dtor);

}  // namespace wink::component
