// Translation in function ranges (compiler/ranged_translation.h), forced on
// small modules with ranges of one or two functions so that nearly every
// reference crosses a range: the C is wasm2c's text for the whole module,
// byte for byte, for every test guest and for modules built to stress the
// seams; where a module's names make a range name a local differently, the
// artifact behaves the same; what the scheme does not cover is translated
// whole.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/files.h"
#include "compiler/codegen.h"
#include "compiler/compiler.h"
#include "compiler/frontend.h"
#include "compiler/wat.h"
#include "runtime/artifact_abi.h"
#include "runtime/runtime.h"

// The host function the test modules import (found by the artifact through
// the executable's exported Z_* symbols).
extern "C" uint32_t Z_rangeZ_twice(void*, uint32_t x) { return 2 * x; }

namespace fs = std::filesystem;
using namespace wink::compiler;

namespace {

constexpr const char* kEnv = "WINK_TRANSLATE_RANGES";

// Sets (or unsets, with nullptr) $WINK_TRANSLATE_RANGES for one scope: the
// comparisons set their options themselves, whatever the suite runs with.
class RangesEnv {
 public:
  explicit RangesEnv(const char* value) {
    if (const char* old = std::getenv(kEnv)) old_ = old;
    if (value) ::setenv(kEnv, value, 1);
    else ::unsetenv(kEnv);
  }
  ~RangesEnv() {
    if (old_) ::setenv(kEnv, old_->c_str(), 1);
    else ::unsetenv(kEnv);
  }

 private:
  std::optional<std::string> old_;
};

struct Translations {
  GeneratedCode whole, ranged;
};

std::optional<Translations> translate_both(const std::vector<uint8_t>& wasm, size_t per_range) {
  RangesEnv env(nullptr);
  auto module = parse_module(wasm, {}, /*linked=*/true);  // any import is fine here
  EXPECT_TRUE(module.ok()) << module.error().message;
  if (!module.ok()) return std::nullopt;
  CodegenOptions whole;
  whole.target_parts = 3;
  whole.range_threshold = 0;
  CodegenOptions ranged = whole;
  ranged.range_threshold = 1;
  ranged.functions_per_range = per_range;
  ranged.translate_threads = 2;
  auto a = generate_code(*module, whole);
  auto b = generate_code(*module, ranged);
  EXPECT_TRUE(a.ok() && b.ok());
  if (!a.ok() || !b.ok()) return std::nullopt;
  EXPECT_EQ(a->translation_ranges, 0u);
  return Translations{std::move(*a), std::move(*b)};
}

// The first difference of two file lists, or "" when they are the same.
std::string difference(const std::vector<SourceFile>& a, const std::vector<SourceFile>& b) {
  if (a.size() != b.size()) return "different file lists";
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name) return "file " + a[i].name + " vs " + b[i].name;
    if (a[i].text == b[i].text) continue;
    size_t p = 0;
    while (p < a[i].text.size() && p < b[i].text.size() && a[i].text[p] == b[i].text[p]) ++p;
    size_t from = p > 200 ? p - 200 : 0;
    return a[i].name + " at byte " + std::to_string(p) + ":\n--- whole\n" + a[i].text.substr(from, 400) +
           "\n--- ranged\n" + b[i].text.substr(from, 400);
  }
  return "";
}

void expect_same_text(const std::vector<uint8_t>& wasm, size_t per_range, const std::string& what) {
  auto t = translate_both(wasm, per_range);
  ASSERT_TRUE(t) << what;
  EXPECT_GT(t->ranged.translation_ranges, 0u) << what << ": not translated in ranges: " << t->ranged.ranges_refused;
  EXPECT_EQ(difference(t->whole.headers, t->ranged.headers), "") << what;
  EXPECT_EQ(difference(t->whole.sources, t->ranged.sources), "") << what;
  EXPECT_EQ(t->whole.data_blob, t->ranged.data_blob) << what;
}

// Functions whose names clash once legalized (a.b, a_b, a_b_0 are all
// w2c_a_b...), calls, ref.func, call_indirect and table entries of defined
// and imported functions across ranges, passive segments used by
// table.init/memory.init, a funcref global, multi-value results, a start
// function, a re-exported import, and parameters named like the functions
// their function calls.
constexpr const char* kSeams = R"(
  (module
    (import "range" "twice" (func $twice (param i32) (result i32)))
    (type $t (func (param i32) (result i32)))
    (memory (export "memory") 1)
    (global $count (mut i32) (i32.const 0))
    (global $fr funcref (ref.func $a.b))
    (table $tab 8 funcref)
    (elem (i32.const 0) $a.b $a_b $a_b_0 $twice)
    (elem $pe func $sq $a.b $twice)
    (data $pd "ranges!")
    (data (i32.const 100) "\2a")
    (func $a.b (type $t) (i32.add (local.get 0) (i32.const 1)))
    (func $a_b (type $t) (i32.mul (call $a.b (local.get 0)) (i32.const 3)))
    (func $a_b_0 (type $t) (call $twice (call $a_b (local.get 0))))
    (func $sq (type $t) (param $a_b i32) (result i32) (i32.mul (local.get $a_b) (call $a_b (local.get $a_b))))
    (func $mv (param $sq i32) (result i32 i64) (call $sq (local.get $sq)) (i64.const 7))
    (func (export "use_mv") (param $mv i32) (result i32)
      (call $mv (local.get $mv))
      (i32.wrap_i64)
      (i32.add))
    (func (export "indirect") (param $i i32) (param $x i32) (result i32)
      (call_indirect $tab (type $t) (local.get $x) (local.get $i)))
    (func (export "init_passive")
      (table.init $tab $pe (i32.const 4) (i32.const 0) (i32.const 3))
      (memory.init $pd (i32.const 200) (i32.const 0) (i32.const 7))
      (elem.drop $pe)
      (data.drop $pd))
    (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
    (func (export "via_global") (param $x i32) (result i32)
      (table.set $tab (i32.const 7) (global.get $fr))
      (call_indirect $tab (type $t) (local.get $x) (i32.const 7)))
    (func (export "ref_of") (param $x i32) (result i32)
      (table.set $tab (i32.const 7) (ref.func $a_b_0))
      (call_indirect $tab (type $t) (local.get $x) (i32.const 7)))
    (func $start (global.set $count (call $a_b (i32.const 5))))
    (start $start)
    (func (export "counter") (result i32) (global.get $count))
    (func $sq_export (export "sq") (param $sq i32) (result i32) (call $sq (local.get $sq)))
    (export "twice" (func $twice))
    (export "a.b" (func $a.b)))
)";

}  // namespace

// Every test guest (C compiled with its debug names, and WAT): the ranged
// C is the whole module's, file by file.
TEST(RangedTranslation, GivesTheWholeModulesTextForEveryGuest) {
  size_t modules = 0;
  for (const auto& entry : fs::directory_iterator(WINK_GUEST_DIR)) {
    if (entry.path().extension() != ".wasm") continue;
    auto wasm = wink::read_file(entry.path());
    ASSERT_TRUE(wasm.ok());
    auto module = parse_module(*wasm, {}, true);
    if (!module.ok() || module->num_functions == 0) continue;
    expect_same_text(*wasm, 2, entry.path().filename());
    ++modules;
  }
  EXPECT_GE(modules, 10u);
}

TEST(RangedTranslation, GivesTheWholeModulesTextAcrossEverySeam) {
  for (size_t per_range : {1, 2, 3}) {
    expect_same_text(wink::test::wat(kSeams, /*names=*/true), per_range, "named, " + std::to_string(per_range));
    expect_same_text(wink::test::wat(kSeams), per_range, "unnamed, " + std::to_string(per_range));
  }
  // No imports at all (no init_instance_import), and imports that are not
  // functions only (a linked module's memory).
  expect_same_text(wink::test::wat(R"((module (func $a (result i32) (call $b)) (func $b (result i32) (i32.const 1))
                                      (func (export "c") (result i32) (call $a))))", true), 1, "no imports");
  expect_same_text(wink::test::wat(R"((module (import "m" "mem" (memory 1))
                                      (func $a (result i32) (i32.load (call $b))) (func $b (result i32) (i32.const 4))
                                      (func (export "c") (result i32) (call $a))))", true), 1, "memory import");
}

// A local named like a function its function does not call is named
// differently in a range than in the whole module ($sq's parameter $mv below
// is w2c_mv_0 there, w2c_mv in its range): the text differs, the artifact
// does the same.
TEST(RangedTranslation, ArtifactBehavesAsTheWholeModules) {
  const std::string sq = "(param $a_b i32) (result i32) (i32.mul (local.get $a_b) (call $a_b (local.get $a_b)))";
  std::string shadow = kSeams;
  shadow.replace(shadow.find(sq), sq.size(), "(param $mv i32) (result i32) (i32.mul (local.get $mv) (call $a_b (local.get $mv)))");
  auto wasm = wink::test::wat(shadow, /*names=*/true);
  auto t = translate_both(wasm, 1);
  ASSERT_TRUE(t);
  ASSERT_GT(t->ranged.translation_ranges, 0u) << t->ranged.ranges_refused;
  EXPECT_NE(difference(t->whole.sources, t->ranged.sources), "") << "expected a local named differently";

  Options options;
  options.opt_level = 0;
  options.jobs = 2;
  options.host_imports = {{"range", "twice", "i", "i"}};
  std::map<std::string, std::vector<uint64_t>> results[2];
  for (int ranged = 0; ranged < 2; ++ranged) {
    RangesEnv env(ranged ? "1:1" : "off");
    std::string tmpl = (fs::temp_directory_path() / "wink-ranged-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    fs::path out = fs::path(tmpl) / "a.so";
    CompileReport report;
    auto r = compile_module(wasm, options, out, &report);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(report.translation_ranges > 0, ranged == 1);
    void* so = ::dlopen(out.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(so, nullptr) << ::dlerror();
    auto* a = static_cast<const wink_artifact_t*>(::dlsym(so, "wink_artifact"));
    ASSERT_NE(a, nullptr);
    a->init_module();
    std::vector<uint8_t> storage(a->instance_size);
    void* instance = storage.data();
    void* env_instance = nullptr;
    struct Inst { const wink_artifact_t* a; void* inst; void** imports; } ia{a, instance, &env_instance};
    ASSERT_TRUE(wink::runtime::guarded_call(
        [](void* p) { auto* x = static_cast<Inst*>(p); x->a->instantiate(x->inst, x->imports); }, &ia).ok());
    ASSERT_NE(a->start, nullptr) << "ranged " << ranged << ": the start call was not separated";
    ASSERT_TRUE(wink::runtime::guarded_call(
        [](void* p) { auto* x = static_cast<Inst*>(p); x->a->start(x->inst); }, &ia).ok());
    std::map<std::string, const wink_export_t*> ex;
    for (uint32_t i = 0; i < a->num_exports; ++i) ex[a->exports[i].name] = &a->exports[i];
    struct Call { wink_trampoline_t fn; void* inst; const uint64_t* args; uint64_t* res; };
    auto call = [&](const std::string& name, std::vector<uint64_t> args) {
      uint64_t res[2] = {};
      Call c{ex.at(name)->call, instance, args.data(), res};
      auto o = wink::runtime::guarded_call(
          [](void* p) { auto* c = static_cast<Call*>(p); c->fn(c->inst, c->args, c->res); }, &c);
      results[ranged][name].push_back(o.ok() ? res[0] : 0xdead0000u + static_cast<uint64_t>(o.trap));
    };
    call("counter", {});
    for (uint64_t x : {0u, 3u, 1000u}) {
      call("use_mv", {x});
      call("sq", {x});
      call("twice", {x});
      call("a.b", {x});
      call("via_global", {x});
      call("ref_of", {x});
      for (uint64_t i = 0; i < 9; ++i) call("indirect", {i, x});  // 4..6 null until init_passive, 8 out of range
    }
    call("load8", {100});
    call("load8", {201});
    call("init_passive", {});
    call("init_passive", {});  // dropped segments: traps
    call("load8", {201});
    for (uint64_t i = 4; i < 7; ++i) call("indirect", {i, 6});
    a->free_instance(instance);
    ::dlclose(so);
    fs::remove_all(tmpl);
  }
  EXPECT_EQ(results[0], results[1]);
  EXPECT_EQ(results[0]["counter"], std::vector<uint64_t>{18});  // the start function ran: (5+1)*3
}

// wasm2c decides "is this an import" by name alone: a defined function named
// like a global (here the name GenerateNames gives global 0) would be taken
// for an import in a module that imports it. Such a module is translated
// whole, and says why.
TEST(RangedTranslation, FunctionNamedLikeAGlobalIsTranslatedWhole) {
  auto wasm = wink::test::wat(R"(
    (module
      (global (mut i32) (i32.const 1))
      (func $g0 (result i32) (global.get 0))
      (func (export "f") (result i32) (call $g0)))
  )", true);
  auto t = translate_both(wasm, 1);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->ranged.translation_ranges, 0u);
  EXPECT_NE(t->ranged.ranges_refused.find("g0"), std::string::npos) << t->ranged.ranges_refused;
  EXPECT_EQ(difference(t->whole.sources, t->ranged.sources), "");
}
