;; Not a valid script: wast2json's error (with its line and column) is reported.
(module
  (func (export "f") (result i32) (i32.const 1)))
(assert_return (invoke "f") (i32.const 1)
