;; Modules libwabt 1.0.32 accepts and the spec refuses; wink's front end
;; refuses them (src/compiler/spec_gaps.cpp). Cases from the spec testsuite.
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\00" "\83\80\80\80\80\00" "\01" "1" "2")  ;; section size LEB one byte too long
  "integer representation too long")
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\00" "\83\80\80\80\10" "\01" "1" "2")     ;; section size LEB with unused bits set
  "integer too large")
(assert_malformed
  (module binary "\00asm" "\01\00\00\00" "\00\00")  ;; custom section without a name
  "unexpected end")
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00"
    "\0a\06\01\04\00\41\01\1a"                 ;; body without `end`
    "\0b\03\01\01\00")
  "section size mismatch")
(assert_malformed
  (module binary "\00asm" "\01\00\00\00"
    "\01\04\01\60\00\00" "\03\02\01\00"
    "\06\05\01\7f\00\41\00"                    ;; global initializer without `end`
    "\0a\04\01\02\00\0b")
  "illegal opcode")
(assert_malformed
  (module binary "\00asm" "\01\00\00\00" "\0c\01\01")  ;; data count 1, no data section
  "data count and data section have inconsistent lengths")
(assert_invalid
  (module (memory 1) (data (ref.null func)))
  "type mismatch")
(assert_invalid
  (module (table 1 funcref) (elem (ref.null func)))
  "type mismatch")
(assert_invalid
  (module (type (func)) (table 1 externref)
    (func (call_indirect (type 0) (i32.const 0))))
  "type mismatch")
;; Still accepted: an empty global section, a data count of 0.
(module binary "\00asm" "\01\00\00\00" "\06\01\00" "\0c\01\00")
(module (import "spectest" "global_i32" (global i32)) (memory 1) (data (global.get 0) "x")
  (table 1 funcref) (elem (i32.const 0)) (func (call_indirect (i32.const 0))))
;; wabt 1.0.32 reads this SIMD load with SIMD disabled and its C writer
;; aborted: now refused before translation, counted as a SIMD skip.
(module (memory 1) (func (drop (v128.load8x8_s align=2 (i32.const 0)))))
;; wasm2c 1.0.32 writes export names into C comments unescaped: a name with
;; "*/" would inject C into the artifact. Refused (a skip under its reason).
(module (func (export "x */ __attribute__((constructor)) static void boom(void) { __builtin_trap(); } /* y")))
