;; Reactor guest for stateful standby of funcref globals. `_initialize` stores
;; a reference to $first (returns the value at 64, 42) in $g and one to the
;; imported fd_write in $out; each request calls $g and $out through a table,
;; answers "v=NN count=N\n", then points $g at $second (42 - 35 = 7). A wake
;; from standby must restore $g (now $second) bound to the new instance, and
;; $out bound to the new WASI context.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (type $answer_t (func (result i32)))
  (type $write_t (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table $t 2 funcref)
  (global $g (mut funcref) (ref.null func))
  (global $out (mut funcref) (ref.null func))
  (global $count (mut i32) (i32.const 0))
  (data (i32.const 0) "Content-Type: text/plain\n\nv=")  ;; 28 bytes
  (data (i32.const 31) "count=")                          ;; 31..36
  (elem declare func $first $second $fd_write)
  (func $first (result i32) (i32.load (i32.const 64)))
  (func $second (result i32) (i32.sub (i32.load (i32.const 64)) (i32.const 35)))
  (func (export "_initialize")
    (global.set $g (ref.func $first))
    (global.set $out (ref.func $fd_write)))
  (func (export "wink_handle") (local $v i32)
    (global.set $count (i32.add (global.get $count) (i32.const 1)))
    (i32.store (i32.const 64) (i32.const 42))
    (table.set $t (i32.const 0) (global.get $g))
    (table.set $t (i32.const 1) (global.get $out))
    (local.set $v (call_indirect $t (type $answer_t) (i32.const 0)))
    (i32.store8 (i32.const 28) (i32.add (i32.const 48) (i32.div_u (local.get $v) (i32.const 10))))
    (i32.store8 (i32.const 29) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
    (i32.store8 (i32.const 30) (i32.const 32))
    (i32.store8 (i32.const 37) (i32.add (i32.const 48) (i32.rem_u (global.get $count) (i32.const 10))))
    (i32.store8 (i32.const 38) (i32.const 10))
    (i32.store (i32.const 256) (i32.const 0))   ;; iovec: buf
    (i32.store (i32.const 260) (i32.const 39))  ;; iovec: len
    (drop (call_indirect $t (type $write_t)
      (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264) (i32.const 1)))
    (global.set $g (ref.func $second))))
