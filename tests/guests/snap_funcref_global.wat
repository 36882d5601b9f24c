;; WAGI guest for snapshots of funcref globals. `wizer.initialize` stores a
;; reference to a function of the module ($answer, which reads memory through
;; its instance) in $g, and one to the imported fd_write in $out. The handler
;; puts both in a table and calls them with call_indirect: after a restore
;; each must be bound to the new instance and the new request's WASI context,
;; not to the instance init ran in. Answers "v=42\n".
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (type $answer_t (func (result i32)))
  (type $write_t (func (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (table $t 2 funcref)
  (global $g (mut funcref) (ref.null func))
  (global $out (mut funcref) (ref.null func))
  (data (i32.const 0) "Content-Type: text/plain\n\nv=")  ;; 28 bytes
  (elem declare func $answer $fd_write)
  (func $answer (result i32) (i32.load (i32.const 64)))
  (func (export "wizer.initialize")
    (global.set $g (ref.func $answer))
    (global.set $out (ref.func $fd_write)))
  (func (export "_start") (local $v i32)
    (i32.store (i32.const 64) (i32.const 42))
    (table.set $t (i32.const 0) (global.get $g))
    (table.set $t (i32.const 1) (global.get $out))
    (local.set $v (call_indirect $t (type $answer_t) (i32.const 0)))
    (i32.store8 (i32.const 28) (i32.add (i32.const 48) (i32.div_u (local.get $v) (i32.const 10))))
    (i32.store8 (i32.const 29) (i32.add (i32.const 48) (i32.rem_u (local.get $v) (i32.const 10))))
    (i32.store8 (i32.const 30) (i32.const 10))
    (i32.store (i32.const 256) (i32.const 0))   ;; iovec: buf
    (i32.store (i32.const 260) (i32.const 31))  ;; iovec: len
    (drop (call_indirect $t (type $write_t)
      (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264) (i32.const 1)))))
