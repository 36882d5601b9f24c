;; Links between spec modules through the linker's link tables
;; (tests/wast/wast_cli_test.cpp): externref and multiple values cross
;; instances (a direct call of the exporter's function), and the linker's
;; import matching refuses what the spec calls unlinkable.
(module $Refs
  (func $seven (export "seven") (result i32) (i32.const 7))
  (func (export "pair") (param i64 f64) (result f64 i64) (local.get 1) (local.get 0))
  (func (export "echo_ref") (param externref) (result externref) (local.get 0))
  (table (export "refs") 1 externref)
  (memory (export "mem_1_3") 1 3)
  (global (export "g_i32") i32 (i32.const 5))
  (global (export "g_mut") (mut i64) (i64.const 6)))
(register "refs" $Refs)

(module
  (import "refs" "pair" (func $pair (param i64 f64) (result f64 i64)))
  (import "refs" "echo_ref" (func $echo (param externref) (result externref)))
  (import "refs" "seven" (func $seven (result i32)))
  (func (export "seven_plus") (result i32) (i32.add (call $seven) (i32.const 1)))
  (func (export "pair_sum") (result f64)
    (call $pair (i64.const 3) (f64.const 1.5))
    (f64.convert_i64_s)
    (f64.add))
  (func (export "echo") (param externref) (result externref) (call $echo (local.get 0))))
(assert_return (invoke "seven_plus") (i32.const 8))
(assert_return (invoke "pair_sum") (f64.const 4.5))
(assert_return (invoke "echo" (ref.extern 9)) (ref.extern 9))
(assert_return (invoke "echo" (ref.null extern)) (ref.null extern))

(module
  (import "refs" "mem_1_3" (memory 1 3))
  (import "refs" "g_mut" (global $g (mut i64)))
  (import "refs" "refs" (table 1 externref))
  (func (export "g") (result i64) (global.set $g (i64.add (global.get $g) (i64.const 1))) (global.get $g))
  (func (export "size") (result i32) (i32.add (memory.size) (table.size 0))))
(assert_return (invoke "g") (i64.const 7))
(assert_return (invoke "size") (i32.const 2))

(assert_unlinkable (module (import "refs" "g_i32" (global (mut i32)))) "incompatible import type")
(assert_unlinkable (module (import "refs" "g_mut" (global i64))) "incompatible import type")
(assert_unlinkable (module (import "refs" "refs" (table 1 funcref))) "incompatible import type")
(assert_unlinkable (module (import "refs" "mem_1_3" (memory 1 2))) "incompatible import type")
(assert_unlinkable (module (import "refs" "seven" (global i32))) "incompatible import type")
(assert_unlinkable (module (import "refs" "nothing" (func))) "unknown import")
(assert_unlinkable (module (import "spectest" "print_i32" (func (param i64)))) "incompatible import type")

;; A memory without a maximum does not match an import that has one, even 4 GiB.
(module $NoMax (memory (export "m") 1))
(register "nomax" $NoMax)
(assert_unlinkable (module (import "nomax" "m" (memory 1 65536))) "incompatible import type")
(module (import "nomax" "m" (memory 1)))
