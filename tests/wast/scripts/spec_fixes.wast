;; Spec testsuite cases wink failed or skipped before (docs/conformance.md).

;; Custom section names must be UTF-8 (utf8-custom-section-id.wast); wabt
;; 1.0.32 does not check them.
(assert_malformed
  (module binary "\00asm" "\01\00\00\00" "\00\02\01\80")              ;; a lone continuation byte
  "malformed UTF-8 encoding")
(assert_malformed
  (module binary "\00asm" "\01\00\00\00" "\00\03\02\c0\80")           ;; overlong NUL
  "malformed UTF-8 encoding")
(assert_malformed
  (module binary "\00asm" "\01\00\00\00" "\00\04\03\ed\a0\80")        ;; a surrogate (U+D800)
  "malformed UTF-8 encoding")
(assert_malformed
  (module binary "\00asm" "\01\00\00\00" "\00\04\03\f0\9f\98")        ;; truncated 4-byte sequence
  "malformed UTF-8 encoding")
(module binary "\00asm" "\01\00\00\00" "\00\05\04\f0\9f\98\80")       ;; U+1F600: accepted

;; binary.wast: 1 br_table target declared, 2 given; the rest reads as a
;; body one `end` short. wabt 1.0.32 accepts it.
(assert_malformed
  (module binary
    "\00asm" "\01\00\00\00"
    "\01\25\0c"
    "\60\00\00" "\60\00\00" "\60\00\00" "\60\00\00" "\60\00\00" "\60\00\00"
    "\60\00\00" "\60\00\00" "\60\00\00" "\60\00\00" "\60\00\00" "\60\00\00"
    "\03\02\01\00"
    "\0a\13\01"
    "\11\00" "\02\40" "\41\01" "\04\40" "\41\01"
    "\0e\01" "\00" "\01" "\02" "\0b" "\0b\0b")
  "unexpected end")
;; Nested blocks that do close are still accepted (the br_table case above
;; with its count right).
(module binary
  "\00asm" "\01\00\00\00"
  "\01\04\01" "\60\00\00" "\03\02\01\00"
  "\0a\11\01"
  "\0f\00" "\02\40" "\41\01" "\04\40" "\41\01" "\0e\00" "\02" "\0b\0b\0b")

;; funcref at the export boundary (select.wast, ref_null.wast,
;; ref_is_null.wast skipped these): results are opaque, null goes in.
(module
  (func $f (result i32) (i32.const 7))
  (func $g)
  (elem declare func $f $g)
  (global (export "gf") funcref (ref.func $f))
  (global (export "gnull") funcref (ref.null func))
  (func (export "null") (result funcref) (ref.null func))
  (func (export "f") (result funcref) (ref.func $f))
  (func (export "is_null") (param funcref) (result i32) (ref.is_null (local.get 0)))
  (func (export "pick") (param i32) (result funcref)
    (select (result funcref) (ref.func $f) (ref.null func) (local.get 0)))
  (func (export "two") (result funcref funcref) (ref.func $f) (ref.func $g))
  (func (export "same") (param funcref funcref i32) (result funcref)
    (select (result funcref) (local.get 0) (local.get 1) (local.get 2)))
)
(assert_return (invoke "null") (ref.null func))
(assert_return (invoke "f") (ref.func))
(assert_return (invoke "is_null" (ref.null func)) (i32.const 1))
(assert_return (invoke "pick" (i32.const 1)) (ref.func))
(assert_return (invoke "pick" (i32.const 0)) (ref.null func))
(assert_return (invoke "two") (ref.func) (ref.func))
(assert_return (invoke "same" (ref.null func) (ref.null func) (i32.const 1)) (ref.null func))
(assert_return (get "gf") (ref.func))
(assert_return (get "gnull") (ref.null func))
