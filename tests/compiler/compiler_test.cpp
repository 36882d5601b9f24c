// Tests of the compile pipeline: validation errors, the artifact descriptor
// (dlopen'ed and called), the artifact cache (hits, single flight, damaged
// entries), atomic output and tiering.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/files.h"
#include "common/hash.h"
#include "common/version.h"
#include "compiler/compiler.h"
#include "compiler/frontend.h"
#include "compiler/toolchain.h"
#include "compiler/wat.h"
#include "runtime/artifact_abi.h"
#include "runtime/runtime.h"

// Artifacts take the address of every function they import (the
// descriptor's import_funcs, bound at load): stand-ins for the imports of the
// modules these tests load but never run, exported like the real ones.
extern "C" {
void Z_wasi_snapshot_preview1Z_fd_write() {}
void Z_wasi_snapshot_preview1Z_fd_close() {}
void Z_wasi_snapshot_preview1Z_fd_seek() {}
void Z_wasi_snapshot_preview1Z_fd_fdstat_get() {}
void Z_wasi_snapshot_preview1Z_proc_exit() {}
void Z_zetaZ_x() {}
void Z_zetaZ_z() {}
void Z_alphaZ_y() {}
}

namespace fs = std::filesystem;
using wink::compiler::ArtifactCache;
using wink::compiler::codegen_fingerprint;
using wink::compiler::compile_module;
using wink::compiler::Options;

namespace {

// One scratch directory per test binary (removed at exit).
const fs::path& scratch() {
  static const fs::path dir = [] {
    std::string tmpl = (fs::temp_directory_path() / "wink-compiler-test-XXXXXX").string();
    EXPECT_NE(::mkdtemp(tmpl.data()), nullptr);
    static const std::string* const to_remove = new std::string(tmpl);  // outlives statics
    std::atexit([] { std::error_code ec; fs::remove_all(*to_remove, ec); });
    return fs::path(tmpl);
  }();
  return dir;
}

std::vector<uint8_t> guest(const std::string& name) {
  auto bytes = wink::read_file(fs::path(WINK_GUEST_DIR) / (name + ".wasm"));
  EXPECT_TRUE(bytes.ok()) << name;
  return bytes.ok() ? *bytes : std::vector<uint8_t>{};
}

Options fast() {
  Options o;
  o.opt_level = 0;
  o.jobs = 2;
  return o;
}

// Hand-written modules: header + sections.
std::vector<uint8_t> module(std::initializer_list<std::vector<uint8_t>> sections) {
  std::vector<uint8_t> m = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
  for (const auto& s : sections) m.insert(m.end(), s.begin(), s.end());
  return m;
}
std::vector<uint8_t> section(uint8_t id, std::vector<uint8_t> payload) {
  std::vector<uint8_t> s = {id, static_cast<uint8_t>(payload.size())};
  s.insert(s.end(), payload.begin(), payload.end());
  return s;
}
// type 0: () -> i32; one function of type 0 with `body` (without size prefix).
std::vector<uint8_t> one_function(std::vector<uint8_t> body) {
  std::vector<uint8_t> code = {0x01, static_cast<uint8_t>(body.size())};
  code.insert(code.end(), body.begin(), body.end());
  return module({section(1, {0x01, 0x60, 0x00, 0x01, 0x7f}), section(3, {0x01, 0x00}),
                 section(10, code)});
}

std::string compile_error(const std::vector<uint8_t>& wasm, const Options& options = fast()) {
  auto out = scratch() / "refused.so";
  auto r = compile_module(wasm, options, out);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(out));
  return r.ok() ? "" : r.error().message;
}

std::vector<wink::runtime::HostImport> wasi_imports() {
  return {
      {"wasi_snapshot_preview1", "fd_write", "iiii", "i"},
      {"wasi_snapshot_preview1", "fd_close", "i", "i"},
      {"wasi_snapshot_preview1", "fd_seek", "iIii", "i"},
      {"wasi_snapshot_preview1", "fd_fdstat_get", "ii", "i"},
      {"wasi_snapshot_preview1", "proc_exit", "i", ""},
  };
}

using wink::test::wat;

struct Call {
  const wink_trampoline_t fn;
  void* instance;
  const uint64_t* args;
  uint64_t* results;
};

}  // namespace

// Every instance-struct field that is not plain data is listed with its kind
// (snapshots fix them up or refuse them); reference globals included.
TEST(CompilerDescriptor, InstanceFieldsHaveExplicitKinds) {
  auto wasm = wat(R"(
    (module
      (memory 1)
      (table 2 funcref)
      (table 1 externref)
      (global $f (mut funcref) (ref.null func))
      (global $e (mut externref) (ref.null extern))
      (global $n (mut i32) (i32.const 1))
      (global $l (mut i64) (i64.const 2))
      (global $d (mut f64) (f64.const 3))
      (global $f2 (mut funcref) (ref.null func))
      (data $seg "abc")
      (elem $el func $fn)
      (func $fn)
      (func (export "get") (result i32) (global.get $n)))
  )");
  auto out = scratch() / "fields.so";
  auto r = compile_module(wasm, fast(), out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  void* so = ::dlopen(out.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(so, nullptr) << ::dlerror();
  auto* a = static_cast<const wink_artifact_t*>(::dlsym(so, "wink_artifact"));
  ASSERT_NE(a, nullptr);
  std::map<uint32_t, int> kinds;
  for (uint32_t i = 0; i < a->num_instance_fields; ++i) {
    const wink_instance_field_t& f = a->instance_fields[i];
    ++kinds[f.kind];
    EXPECT_NE(f.kind, static_cast<uint32_t>(WINK_FIELD_UNKNOWN)) << f.decl;
    EXPECT_LT(f.offset, a->instance_size) << f.decl;
    ASSERT_NE(f.decl, nullptr);
  }
  EXPECT_EQ(kinds[WINK_FIELD_MEMORY], 1);
  EXPECT_EQ(kinds[WINK_FIELD_FUNCREF_TABLE], 1);
  EXPECT_EQ(kinds[WINK_FIELD_EXTERNREF_TABLE], 1);
  EXPECT_EQ(kinds[WINK_FIELD_FUNCREF_GLOBAL], 2);
  EXPECT_EQ(kinds[WINK_FIELD_EXTERNREF_GLOBAL], 1);
  EXPECT_EQ(a->num_instance_fields, 6u) << "numeric globals and segment flags are plain data";
  EXPECT_EQ(a->num_import_funcs, 0u);
  ::dlclose(so);
}

TEST(CompilerErrors, Truncated) {
  std::vector<uint8_t> m = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00};
  EXPECT_NE(compile_error(m).find("truncated"), std::string::npos) << compile_error(m);
  // A section that claims more bytes than the file has.
  auto cut = module({{0x01, 0x0a, 0x01, 0x60}});
  std::string e = compile_error(cut);
  EXPECT_NE(e.find("byte offset"), std::string::npos) << e;
  EXPECT_NE(e.find("type section"), std::string::npos) << e;
}

TEST(CompilerErrors, BadMagic) {
  std::vector<uint8_t> m = {0x7f, 'E', 'L', 'F', 0x01, 0x00, 0x00, 0x00};
  std::string e = compile_error(m);
  EXPECT_NE(e.find("bad magic"), std::string::npos) << e;
}

TEST(CompilerErrors, BadSection) {
  std::string e = compile_error(module({section(0x20, {0x00})}));
  EXPECT_NE(e.find("invalid section code: 32"), std::string::npos) << e;
  EXPECT_NE(e.find("byte offset 10"), std::string::npos) << e;
}

TEST(CompilerErrors, BadFunctionBody) {
  // Declares i32 result, returns an i64: type mismatch in function 0.
  std::string e = compile_error(one_function({0x00, 0x42, 0x00, 0x0b}));
  EXPECT_NE(e.find("code section, function 0"), std::string::npos) << e;
  EXPECT_NE(e.find("byte offset"), std::string::npos) << e;
  // Unknown opcode.
  e = compile_error(one_function({0x00, 0xd7, 0x0b}));
  EXPECT_NE(e.find("function 0"), std::string::npos) << e;
}

TEST(CompilerErrors, SimdRefusedWithoutCrash) {
  // i32.const 0; i32x4.splat; drop; i32.const 0; end
  std::string e = compile_error(one_function({0x00, 0x41, 0x00, 0xfd, 0x11, 0x1a, 0x41, 0x00, 0x0b}));
  EXPECT_NE(e.find("SIMD"), std::string::npos) << e;
  EXPECT_NE(e.find("function 0"), std::string::npos) << e;
}

// Found by the module fuzzer: an `if` in a global's initializer made libwabt
// 1.0.32's IR reader fail an assertion, aborting the process that parsed the
// module (a node, on a tenant's deploy). It is refused with its place instead.
TEST(CompilerErrors, ControlInstructionInAConstantExpressionIsRefusedNotAborted) {
  // memory 1; globals: (mut funcref) ref.null func, (mut funcref) `if` ...; a data segment
  const std::vector<uint8_t> m = {
      0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x03, 0x01, 0x00, 0x01, 0x06, 0x0b, 0x02,
      0x70, 0x01, 0xd0, 0x70, 0x0b, 0x70, 0x01, 0x04, 0xe8, 0x0b, 0x0b, 0x22, 0x01, 0x00, 0x41, 0x00,
      0x0b, 0x1c, 0x43, 0x6f, 0x6e, 0x70, 0x01, 0xd0, 0x70, 0x0b, 0x70, 0x01, 0xd0, 0x70, 0x0b, 0x07,
      0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c, 0x61, 0x69, 0x6e, 0x0a, 0x0a, 0x76, 0x3d};
  std::string e = compile_error(m);
  EXPECT_NE(e.find("constant expression required: `if` in the initializer of global 1"), std::string::npos) << e;
  EXPECT_NE(e.find("byte offset"), std::string::npos) << e;
  // The same in a data segment's offset, and a `block` and a `loop`.
  for (uint8_t op : {0x02, 0x03, 0x04}) {
    e = compile_error(module({section(5, {0x01, 0x00, 0x01}),
                              section(11, {0x01, 0x00, op, 0x40, 0x0b, 0x41, 0x00, 0x0b, 0x00})}));
    EXPECT_NE(e.find("constant expression required"), std::string::npos) << e;
    EXPECT_NE(e.find("the offset of data segment 0"), std::string::npos) << e;
  }
  // Constant instructions still pass: (global i32 (i32.const 7)), (global i64 (i64.const 1)).
  auto ok = compile_module(module({section(6, {0x02, 0x7f, 0x00, 0x41, 0x07, 0x0b, 0x7e, 0x00, 0x42, 0x01, 0x0b})}),
                           fast(), scratch() / "consts.so");
  EXPECT_TRUE(ok.ok()) << ok.error().message;
}

// Found by the module fuzzer: a section size near 2^64 wrapped the section
// walk that names where an error is, which then never ended.
TEST(CompilerErrors, SectionSizesNearTwoToThe64DoNotWrap) {
  // A custom section claiming 2^64 - 1 bytes, and a code section claiming
  // 2^64 - 2 bytes for its first body.
  std::vector<uint8_t> huge = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00,
                               0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00};
  EXPECT_EQ(wink::compiler::code_section_size(huge), 0u);
  EXPECT_NE(compile_error(huge), "");
  std::vector<uint8_t> body = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x0a, 0x0d, 0x02,
                               0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00, 0x0b};
  EXPECT_EQ(wink::compiler::code_section_size(body), 13u);
  EXPECT_NE(compile_error(body), "");
}

TEST(CompilerErrors, UnknownImport) {
  std::string e = compile_error(guest("compiler_wasi"));
  EXPECT_NE(e.find("module imports wasi_snapshot_preview1."), std::string::npos) << e;
  EXPECT_NE(e.find("which wink does not provide"), std::string::npos) << e;
  // type 0: (i32)->i32, import env.foo of type 0.
  auto m = module({section(1, {0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f}),
                   section(2, {0x01, 0x03, 'e', 'n', 'v', 0x03, 'f', 'o', 'o', 0x00, 0x00})});
  e = compile_error(m);
  EXPECT_NE(e.find("module imports env.foo (i32)->i32, which wink does not provide"),
            std::string::npos) << e;
  Options wrong = fast();
  wrong.host_imports = {{"env", "foo", "I", "i"}};
  e = compile_error(m, wrong);
  EXPECT_NE(e.find("but wink provides env.foo (i64)->i32"), std::string::npos) << e;
}

TEST(CompilerErrors, MemoryImportRefused) {
  auto m = module({section(2, {0x01, 0x03, 'e', 'n', 'v', 0x03, 'm', 'e', 'm', 0x02, 0x00, 0x01})});
  std::string e = compile_error(m);
  EXPECT_NE(e.find("imports memory env.mem"), std::string::npos) << e;
}

TEST(Compiler, DescriptorAndCalls) {
  auto wasm = guest("compiler_basic");
  auto out = scratch() / "basic.so";
  Options o = fast();
  o.opt_level = 1;
  wink::compiler::CompileReport report;
  auto r = compile_module(wasm, o, out, &report);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_GT(report.artifact_bytes, 0u);
  void* so = ::dlopen(out.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(so, nullptr) << ::dlerror();
  auto* a = static_cast<const wink_artifact_t*>(::dlsym(so, "wink_artifact"));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->abi, WINK_ARTIFACT_ABI);
  EXPECT_STREQ(a->engine_version, wink::kEngineVersion);
  EXPECT_EQ(a->module_hash, wink::Sha256().update(wasm).hex());
  EXPECT_EQ(a->num_import_modules, 0u);
  EXPECT_GT(a->instance_size, 0u);
  // Generated code probes big frames page by page (stack guard, see runtime.h).
  EXPECT_NE(std::string(a->compile_flags).find("-fstack-clash-protection"), std::string::npos)
      << a->compile_flags;
  std::map<std::string, const wink_export_t*> exports;
  for (uint32_t i = 0; i < a->num_exports; ++i) exports[a->exports[i].name] = &a->exports[i];
  ASSERT_TRUE(exports.count("add") && exports.count("mul_f64") && exports.count("memory"));
  EXPECT_STREQ(exports["add"]->params, "ii");
  EXPECT_STREQ(exports["add"]->results, "i");
  EXPECT_STREQ(exports["mul_f64"]->params, "Ff");
  EXPECT_STREQ(exports["sum_table"]->params, "I");
  EXPECT_EQ(exports["memory"]->kind, static_cast<uint32_t>(WINK_EXTERN_MEMORY));
  EXPECT_EQ(exports["memory"]->call, nullptr);

  // Instantiate and call through the trampolines, under the runtime's guard.
  a->init_module();
  std::vector<uint8_t> storage(a->instance_size + 64);
  void* inst = storage.data();
  struct Inst { const wink_artifact_t* a; void* inst; } ia{a, inst};
  auto outcome = wink::runtime::guarded_call(
      [](void* p) { auto* x = static_cast<Inst*>(p); x->a->instantiate(x->inst, nullptr); }, &ia);
  ASSERT_TRUE(outcome.ok());
  auto call = [&](const char* name, std::vector<uint64_t> args) {
    uint64_t results[4] = {};
    Call c{exports[name]->call, inst, args.data(), results};
    auto o2 = wink::runtime::guarded_call(
        [](void* p) { auto* c = static_cast<Call*>(p); c->fn(c->instance, c->args, c->results); }, &c);
    EXPECT_TRUE(o2.ok()) << name;
    return results[0];
  };
  EXPECT_EQ(call("add", {2, 40}), 42u);
  EXPECT_EQ(call("add", {0xffffffffu, 2}), 1u);  // i32 wraps
  double a1 = 1.5;
  float b1 = 4.0f;
  uint64_t ab, bb = 0;
  std::memcpy(&ab, &a1, 8);
  std::memcpy(&bb, &b1, 4);
  uint64_t rbits = call("mul_f64", {ab, bb});
  double rv;
  std::memcpy(&rv, &rbits, 8);
  EXPECT_EQ(rv, 6.0);
  long long expect = 0;
  for (char c : std::string("wink-data-seg-01")) expect += c;
  EXPECT_EQ(call("sum_table", {16}), static_cast<uint64_t>(expect));  // data segment loaded
  EXPECT_EQ(call("bump", {}), 8u);
  EXPECT_EQ(call("bump", {}), 9u);
  wasm_rt_memory_t* mem = a->memory(inst);
  ASSERT_NE(mem, nullptr);
  EXPECT_GE(mem->size, 65536u);
  EXPECT_EQ(exports["memory"]->get(inst), mem);
  a->free_instance(inst);
  ::dlclose(so);
}

// Passive + active data (via data.S), start function, multi-value results,
// exported global/table/memory, a memory that is exported under another name.
TEST(Compiler, SegmentsStartMultiValueAndExternals) {
  auto wasm = wat(R"(
    (module
      (memory (export "mem") 1)
      (global (export "g") (mut i64) (i64.const 77))
      (table (export "tab") 2 funcref)
      (data $p "passive!")
      (data (i32.const 16) "active")
      (func (export "init") (param i32)
        (memory.init $p (local.get 0) (i32.const 0) (i32.const 8)))
      (func (export "load8") (param i32) (result i32) (i32.load8_u (local.get 0)))
      (func (export "mv") (param i32 f64) (result f64 i32 i64)
        (local.get 1) (local.get 0) (i64.const -1))
      (func (export "many") (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32 i32)
        (result i32) (local.get 13))
      (func $start (global.set 0 (i64.const 99)))
      (start $start))
  )");
  auto out = scratch() / "wat.so";
  auto r = compile_module(wasm, fast(), out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  void* so = ::dlopen(out.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(so, nullptr) << ::dlerror();
  auto* a = static_cast<const wink_artifact_t*>(::dlsym(so, "wink_artifact"));
  ASSERT_NE(a, nullptr);
  std::map<std::string, const wink_export_t*> ex;
  for (uint32_t i = 0; i < a->num_exports; ++i) ex[a->exports[i].name] = &a->exports[i];
  ASSERT_EQ(ex.size(), 7u);
  EXPECT_STREQ(ex["mv"]->results, "FiI");
  EXPECT_STREQ(ex["g"]->params, "I");
  a->init_module();
  std::vector<uint8_t> storage(a->instance_size);
  void* inst = storage.data();
  struct Inst { const wink_artifact_t* a; void* inst; } ia{a, inst};
  ASSERT_TRUE(wink::runtime::guarded_call(
      [](void* p) { auto* x = static_cast<Inst*>(p); x->a->instantiate(x->inst, nullptr); }, &ia).ok());
  EXPECT_EQ(*static_cast<uint64_t*>(ex["g"]->get(inst)), 77u) << "instantiate ran the start function";
  ASSERT_TRUE(a->has_start);
  ASSERT_NE(a->start, nullptr) << "the start call was not separated from instantiate";
  ASSERT_TRUE(wink::runtime::guarded_call(
      [](void* p) { auto* x = static_cast<Inst*>(p); x->a->start(x->inst); }, &ia).ok());
  auto call = [&](const char* name, std::vector<uint64_t> args, uint64_t* results) {
    Call c{ex[name]->call, inst, args.data(), results};
    return wink::runtime::guarded_call(
        [](void* p) { auto* c = static_cast<Call*>(p); c->fn(c->instance, c->args, c->results); }, &c);
  };
  uint64_t res[3] = {};
  ASSERT_TRUE(call("load8", {16}, res).ok());
  EXPECT_EQ(res[0], uint64_t('a'));
  ASSERT_TRUE(call("init", {100}, res).ok());
  ASSERT_TRUE(call("load8", {101}, res).ok());
  EXPECT_EQ(res[0], uint64_t('a'));  // "passive!"[1]
  double d = 2.5;
  uint64_t dbits;
  std::memcpy(&dbits, &d, 8);
  ASSERT_TRUE(call("mv", {5, dbits}, res).ok());
  EXPECT_EQ(res[0], dbits);
  EXPECT_EQ(res[1], 5u);
  EXPECT_EQ(res[2], ~uint64_t{0});
  ASSERT_TRUE(call("many", {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14}, res).ok());
  EXPECT_EQ(res[0], 14u);
  EXPECT_EQ(*static_cast<uint64_t*>(ex["g"]->get(inst)), 99u);  // the start function ran
  EXPECT_EQ(ex["mem"]->get(inst), a->memory(inst));
  EXPECT_EQ(static_cast<wasm_rt_funcref_table_t*>(ex["tab"]->get(inst))->size, 2u);
  // Out-of-bounds access traps instead of crashing.
  EXPECT_EQ(call("load8", {0x7fffffff}, res).trap, wink::runtime::Trap::kOutOfBounds);
  a->free_instance(inst);
  ::dlclose(so);
}

TEST(Compiler, ImportModulesAndWasiGuest) {
  Options o = fast();
  o.host_imports = wasi_imports();
  auto out = scratch() / "wasi.so";
  auto r = compile_module(guest("compiler_wasi"), o, out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  void* so = ::dlopen(out.c_str(), RTLD_LAZY | RTLD_LOCAL);  // WASI imports: the stand-ins above
  ASSERT_NE(so, nullptr) << ::dlerror();
  auto* a = static_cast<const wink_artifact_t*>(::dlsym(so, "wink_artifact"));
  ASSERT_NE(a, nullptr);
  ASSERT_EQ(a->num_import_modules, 1u);
  EXPECT_STREQ(a->import_modules[0], "wasi_snapshot_preview1");
  bool has_start = false;
  for (uint32_t i = 0; i < a->num_exports; ++i)
    has_start |= std::string(a->exports[i].name) == "_start";
  EXPECT_TRUE(has_start);
  ::dlclose(so);
}

// wasm2c 1.0.32 takes import instances in alphabetical module order, not in
// order of first appearance; the descriptor must list them as instantiate wants.
TEST(Compiler, ImportModuleOrderMatchesInstantiate) {
  auto wasm = wat(R"(
    (module
      (import "zeta" "x" (func (param i32) (result i32)))
      (import "alpha" "y" (func (param i64 f32 f64)))
      (import "zeta" "z" (func)))
  )");
  Options o = fast();
  o.host_imports = {{"zeta", "x", "i", "i"}, {"alpha", "y", "IfF", ""}, {"zeta", "z", "", ""}};
  auto out = scratch() / "order.so";
  auto r = compile_module(wasm, o, out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  void* so = ::dlopen(out.c_str(), RTLD_LAZY | RTLD_LOCAL);
  ASSERT_NE(so, nullptr) << ::dlerror();
  auto* a = static_cast<const wink_artifact_t*>(::dlsym(so, "wink_artifact"));
  ASSERT_EQ(a->num_import_modules, 2u);
  EXPECT_STREQ(a->import_modules[0], "alpha");
  EXPECT_STREQ(a->import_modules[1], "zeta");
  ::dlclose(so);
}

// Every feature wabt enables by default (except SIMD, refused) must translate
// without the C writer aborting: bulk memory, reference types, multi-value
// blocks, saturating conversions, sign extension.
TEST(Compiler, DefaultFeaturesTranslate) {
  auto wasm = wat(R"(
    (module
      (type $t (func (param i32) (result i32)))
      (memory 1)
      (table $tab 4 funcref)
      (table $ext 2 externref)
      (data $d "xyz")
      (elem $e func $id $id)
      (func $id (type $t) (local.get 0))
      (func (export "features") (param i32 f32 externref) (result i32 i64)
        (memory.copy (i32.const 0) (i32.const 8) (i32.const 4))
        (memory.fill (i32.const 0) (i32.const 1) (i32.const 4))
        (memory.init $d (i32.const 0) (i32.const 0) (i32.const 1))
        (data.drop $d)
        (table.init $tab $e (i32.const 0) (i32.const 0) (i32.const 2))
        (elem.drop $e)
        (table.copy $tab $tab (i32.const 2) (i32.const 0) (i32.const 2))
        (table.set $ext (i32.const 0) (local.get 2))
        (drop (table.grow $tab (ref.func $id) (i32.const 1)))
        (drop (table.size $tab))
        (drop (ref.is_null (table.get $ext (i32.const 1))))
        (table.fill $tab (i32.const 0) (ref.null func) (i32.const 1))
        (drop (i32.trunc_sat_f32_s (local.get 1)))
        (drop (i64.extend32_s (i64.const 5)))
        (drop (select (result i32) (i32.const 1) (i32.const 2) (local.get 0)))
        (block (result i32 i64) (i32.const 1) (i64.const 2))
        (drop)
        (drop)
        (call_indirect $tab (type $t) (local.get 0) (i32.const 1))
        (i64.const 3)))
  )");
  auto out = scratch() / "features.so";
  auto r = compile_module(wasm, fast(), out);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

TEST(Compiler, EmptyModule) {
  auto out = scratch() / "empty.so";
  auto r = compile_module(module({}), fast(), out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  void* so = ::dlopen(out.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(so, nullptr) << ::dlerror();
  auto* a = static_cast<const wink_artifact_t*>(::dlsym(so, "wink_artifact"));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->num_exports, 0u);
  EXPECT_EQ(a->memory(nullptr), nullptr);
  ::dlclose(so);
}

TEST(Compiler, OutputIsAtomic) {
  auto dir = scratch() / "atomic";
  fs::create_directories(dir);
  auto out = dir / "out.so";
  { std::ofstream(out) << "previous artifact"; }
  // A failed compile leaves the previous file untouched and no temp files.
  EXPECT_FALSE(compile_module(one_function({0x00, 0x42, 0x00, 0x0b}), fast(), out).ok());
  EXPECT_EQ(*wink::read_text_file(out), "previous artifact");
  auto r = compile_module(guest("compiler_basic"), fast(), out);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::vector<std::string> names;
  for (auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  EXPECT_EQ(names, std::vector<std::string>{"out.so"});
}

TEST(Cache, HitOnSecondCall) {
  ArtifactCache cache(scratch() / "cache");
  auto wasm = guest("compiler_basic");
  auto p1 = cache.get(wasm, fast());
  ASSERT_TRUE(p1.ok()) << p1.error().message;
  auto p2 = cache.get(wasm, fast());
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(*p1, *p2);
  EXPECT_EQ(cache.compile_count(), 1u);
  // Another cache object (another process, say) finds it on disk.
  ArtifactCache again(scratch() / "cache");
  ASSERT_TRUE(again.get(wasm, fast()).ok());
  EXPECT_EQ(again.compile_count(), 0u);
  EXPECT_TRUE(fs::exists(p1->string() + ".sha256"));
  // Different options, different key.
  Options o1 = fast();
  o1.opt_level = 1;
  EXPECT_NE(ArtifactCache::key(wasm, fast()), ArtifactCache::key(wasm, o1));
}

// The key names the code generator: an artifact an older generator left in
// the cache (same module, options and engine version) is never served.
TEST(Cache, KeyCoversTheCodeGenerator) {
  auto wasm = guest("compiler_basic");
  const auto& fp = codegen_fingerprint();
  EXPECT_EQ(ArtifactCache::key(wasm, fast()), ArtifactCache::key(wasm, fast(), fp.hex));
  EXPECT_NE(ArtifactCache::key(wasm, fast(), "generator-a"),
            ArtifactCache::key(wasm, fast(), "generator-b"));

  const fs::path dir = scratch() / "cache-generator";
  fs::create_directories(dir);
  const fs::path stale = dir / (ArtifactCache::key(wasm, fast(), "older-generator") + ".so");
  std::ofstream(stale) << "built by an older generator";
  ArtifactCache cache(dir);
  auto p = cache.get(wasm, fast());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_NE(*p, stale);
  EXPECT_EQ(cache.compile_count(), 1u);
}

// The fingerprint is the hash of the generator's sources as they are now:
// editing codegen.cpp (or the artifact ABI, or the compile flags) changes it.
TEST(Cache, FingerprintIsTheHashOfTheGeneratorSources) {
  const auto& fp = codegen_fingerprint();
  ASSERT_EQ(fp.hex.size(), 64u);
  ASSERT_FALSE(fp.wabt_version.empty());
  std::set<std::string> names(fp.sources.begin(), fp.sources.end());
  for (const char* required : {"src/compiler/codegen.cpp", "src/compiler/frontend.cpp",
                               "src/compiler/toolchain.cpp", "src/runtime/artifact_abi.h"}) {
    EXPECT_TRUE(names.count(required)) << required << " is not part of the fingerprint";
  }
  std::string lines;
  for (const char* source : fp.sources) {
    std::ifstream in(fs::path(WINK_SOURCE_DIR) / source, std::ios::binary);
    ASSERT_TRUE(in) << source;
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    wink::Sha256 file_hash;
    file_hash.update(text);
    lines += std::string(source) + " " + file_hash.hex() + "\n";
  }
  lines += "wabt " + std::string(fp.wabt_version) + "\n";
  wink::Sha256 h;
  h.update(lines);
  EXPECT_EQ(h.hex(), fp.hex) << "the build's fingerprint is not that of the sources";
}

TEST(Cache, ConcurrentGetCompilesOnce) {
  ArtifactCache cache(scratch() / "cache-concurrent");
  auto wasm = guest("compiler_basic");
  std::vector<std::thread> threads;
  std::vector<std::string> paths(6);
  for (size_t i = 0; i < paths.size(); ++i)
    threads.emplace_back([&, i] {
      auto p = cache.get(wasm, fast());
      paths[i] = p.ok() ? p->string() : "error: " + p.error().message;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(cache.compile_count(), 1u);
  for (const auto& p : paths) EXPECT_EQ(p, paths[0]);
}

TEST(Cache, TwoProcessesCompileOnce) {
  auto dir = scratch() / "cache-processes";
  auto wasm = guest("compiler_basic");
  Options o = fast();
  o.opt_level = 1;  // a key no other test uses
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ArtifactCache cache(dir);
    auto p = cache.get(wasm, o);
    ::_exit(p.ok() ? static_cast<int>(cache.compile_count()) : 100);
  }
  ArtifactCache cache(dir);
  auto p = cache.get(wasm, o);
  ASSERT_TRUE(p.ok()) << p.error().message;
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_NE(WEXITSTATUS(status), 100);
  EXPECT_EQ(cache.compile_count() + WEXITSTATUS(status), 1u);
}

TEST(Cache, DamagedEntryIsRebuilt) {
  auto dir = scratch() / "cache-damaged";
  auto wasm = guest("compiler_basic");
  fs::path so;
  {
    ArtifactCache cache(dir);
    auto p = cache.get(wasm, fast());
    ASSERT_TRUE(p.ok());
    so = *p;
  }
  fs::resize_file(so, fs::file_size(so) / 2);  // truncated .so
  ArtifactCache cache(dir);
  auto p = cache.get(wasm, fast());
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(cache.compile_count(), 1u);
  void* h = ::dlopen(p->c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << ::dlerror();
  ::dlclose(h);
}

TEST(Cache, TieredGivesQuickThenOptimized) {
  ArtifactCache cache(scratch() / "cache-tiered");
  auto wasm = guest("compiler_basic");
  Options o = fast();
  o.opt_level = 2;
  auto t = cache.get_tiered(wasm, o, /*quick_threshold=*/0);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_FALSE(t->ready_is_optimized);
  EXPECT_TRUE(fs::exists(t->ready));
  auto opt = t->optimized.get();
  ASSERT_TRUE(opt.ok()) << opt.error().message;
  EXPECT_NE(*opt, t->ready);
  EXPECT_EQ(cache.compile_count(), 2u);
  // Now cached: served optimized at once.
  auto t2 = cache.get_tiered(wasm, o, 0);
  ASSERT_TRUE(t2.ok());
  EXPECT_TRUE(t2->ready_is_optimized);
  EXPECT_EQ(t2->ready, *opt);
}

// The optimized build compiles the quick build's translation (one wasm2c
// run for both tiers), and what it makes is, byte for byte, what a compile of
// its own translation makes.
TEST(Cache, TieredOptimizedBuildCompilesTheQuickTranslation) {
  ArtifactCache cache(scratch() / "cache-tiered-shared");
  auto wasm = guest("compiler_basic");
  Options o = fast();
  o.opt_level = 2;
  auto t = cache.get_tiered(wasm, o, /*quick_threshold=*/0);
  ASSERT_TRUE(t.ok()) << t.error().message;
  ASSERT_FALSE(t->ready_is_optimized);
  auto opt = t->optimized.get();
  ASSERT_TRUE(opt.ok()) << opt.error().message;
  EXPECT_EQ(cache.compile_count(), 2u);
  EXPECT_EQ(cache.translation_count(), 1u) << "the optimized build translated the module again";
  const fs::path alone = scratch() / "tiered-shared-alone.so";
  ASSERT_TRUE(compile_module(wasm, o, alone).ok());
  EXPECT_EQ(wink::read_file(*opt).value(), wink::read_file(alone).value())
      << "the optimized artifact differs from a compile of its own translation";
  // It is the -O2 artifact, and it serves.
  void* so = ::dlopen(opt->c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(so, nullptr) << ::dlerror();
  auto* a = static_cast<const wink_artifact_t*>(::dlsym(so, "wink_artifact"));
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(std::string(a->compile_flags).rfind("-O2 ", 0), 0u) << a->compile_flags;
  const wink_export_t* add = nullptr;
  for (uint32_t i = 0; i < a->num_exports; ++i)
    if (std::string(a->exports[i].name) == "add") add = &a->exports[i];
  ASSERT_NE(add, nullptr);
  a->init_module();
  std::vector<uint8_t> storage(a->instance_size + 64);
  struct Inst { const wink_artifact_t* a; void* inst; } ia{a, storage.data()};
  ASSERT_TRUE(wink::runtime::guarded_call(
                  [](void* p) { auto* x = static_cast<Inst*>(p); x->a->instantiate(x->inst, nullptr); }, &ia)
                  .ok());
  uint64_t args[2] = {2, 40}, results[1] = {0};
  Call c{add->call, storage.data(), args, results};
  ASSERT_TRUE(wink::runtime::guarded_call(
                  [](void* p) { auto* c = static_cast<Call*>(p); c->fn(c->instance, c->args, c->results); }, &c)
                  .ok());
  EXPECT_EQ(results[0], 42u);
  a->free_instance(storage.data());
  ::dlclose(so);
}

// With the quick artifact already cached there is no translation to hand
// over: the background build makes its own (the optimized one still appears).
TEST(Cache, TieredWithTheQuickArtifactCachedTranslatesForTheOptimizedBuild) {
  const fs::path dir = scratch() / "cache-tiered-quick-cached";
  auto wasm = guest("compiler_basic");
  Options o = fast();
  o.opt_level = 2;
  {
    ArtifactCache cache(dir);
    ASSERT_TRUE(cache.get(wasm, fast()).ok());
  }
  ArtifactCache cache(dir);
  auto t = cache.get_tiered(wasm, o, 0);
  ASSERT_TRUE(t.ok()) << t.error().message;
  auto opt = t->optimized.get();
  ASSERT_TRUE(opt.ok()) << opt.error().message;
  EXPECT_EQ(cache.compile_count(), 1u);
  EXPECT_EQ(cache.translation_count(), 1u);
}

// A translation is compiled only under the options it was made under (but
// the -O level and scheduling): another host interface would need another.
TEST(Compiler, TranslationRefusesOtherOptions) {
  auto wasm = guest("compiler_basic");
  auto translation = wink::compiler::translate_module(wasm, fast());
  ASSERT_TRUE(translation.ok()) << translation.error().message;
  Options other = fast();
  other.link_imports = true;
  auto r = wink::compiler::compile_translation(**translation, other, scratch() / "other-options.so");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("not made under"), std::string::npos) << r.error().message;
  EXPECT_FALSE(fs::exists(scratch() / "other-options.so"));
}

// wink blocks SIGINT and SIGTERM in every thread (sigwait takes them); a C
// compiler started from such a thread must not inherit that mask, or a
// Ctrl-C or a kill of wink's process group leaves it running. Both spawn
// paths: the quick build (no cancel) and the cancellable background build
// (own process group).
TEST(Toolchain, CompilersStartWithNoSignalBlocked) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  ASSERT_EQ(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
  std::atomic<bool> cancel{false};
  const std::atomic<bool>* const spawn_paths[] = {nullptr, &cancel};
  for (const std::atomic<bool>* c : spawn_paths) {
    fs::path dir = scratch() / (c ? "sigmask-cancellable" : "sigmask-quick");
    fs::create_directories(dir);
    // grep itself, not under a shell (dash clears its mask); its output goes
    // to the job's log, <label>.log.
    wink::compiler::Job job{{"grep", "^SigBlk:", "/proc/self/status"}, "sigmask"};
    auto r = wink::compiler::run_jobs({job}, dir, 1, 0, nullptr, c);
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto text = wink::read_text_file(dir / "sigmask.log");
    ASSERT_TRUE(text.ok());
    EXPECT_EQ(*text, "SigBlk:\t0000000000000000\n") << (c ? "cancellable build" : "quick build");
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}
