// wasi:keyvalue (0.2.0-draft: store, atomics, batch) on wink's key-value
// stores, and wasi:config/store on the component's variables and secrets.
// Stores are the ones the manifest names (host::Prepared); the limits of
// wink_v1 (key and value sizes) apply.
#include <algorithm>
#include <charconv>

#include "host/kv.h"
#include "wasi2/internal.h"

namespace wink::wasi2 {
namespace {

using Args = std::vector<Value>;
using Ret = Result<std::vector<Value>>;

const std::string kError = "variant{no-such-store, access-denied, other: string}";
enum : uint32_t { kNoSuchStore = 0, kAccessDenied = 1, kOther = 2 };
Value kv_err(uint32_t c) { return Value::err(Value::variant(c)); }
Value kv_other(std::string m) { return Value::err(Value::variant(kOther, Value::string(std::move(m)))); }

struct Bucket : Resource {
  static constexpr Kind kKind = Kind::Bucket;
  explicit Bucket(host::KeyValueStore* s) : Resource(kKind), store(s) {}
  host::KeyValueStore* store;
};

Result<Bucket*> bucket(HostCall& c, const Value& v) { return state_of(c).resources().get<Bucket>(rep_of(v)); }

std::optional<Value> check_key(const std::string& key) {
  if (key.empty()) return kv_other("empty key");
  if (key.size() > host::kMaxKeyBytes) {
    return kv_other("key of " + std::to_string(key.size()) + " bytes (limit " + std::to_string(host::kMaxKeyBytes) + ")");
  }
  return std::nullopt;
}

std::optional<Value> check_value(const std::string& value) {
  if (value.size() > host::kMaxValueBytes) {
    return kv_other("value of " + std::to_string(value.size()) + " bytes (limit " +
                    std::to_string(host::kMaxValueBytes) + ")");
  }
  return std::nullopt;
}

Result<void> check_batch(State& s, size_t n) {
  uint32_t cap = s.shared().config.limits.max_batch;
  if (n > cap) return guest_trap("batch of " + std::to_string(n) + " keys (limit " + std::to_string(cap) + ")");
  return {};
}

Ret kv_get(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  if (auto bad = check_key(a[1].str)) return one(std::move(*bad));
  std::string value;
  auto found = b->store->get(a[1].str, value);
  if (!found) return one(kv_other(found.error().message));
  return one(Value::ok(*found ? Value::some(bytes_value(std::move(value))) : Value::none()));
}

Ret kv_set(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  if (auto bad = check_key(a[1].str)) return one(std::move(*bad));
  if (auto bad = check_value(a[2].str)) return one(std::move(*bad));
  if (auto r = b->store->set(a[1].str, a[2].str); !r) return one(kv_other(r.error().message));
  return one(Value::ok());
}

Ret kv_delete(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  if (auto bad = check_key(a[1].str)) return one(std::move(*bad));
  if (auto r = b->store->remove(a[1].str); !r) return one(kv_other(r.error().message));
  return one(Value::ok());
}

Ret kv_exists(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  if (auto bad = check_key(a[1].str)) return one(std::move(*bad));
  auto r = b->store->exists(a[1].str);
  if (!r) return one(kv_other(r.error().message));
  return one(Value::ok(Value::boolean(*r)));
}

// The cursor is the number of keys already returned (keys sorted bytewise).
Ret kv_list_keys(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  uint64_t page = state_of(c).shared().config.limits.max_keys_page;
  uint64_t offset = a[1].bits == 1 ? a[1].items[0].bits : 0;
  if (offset > 1'000'000) return one(kv_other("cursor past 1000000 keys"));
  auto keys = b->store->list("", offset + page);
  if (!keys) return one(kv_other(keys.error().message));
  std::vector<Value> out;
  for (size_t i = offset; i < keys->size() && i < offset + page; ++i) out.push_back(Value::string((*keys)[i]));
  bool more = keys->size() > offset + page;
  Value cursor = more ? Value::some(Value::u(offset + page)) : Value::none();
  return one(Value::ok(Value::record({Value::list(std::move(out)), std::move(cursor)})));
}

Ret kv_increment(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  if (auto bad = check_key(a[1].str)) return one(std::move(*bad));
  std::lock_guard lock(state_of(c).shared().kv_mutex);
  std::string value;
  auto found = b->store->get(a[1].str, value);
  if (!found) return one(kv_other(found.error().message));
  uint64_t n = 0;
  if (*found) {
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size()) {
      return one(kv_other("the value of '" + a[1].str + "' is not a decimal u64"));
    }
  }
  n += a[2].bits;  // wraps like u64 arithmetic
  if (auto r = b->store->set(a[1].str, std::to_string(n)); !r) return one(kv_other(r.error().message));
  return one(Value::ok(Value::u(n)));
}

Ret kv_get_many(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  WINK_TRY(check_batch(state_of(c), a[1].items.size()));
  std::vector<Value> out;
  for (Value& k : a[1].items) {
    if (auto bad = check_key(k.str)) return one(std::move(*bad));
    std::string value;
    auto found = b->store->get(k.str, value);
    if (!found) return one(kv_other(found.error().message));
    out.push_back(*found ? Value::some(Value::tuple({Value::string(std::move(k.str)), bytes_value(std::move(value))}))
                         : Value::none());
  }
  return one(Value::ok(Value::list(std::move(out))));
}

Ret kv_set_many(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  WINK_TRY(check_batch(state_of(c), a[1].items.size()));
  for (const Value& kv : a[1].items) {
    if (auto bad = check_key(kv.items[0].str)) return one(std::move(*bad));
    if (auto bad = check_value(kv.items[1].str)) return one(std::move(*bad));
  }
  for (const Value& kv : a[1].items) {
    if (auto r = b->store->set(kv.items[0].str, kv.items[1].str); !r) return one(kv_other(r.error().message));
  }
  return one(Value::ok());
}

Ret kv_delete_many(HostCall& c, Args& a) {
  WINK_ASSIGN_OR_RETURN(Bucket * b, bucket(c, a[0]));
  WINK_TRY(check_batch(state_of(c), a[1].items.size()));
  for (const Value& k : a[1].items) {
    if (auto bad = check_key(k.str)) return one(std::move(*bad));
  }
  for (const Value& k : a[1].items) {
    if (auto r = b->store->remove(k.str); !r) return one(kv_other(r.error().message));
  }
  return one(Value::ok());
}

}  // namespace

void add_keyvalue(Registry& r) {
  const char* S = "wasi:keyvalue/store";
  const std::string e = kError;
  r.push_back({S, "open", "(string) -> result<own, " + e + ">", [](HostCall& c, Args& a) -> Ret {
                 State& s = state_of(c);
                 const host::Prepared* p = s.shared().config.host.get();
                 host::KeyValueStore* store = p ? p->store(a[0].str) : nullptr;
                 if (store == nullptr) return one(kv_err(kNoSuchStore));
                 WINK_ASSIGN_OR_RETURN(uint32_t rep, s.resources().add(std::make_unique<Bucket>(store)));
                 return one(Value::ok(Value::handle(rep)));
               }});
  r.push_back({S, "[method]bucket.get", "(borrow, string) -> result<option<list<u8>>, " + e + ">", kv_get});
  r.push_back({S, "[method]bucket.set", "(borrow, string, list<u8>) -> result<_, " + e + ">", kv_set});
  r.push_back({S, "[method]bucket.delete", "(borrow, string) -> result<_, " + e + ">", kv_delete});
  r.push_back({S, "[method]bucket.exists", "(borrow, string) -> result<bool, " + e + ">", kv_exists});
  r.push_back({S, "[method]bucket.list-keys",
               "(borrow, option<u64>) -> result<record{keys: list<string>, cursor: option<u64>}, " + e + ">",
               kv_list_keys});
  r.push_back({"wasi:keyvalue/atomics", "increment", "(borrow, string, u64) -> result<u64, " + e + ">", kv_increment});
  r.push_back({"wasi:keyvalue/batch", "get-many",
               "(borrow, list<string>) -> result<list<option<tuple<string, list<u8>>>>, " + e + ">", kv_get_many});
  r.push_back({"wasi:keyvalue/batch", "set-many", "(borrow, list<tuple<string, list<u8>>>) -> result<_, " + e + ">",
               kv_set_many});
  r.push_back({"wasi:keyvalue/batch", "delete-many", "(borrow, list<string>) -> result<_, " + e + ">", kv_delete_many});

  // wasi:config/store
  const std::string ce = "variant{upstream: string, io: string}";
  r.push_back({"wasi:config/store", "get", "(string) -> result<option<string>, " + ce + ">",
               [](HostCall& c, Args& a) -> Ret {
                 const host::Prepared* p = state_of(c).shared().config.host.get();
                 if (p == nullptr) return one(Value::ok(Value::none()));
                 const auto& vars = p->spec().variables;
                 auto it = vars.find(a[0].str);
                 if (it == vars.end() || !it->second.value) return one(Value::ok(Value::none()));
                 return one(Value::ok(Value::some(Value::string(*it->second.value))));
               }});
  r.push_back({"wasi:config/store", "get-all", "() -> result<list<tuple<string, string>>, " + ce + ">",
               [](HostCall& c, Args&) -> Ret {
                 const host::Prepared* p = state_of(c).shared().config.host.get();
                 std::vector<Value> out;
                 if (p != nullptr) {
                   for (const auto& [name, var] : p->spec().variables) {
                     if (var.value) out.push_back(Value::tuple({Value::string(name), Value::string(*var.value)}));
                   }
                 }
                 return one(Value::ok(Value::list(std::move(out))));
               }});
}

}  // namespace wink::wasi2
