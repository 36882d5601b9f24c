;; WAGI test guest with a start function: its instantiation runs guest code,
;; so it is never made ahead of its request (the code could depend on or act
;; for that request). The start function counts its runs in a global and
;; writes the CGI head and "start;" through WASI's fd_write: a start
;; function's host calls see the instance's memory. _start writes the rest
;; with that count: 1, one start per instance.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $starts (mut i32) (i32.const 0))
  (data (i32.const 16) "Content-Type: text/plain\n\nstart;main ")
  (data (i32.const 80) "0123456789")
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    ;; a failed write (EFAULT, had the memory not been given to WASI yet) traps
    (if (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))
      (then (unreachable))))
  (func $init
    (global.set $starts (i32.add (global.get $starts) (i32.const 1)))
    (call $write (i32.const 16) (i32.const 32)))
  (start $init)
  (func (export "_start")
    (call $write (i32.const 48) (i32.const 5))
    (call $write (i32.add (i32.const 80) (global.get $starts)) (i32.const 1))
    (i32.store8 (i32.const 96) (i32.const 10))
    (call $write (i32.const 96) (i32.const 1))))
