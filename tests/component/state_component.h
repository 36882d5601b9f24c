// A component of two core instances with state of every kind, shared by
// the instance image tests (instance_image_test.cpp) and the image file
// fuzzer (fuzz/image_file_fuzz.cpp): instance 0 has a memory, globals, a
// table and a start function; instance 1 imports its table and puts
// functions in it (function references into another core instance).
#pragma once

#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/wat.h"
#include "component/component_builder.h"

namespace wink::component::testing {

inline constexpr uint8_t kStateS32 = 0x7a;

// Instance 0: memory, global, table (entry 0 its own function), data, a
// start function that counts its runs in a global and in memory.
inline const char* kStateModule = R"((module
  (type $fn (func (param i32) (result i32)))
  (memory (export "mem") 1 8)
  (global $g (export "g") (mut i32) (i32.const 7))
  (global $started (mut i32) (i32.const 0))
  (table $t (export "t") 4 funcref)
  (elem (i32.const 0) $triple)
  (elem declare func $evil)
  (data (i32.const 100) "\2a\00\00\00")
  (func $triple (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 3)) (global.get $g)))
  (func $evil (param i32) (result i32) (i32.const -1))
  (func $start
    (global.set $started (i32.add (global.get $started) (i32.const 1)))
    (i32.store (i32.const 200) (i32.add (i32.load (i32.const 200)) (i32.const 99))))
  (start $start)
  (func (export "double") (param i32) (result i32) (i32.add (i32.mul (local.get 0) (i32.const 2)) (global.get $g)))
  (func (export "get-g") (result i32) (global.get $g))
  (func (export "set-g") (param i32) (result i32) (global.set $g (local.get 0)) (local.get 0))
  (func (export "started") (result i32) (global.get $started))
  (func (export "peek") (param i32) (result i32) (i32.load (local.get 0)))
  (func (export "poke") (param i32 i32) (result i32) (i32.store (local.get 0) (local.get 1)) (local.get 1))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "pages") (result i32) (memory.size))
  (func (export "set-entry") (param i32) (result i32) (table.set $t (local.get 0) (ref.func $evil)) (local.get 0))
  (func (export "call-entry") (param i32 i32) (result i32)
    (call_indirect (type $fn) (local.get 1) (local.get 0))))
)";

// Instance 1 (instantiated after 0): its element segment puts its imported
// `double` (entry 1) and its own function reading its own global (entry 2)
// into instance 0's table.
inline const char* kUserModule = R"((module
  (import "m" "t" (table 4 funcref))
  (import "m" "double" (func $double (param i32) (result i32)))
  (global $mine (mut i32) (i32.const 1000))
  (elem (i32.const 1) $double $own)
  (func $own (param i32) (result i32) (i32.add (global.get $mine) (local.get 0)))
  (func (export "bump-mine") (param i32) (result i32)
    (global.set $mine (i32.add (global.get $mine) (local.get 0))) (global.get $mine)))
)";

inline Bytes prim(uint8_t b) { return Bytes().u8(b); }

// Lifts `fns` (core instance, export, parameter count; results: one s32)
// and exports them under their names.
inline void lift_all(ComponentWriter& w, const std::vector<std::tuple<uint32_t, std::string, int>>& fns) {
  Bytes s32 = prim(kStateS32);
  uint32_t core = 0, types = 0;
  for (const auto& [inst, name, nparams] : fns) {
    std::vector<std::pair<std::string, Bytes>> params;
    for (int p = 0; p < nparams; ++p) params.emplace_back(std::string(1, char('a' + p)), s32);
    w.alias_core(ComponentWriter::kCoreFunc, inst, name);
    w.type(func_type(params, &s32));
    w.lift(core++, CanonOpts().bytes(), types++);
  }
  for (uint32_t i = 0; i < fns.size(); ++i) w.export_item(std::get<1>(fns[i]), ComponentWriter::kFunc, i);
}

inline std::vector<uint8_t> state_component() {
  ComponentWriter w;
  w.core_module(wink::test::wat(kStateModule)).core_module(wink::test::wat(kUserModule));
  w.core_instantiate(0).core_instantiate(1, {{"m", 0}});
  lift_all(w, {{0, "get-g", 0}, {0, "set-g", 1}, {0, "started", 0}, {0, "peek", 1}, {0, "poke", 2},
               {0, "grow", 1}, {0, "pages", 0}, {0, "set-entry", 1}, {0, "call-entry", 2}, {1, "bump-mine", 1}});
  return w.c.b;
}

}  // namespace wink::component::testing
