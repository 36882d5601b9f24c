// Whole calls through the Canonical ABI: host -> lifted guest function and
// guest -> lowered host function, with spilled parameters and results,
// post-return, and own/borrow handles with their borrow scopes.
#include <gtest/gtest.h>

#include "component/abi.h"
#include "guest_heap.h"

namespace wink::component {
namespace {

using testing::GuestHeap;
using testing::ok;
using testing::T;

Result<std::vector<Value>> no_results(const std::vector<Value>&) { return std::vector<Value>{}; }

TEST(AbiCalls, SeventeenParamsSpillIntoAllocatedMemory) {
  GuestHeap heap;
  InstanceState inst;
  FuncType ft;
  std::vector<Value> args;
  for (int i = 0; i < 17; ++i) {
    ft.params.push_back({"p" + std::to_string(i), T(ValKind::U32)});
    args.push_back(Value::u(100 + i));
  }
  ft.result = T(ValKind::U32);
  std::vector<CoreValue> seen;
  auto callee = [&](const std::vector<CoreValue>& flat) -> Result<std::vector<CoreValue>> {
    seen = flat;
    return std::vector<CoreValue>{CoreValue::i32(heap.get32(flat[0].as_i32() + 4 * 16))};
  };
  auto results = call_lifted(ft, heap.options, inst, callee, args);
  ASSERT_TRUE(results.ok()) << results.error().message;
  ASSERT_EQ(seen.size(), 1u);  // one pointer to a tuple of 17 u32
  ASSERT_EQ(heap.calls.size(), 1u);
  EXPECT_EQ(heap.calls[0], (testing::ReallocCall{0, 0, 4, 68}));
  EXPECT_EQ(heap.get32(seen[0].as_i32()), 100u);
  EXPECT_EQ((*results)[0], Value::u(116));
}

TEST(AbiCalls, SpilledResultsAreReadFromTheReturnedPointerThenPostReturn) {
  GuestHeap heap;
  InstanceState inst;
  FuncType ft;
  ft.params.push_back({"name", T(ValKind::String)});
  ft.result = ok(make_tuple({T(ValKind::F32), T(ValKind::String)}));
  std::vector<CoreValue> post_args;
  auto callee = [&](const std::vector<CoreValue>& flat) -> Result<std::vector<CoreValue>> {
    // Echo the argument string back in a tuple at 512.
    float f = 1.5f;
    std::memcpy(heap.at(512), &f, 4);
    heap.put32(516, flat[0].as_i32());
    heap.put32(520, flat[1].as_i32());
    return std::vector<CoreValue>{CoreValue::i32(512)};
  };
  auto post = [&](const std::vector<CoreValue>& r) -> Result<void> {
    post_args = r;
    EXPECT_FALSE(inst.may_leave);
    return {};
  };
  auto results = call_lifted(ft, heap.options, inst, callee, {Value::string("wink")}, post);
  ASSERT_TRUE(results.ok()) << results.error().message;
  EXPECT_EQ((*results)[0], Value::tuple({Value::float64(1.5f), Value::string("wink")}));
  EXPECT_EQ(post_args, (std::vector<CoreValue>{CoreValue::i32(512)}));
  EXPECT_TRUE(inst.may_leave);

  auto misaligned = [&](const std::vector<CoreValue>&) -> Result<std::vector<CoreValue>> {
    return std::vector<CoreValue>{CoreValue::i32(514)};
  };
  auto r = call_lifted(ft, heap.options, inst, misaligned, {Value::string("x")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not aligned"), std::string::npos) << r.error().message;
  auto oob = [&](const std::vector<CoreValue>&) -> Result<std::vector<CoreValue>> {
    return std::vector<CoreValue>{CoreValue::i32(65536 - 8)};
  };
  r = call_lifted(ft, heap.options, inst, oob, {Value::string("x")});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("out of bounds"), std::string::npos) << r.error().message;
}

TEST(AbiCalls, LoweredCallWritesSpilledResultsToTheCallersReturnArea) {
  GuestHeap heap;
  InstanceState inst;
  FuncType ft;
  ft.params.push_back({"s", T(ValKind::String)});
  ft.result = ok(make_result(T(ValKind::String), T(ValKind::U8)));
  heap.put(100, "ping");
  auto host = [](const std::vector<Value>& args) -> Result<std::vector<Value>> {
    return std::vector<Value>{Value::ok(Value::string(args[0].str + "/pong"))};
  };
  auto flat = call_lowered(ft, heap.options, inst, host,
                           {CoreValue::i32(100), CoreValue::i32(4), CoreValue::i32(200)});
  ASSERT_TRUE(flat.ok()) << flat.error().message;
  EXPECT_TRUE(flat->empty());
  EXPECT_EQ(*heap.at(200), 0);  // ok
  uint32_t p = heap.get32(204), n = heap.get32(208);
  EXPECT_EQ(std::string(reinterpret_cast<char*>(heap.at(p)), n), "ping/pong");
  // The return area must be aligned and inside memory.
  auto bad = call_lowered(ft, heap.options, inst, host, {CoreValue::i32(100), CoreValue::i32(4), CoreValue::i32(202)});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("not aligned"), std::string::npos);
  bad = call_lowered(ft, heap.options, inst, host, {CoreValue::i32(100), CoreValue::i32(4), CoreValue::i32(65532)});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("out of bounds"), std::string::npos);
  // A mistyped core argument is refused.
  bad = call_lowered(ft, heap.options, inst, host, {CoreValue::i64(100), CoreValue::i32(4), CoreValue::i32(200)});
  EXPECT_FALSE(bad.ok());
}

TEST(AbiCalls, OwnHandlesMoveBetweenHostAndGuest) {
  GuestHeap heap;
  InstanceState inst;
  const ResourceId R = 7, Other = 8;
  // Host -> guest: an owned rep becomes a handle in the guest's table.
  FuncType give;
  give.params.push_back({"r", make_own(R)});
  uint32_t handle = 0;
  auto callee = [&](const std::vector<CoreValue>& flat) -> Result<std::vector<CoreValue>> {
    handle = flat[0].as_i32();
    return std::vector<CoreValue>{};
  };
  ASSERT_TRUE(call_lifted(give, heap.options, inst, callee, {Value::handle(42)}).ok());
  ASSERT_NE(handle, 0u);  // index 0 is never a handle
  EXPECT_EQ(*resource_rep(inst, R, handle), 42u);

  // Guest -> host: passing the handle as own moves it out of the table.
  FuncType take;
  take.params.push_back({"r", make_own(R)});
  uint32_t got = 0;
  auto host = [&](const std::vector<Value>& a) -> Result<std::vector<Value>> {
    got = static_cast<uint32_t>(a[0].bits);
    return std::vector<Value>{};
  };
  ASSERT_TRUE(call_lowered(take, heap.options, inst, host, {CoreValue::i32(handle)}).ok());
  EXPECT_EQ(got, 42u);
  EXPECT_EQ(inst.handles.live(), 0u);
  // Using it again, or a handle that never existed, traps.
  EXPECT_FALSE(call_lowered(take, heap.options, inst, host, {CoreValue::i32(handle)}).ok());
  EXPECT_FALSE(call_lowered(take, heap.options, inst, host, {CoreValue::i32(0)}).ok());
  // A handle of another resource type traps.
  uint32_t other = *resource_new(inst, Other, 1);
  auto wrong = call_lowered(take, heap.options, inst, host, {CoreValue::i32(other)});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("another resource type"), std::string::npos);
}

TEST(AbiCalls, BorrowsLentToTheHostCannotBeMovedOrDroppedDuringTheCall) {
  GuestHeap heap;
  InstanceState inst;
  const ResourceId R = 3;
  uint32_t h = *resource_new(inst, R, 99);
  FuncType use;
  use.params.push_back({"self", make_borrow(R)});
  use.params.push_back({"again", make_own(R)});
  // Lending h as a borrow and moving it as own in the same call traps.
  auto host = [](const std::vector<Value>&) -> Result<std::vector<Value>> { return std::vector<Value>{}; };
  auto r = call_lowered(use, heap.options, inst, host, {CoreValue::i32(h), CoreValue::i32(h)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("lent"), std::string::npos) << r.error().message;
  EXPECT_EQ((*inst.handles.get(h))->num_lends, 0u);  // the lend ended with the call

  FuncType borrow_only;
  borrow_only.params.push_back({"self", make_borrow(R)});
  auto drop_inside = [&](const std::vector<Value>& a) -> Result<std::vector<Value>> {
    EXPECT_EQ(a[0].bits, 99u);
    auto d = resource_drop(inst, R, h, nullptr);
    EXPECT_FALSE(d.ok());  // still lent
    return std::vector<Value>{};
  };
  ASSERT_TRUE(call_lowered(borrow_only, heap.options, inst, drop_inside, {CoreValue::i32(h)}).ok());
  int dtor_runs = 0;
  ASSERT_TRUE(resource_drop(inst, R, h, [&](uint32_t rep) -> Result<void> {
                EXPECT_EQ(rep, 99u);
                ++dtor_runs;
                return {};
              }).ok());
  EXPECT_EQ(dtor_runs, 1);
}

TEST(AbiCalls, BorrowScopeMustBeEmptyWhenTheCallReturns) {
  GuestHeap heap;
  InstanceState inst;
  const ResourceId R = 5;
  FuncType ft;
  ft.params.push_back({"self", make_borrow(R)});
  // The callee keeps the borrowed handle: trap at return.
  auto keeps = [&](const std::vector<CoreValue>&) -> Result<std::vector<CoreValue>> { return std::vector<CoreValue>{}; };
  auto r = call_lifted(ft, heap.options, inst, keeps, {Value::handle(11)});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not dropped"), std::string::npos) << r.error().message;

  // A borrowed handle cannot be passed on as owned.
  InstanceState passer;
  FuncType take;
  take.params.push_back({"r", make_own(R)});
  std::string passed_error;
  auto passes_on = [&](const std::vector<CoreValue>& flat) -> Result<std::vector<CoreValue>> {
    auto r = call_lowered(take, heap.options, passer, no_results, {flat[0]});
    if (!r.ok()) passed_error = r.error().message;
    WINK_TRY(resource_drop(passer, R, flat[0].as_i32(), nullptr));
    return std::vector<CoreValue>{};
  };
  EXPECT_TRUE(call_lifted(ft, heap.options, passer, passes_on, {Value::handle(12)}).ok());
  EXPECT_NE(passed_error.find("is a borrow, not owned"), std::string::npos) << passed_error;

  InstanceState clean;
  auto drops = [&](const std::vector<CoreValue>& flat) -> Result<std::vector<CoreValue>> {
    EXPECT_EQ(*resource_rep(clean, R, flat[0].as_i32()), 11u);
    WINK_TRY(resource_drop(clean, R, flat[0].as_i32(), [](uint32_t) -> Result<void> {
      ADD_FAILURE() << "dropping a borrow must not run the destructor";
      return {};
    }));
    return std::vector<CoreValue>{};
  };
  EXPECT_TRUE(call_lifted(ft, heap.options, clean, drops, {Value::handle(11)}).ok());
  EXPECT_EQ(clean.handles.live(), 0u);

  // An instance that implements R receives its own rep, not a handle.
  InstanceState impl;
  impl.implemented.push_back(R);
  uint32_t received = 0;
  auto direct = [&](const std::vector<CoreValue>& flat) -> Result<std::vector<CoreValue>> {
    received = flat[0].as_i32();
    return std::vector<CoreValue>{};
  };
  EXPECT_TRUE(call_lifted(ft, heap.options, impl, direct, {Value::handle(11)}).ok());
  EXPECT_EQ(received, 11u);
  EXPECT_EQ(impl.handles.live(), 0u);
}

TEST(AbiCalls, HandleTableReusesFreedSlotsAndRefusesStaleOnes) {
  InstanceState inst;
  uint32_t a = *resource_new(inst, 1, 10);
  uint32_t b = *resource_new(inst, 1, 20);
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  ASSERT_TRUE(resource_drop(inst, 1, a, nullptr).ok());
  EXPECT_FALSE(resource_rep(inst, 1, a).ok());
  EXPECT_FALSE(resource_drop(inst, 1, a, nullptr).ok());  // double drop
  EXPECT_EQ(*resource_new(inst, 1, 30), a);               // the free slot is reused
  EXPECT_FALSE(resource_drop(inst, 2, b, nullptr).ok());  // wrong type: refused and kept
  EXPECT_EQ(*resource_rep(inst, 1, b), 20u);
  EXPECT_FALSE(resource_rep(inst, 1, 0xffffffff).ok());
}

TEST(AbiCalls, PostReturnAndReallocFailuresSurface) {
  GuestHeap heap;
  InstanceState inst;
  FuncType ft;
  ft.result = T(ValKind::U32);
  auto callee = [](const std::vector<CoreValue>&) -> Result<std::vector<CoreValue>> {
    return std::vector<CoreValue>{CoreValue::i32(1)};
  };
  auto failing_post = [](const std::vector<CoreValue>&) -> Result<void> { return make_error("guest trapped"); };
  auto r = call_lifted(ft, heap.options, inst, callee, {}, failing_post);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("post-return"), std::string::npos);
  EXPECT_TRUE(inst.may_leave);
  // A callee returning the wrong core types is refused.
  auto wrong = [](const std::vector<CoreValue>&) -> Result<std::vector<CoreValue>> {
    return std::vector<CoreValue>{CoreValue::i64(1)};
  };
  EXPECT_FALSE(call_lifted(ft, heap.options, inst, wrong, {}).ok());
  // Wrong argument count from the host.
  EXPECT_FALSE(call_lifted(ft, heap.options, inst, callee, {Value::u(1)}).ok());
}

}  // namespace
}  // namespace wink::component
