// Test harness for the WASI 0.2 host: the function types come from a real
// component (tests/wasi2/wit: every WASI 0.2.12 interface plus
// wasi:keyvalue and wasi:config 0.2.0-draft, embedded by the pinned
// wasm-tools), each resolved through Provider::function exactly as the
// linker does, then called directly with Values.
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "component/parser.h"
#include "wasi2/wasi2.h"

namespace wink::wasi2::testing {

using component::Value;

#ifdef WINK_WASI2_FIXTURES
inline constexpr const char* kAllWit = WINK_WASI2_FIXTURES "/all.wasm";
#else
inline constexpr const char* kAllWit = "";
#endif

// Every function and resource the test world imports, by "iface#item".
struct WitImports {
  struct Func {
    component::ExternName iface;
    std::string item;
    component::FuncTypePtr type;
  };
  std::map<std::string, Func> funcs;                                                 // "wasi:io/streams#[method]..."
  std::vector<std::pair<component::ExternName, std::string>> resources;            // (iface, name)
  bool loaded = false;

  static const WitImports& get() {
    static const WitImports w = load();
    return w;
  }

 private:
  static WitImports load() {
    WitImports w;
    std::ifstream in(kAllWit, std::ios::binary);
    if (!in) return w;
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto c = component::parse_component(bytes);
    if (!c) {
      ADD_FAILURE() << c.error().message;
      return w;
    }
    for (const component::Import& imp : c->imports) {
      if (imp.type.sort != component::Sort::Instance || !imp.type.type || !imp.type.type->instance) continue;
      for (const component::ExternDecl& e : imp.type.type->instance->exports) {
        if (e.type.sort == component::Sort::Func && e.type.type && e.type.type->func) {
          w.funcs[imp.name.unversioned() + "#" + e.name.text] = {imp.name, e.name.text, e.type.type->func};
        } else if (e.type.sort == component::Sort::Type && e.type.type &&
                   e.type.type->kind == component::TypeDef::Kind::Resource) {
          w.resources.emplace_back(imp.name, e.name.text);
        }
      }
    }
    w.loaded = true;
    return w;
  }
};

#define WASI2_NEED_WIT()                                                               \
  do {                                                                                \
    if (!::wink::wasi2::testing::WitImports::get().loaded) GTEST_SKIP() << "no " << ::wink::wasi2::testing::kAllWit; \
  } while (0)

// One provider, one instance state, and calls by name.
class Host {
 public:
  explicit Host(Config config = {}) {
    auto p = Provider::create(std::move(config));
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
    provider = std::move(*p);
    state = provider->make_state();
  }

  Result<std::vector<Value>> call(const std::string& iface, const std::string& item, std::vector<Value> args) {
    const auto& w = WitImports::get();
    auto it = w.funcs.find(iface + "#" + item);
    if (it == w.funcs.end()) return make_error("test world has no " + iface + "#" + item);
    auto f = provider->function(it->second.iface, item, *it->second.type);
    if (!f) return std::move(f).error();
    component::HostCall hc{*state, abi};
    return (*f)(hc, args);
  }
  // The single result, failing the test on an error.
  Value ok(const std::string& iface, const std::string& item, std::vector<Value> args = {}) {
    auto r = call(iface, item, std::move(args));
    EXPECT_TRUE(r.ok()) << iface << "#" << item << ": " << (r.ok() ? "" : r.error().message);
    if (!r.ok() || r->empty()) return Value{};
    return (*r)[0];
  }
  // The error message of a call that must fail (a trap).
  std::string trap(const std::string& iface, const std::string& item, std::vector<Value> args = {}) {
    auto r = call(iface, item, std::move(args));
    EXPECT_FALSE(r.ok()) << iface << "#" << item << " succeeded";
    return r.ok() ? std::string() : r.error().message;
  }
  // The guest drops an owned handle.
  Result<void> drop(const std::string& iface, const std::string& resource, uint32_t rep) {
    const auto& w = WitImports::get();
    for (const auto& [name, res] : w.resources) {
      if (name.unversioned() == iface && res == resource) {
        auto d = provider->resource(name, res);
        if (!d) return std::move(d).error();
        return (*d)(*state, rep);
      }
    }
    return make_error("test world has no resource " + iface + "#" + resource);
  }

  std::unique_ptr<Provider> provider;
  std::unique_ptr<State> state;
  component::InstanceState abi;
};

// A fresh directory under the system temp dir, removed by the destructor.
struct ScratchDir {
  explicit ScratchDir(const std::string& name)
      : path(std::filesystem::temp_directory_path() / ("wink-wasi2-" + name + "-" + std::to_string(::getpid()))) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  std::filesystem::path path;
};

inline Value h(uint32_t rep) { return Value::handle(rep); }
inline uint32_t rep(const Value& v) { return static_cast<uint32_t>(v.bits); }
// ok(x) -> x; fails the test on err.
inline Value unwrap(const Value& result) {
  EXPECT_EQ(result.bits, 0u) << "result is err";
  return result.items.empty() ? Value{} : result.items[0];
}

}  // namespace wink::wasi2::testing
