;; WAGI guest with a full 4 GiB memory (65536 pages): writes "SECRET42" at
;; 100000 and in the last 8 bytes, then answers "wrote". Its next neighbour
;; in the memory pool must not see those bytes (tests/engine/memory_up_test).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 65536)
  (data (i32.const 0) "Content-Type: text/plain\n\nwrote\n")
  (func (export "_start")
    (i64.store (i32.const 100000) (i64.const 0x3234544552434553))
    (i64.store (i32.const 0xfffffff8) (i64.const 0x3234544552434553))
    (i32.store (i32.const 256) (i32.const 0))   ;; iovec: buf
    (i32.store (i32.const 260) (i32.const 32))  ;; iovec: len
    (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264)))))
