// The fixture base of in-process lifecycle tests: for the whole suite, one
// engine (the tests' shared data directory), the start snapshot of one reactor
// guest taken after its `_initialize`, and empty WASI settings.
//
//   class MyTest : public ReactorGuestFixture<MyTest> {
//    public:
//     static constexpr const char* kGuest = "life_state";  // tests/guests/life_state.c
//   };
//   // in tests: *init_ (the snapshot), *wasi_, engine_
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "engine/engine.h"
#include "engine/snapshot.h"
#include "support/wink_process.h"
#include "wasi/wasi.h"

namespace wink::lifecycle {

template <class Suite>
class ReactorGuestFixture : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    engine::EngineConfig config;
    config.data_dir = test::shared_data_dir();
    engine_ = new engine::Engine(config);
    auto module = engine_->load_file(test::guest_wasm(Suite::kGuest));
    ASSERT_TRUE(module.ok()) << module.error().message;
    engine::InitSpec is;
    is.init_export = "_initialize";
    auto snap = engine::Snapshot::create(*module, is);
    ASSERT_TRUE(snap.ok()) << snap.error().message;
    init_ = new std::shared_ptr<engine::Snapshot>(*snap);
    wasi_ = new std::shared_ptr<const wasi::Prepared>(*wasi::Prepared::create({}));
  }
  static void TearDownTestSuite() {
    delete init_;
    delete wasi_;
    delete engine_;
    init_ = nullptr;
    wasi_ = nullptr;
    engine_ = nullptr;
  }

  static inline engine::Engine* engine_ = nullptr;
  static inline std::shared_ptr<engine::Snapshot>* init_ = nullptr;
  static inline std::shared_ptr<const wasi::Prepared>* wasi_ = nullptr;
};

}  // namespace wink::lifecycle
