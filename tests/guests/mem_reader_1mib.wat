;; WAGI guest with 2 pages of memory (deployed with memory_limit = "1MiB"):
;; answers "read:" followed by the 8 raw bytes at address 100000 of its fresh
;; memory, which must be zeros whoever used the slot before.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "Content-Type: text/plain\n\nread:")
  (func (export "_start")
    (i64.store (i32.const 31) (i64.load (i32.const 100000)))
    (i32.store8 (i32.const 39) (i32.const 10))
    (i32.store (i32.const 256) (i32.const 0))   ;; iovec: buf
    (i32.store (i32.const 260) (i32.const 40))  ;; iovec: len
    (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264)))))
