;; Host functions called through a table (call_indirect), placed there by an
;; active element segment and, at run time, by table.init of a passive one.
;; Exits with argc*10 + argc as the two routes saw it: `wink run` with three
;; arguments exits 44. wasm2c 1.0.32 handed such calls the wrong instance
;; pointer (the host read the guest's own instance struct as its context).
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (table 4 funcref)
  (type $sizes (func (param i32 i32) (result i32)))
  (type $exit (func (param i32)))
  (elem (i32.const 0) $args_sizes_get $proc_exit)
  (elem $late func $args_sizes_get $proc_exit)
  (func (export "_start")
    (table.init $late (i32.const 2) (i32.const 0) (i32.const 2))
    (drop (call_indirect (type $sizes) (i32.const 0) (i32.const 4) (i32.const 0)))
    (drop (call_indirect (type $sizes) (i32.const 16) (i32.const 20) (i32.const 2)))
    (call_indirect (type $exit)
      (i32.add (i32.mul (i32.load (i32.const 0)) (i32.const 10)) (i32.load (i32.const 16)))
      (i32.const 3))
    unreachable))
