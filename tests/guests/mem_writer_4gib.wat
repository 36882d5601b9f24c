;; WAGI guest with a full 4 GiB memory (65536 pages): writes "SECRET42" at
;; 100000 and 16 bytes before the end, then answers "wrote". (Not in the last
;; 8 bytes: clang 14 merges a store there with one at 0 into one 16-byte store
;; that runs into the guard, as if addresses wrapped at 4 GiB.) Its next neighbour
;; in the memory pool must not see those bytes (tests/engine/memory_up_test).
;; No data segment: the response is built by stores, so instantiation does
;; not depend on how the memory's size is described.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 65536)
  (func (export "_start")
    (i64.store (i32.const 100000) (i64.const 0x3234544552434553))
    (i64.store (i32.const 0xfffffff0) (i64.const 0x3234544552434553))
    ;; "Content-Type: text/plain\n\nwrote\n"
    (i64.store (i32.const 0) (i64.const 0x2d746e65746e6f43))
    (i64.store (i32.const 8) (i64.const 0x6574203a65707954))
    (i64.store (i32.const 16) (i64.const 0x6e69616c702f7478))
    (i64.store (i32.const 24) (i64.const 0x0a65746f72770a0a))
    (i32.store (i32.const 256) (i32.const 0))   ;; iovec: buf
    (i32.store (i32.const 260) (i32.const 32))  ;; iovec: len
    (drop (call $fd_write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264)))))
