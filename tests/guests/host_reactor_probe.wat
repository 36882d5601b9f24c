;; Calls every wink_reactor import with whatever the test passes: the host
;; must answer pointers and lengths outside the one-page memory with -2.
(module
  (import "wink_reactor" "request_var" (func $request_var (param i32 i32 i32 i32) (result i32)))
  (import "wink_reactor" "keep_awake" (func $keep_awake (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "REQUEST_METHOD")
  (func (export "probe") (param i32 i32 i32 i32) (result i32)
    (call $request_var (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "awake") (param i32)
    (call $keep_awake (local.get 0))))
