;; A module without a memory calling wink_reactor: nothing it passes can name
;; guest bytes, so request_var must answer -2 whatever the arguments.
(module
  (import "wink_reactor" "request_var" (func $request_var (param i32 i32 i32 i32) (result i32)))
  (import "wink_reactor" "keep_awake" (func $keep_awake (param i32)))
  (func (export "probe") (param i32 i32 i32 i32) (result i32)
    (call $request_var (local.get 0) (local.get 1) (local.get 2) (local.get 3)))
  (func (export "awake") (param i32)
    (call $keep_awake (local.get 0))))
