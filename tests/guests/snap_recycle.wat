;; Attacker guest for recycled snapshot slots (a released instance's memory
;; slot reset in place and reused by the next instance of the snapshot).
;; `wizer.initialize` leaves non-zero bytes in [0, 128 KiB) and in one 4 KiB
;; page at 384 KiB (the rest are holes of the image), $g = 42 and table entry
;; 0 = $one. The attacks change everything an instance can reach: every byte
;; of memory (one run of 128 pages: dropped, not copied back) or a few pages
;; in data and holes (copied back), the global, the table (entries and size)
;; and the memory size (memory.grow, the new pages written too). Probes read
;; it all back: the next instance must see init's state exactly.
(module
  (type $r (func (result i32)))
  (memory (export "memory") 8 64)
  (global $g (mut i32) (i32.const 0))
  (table $t 2 16 funcref)
  (elem declare func $one $two)
  (func $one (result i32) (i32.const 1))
  (func $two (result i32) (i32.const 2))
  (func (export "wizer.initialize") (local $i i32)
    (loop $fill
      (i32.store8 (local.get $i) (i32.or (i32.mul (local.get $i) (i32.const 7)) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 131072))))
    (memory.fill (i32.const 393216) (i32.const 0x11) (i32.const 4096))
    (global.set $g (i32.const 42))
    (table.set $t (i32.const 0) (ref.func $one)))
  (func $grow_and_touch_tables
    (local $old i32)
    (global.set $g (i32.const 666))
    (table.set $t (i32.const 0) (ref.func $two))
    (table.set $t (i32.const 1) (ref.func $two))
    (drop (table.grow $t (ref.func $two) (i32.const 4)))
    (local.set $old (memory.grow (i32.const 4)))
    (memory.fill (i32.mul (local.get $old) (i32.const 65536)) (i32.const 0xA5) (i32.const 262144)))
  (func (export "attack_all")
    (memory.fill (i32.const 0) (i32.const 0x5A) (i32.mul (memory.size) (i32.const 65536)))
    (call $grow_and_touch_tables))
  (func (export "attack_some")
    (i32.store (i32.const 100) (i32.const 0x5A5A5A5A))       ;; a data page
    (i32.store (i32.const 65540) (i32.const 0x5A5A5A5A))     ;; another
    (i32.store (i32.const 200000) (i32.const 0x5A5A5A5A))    ;; a hole of the image
    (i32.store (i32.const 393300) (i32.const 0x5A5A5A5A))    ;; the lone data page
    (call $grow_and_touch_tables))
  ;; The pages attack_some wrote, with nothing else: in a slot reset after
  ;; attack_some they are private already, so these writes take no page fault.
  (func (export "attack_private")
    (i32.store (i32.const 100) (i32.const 0x5A5A5A5A))
    (i32.store (i32.const 65540) (i32.const 0x5A5A5A5A))
    (i32.store (i32.const 200000) (i32.const 0x5A5A5A5A))
    (i32.store (i32.const 393300) (i32.const 0x5A5A5A5A)))
  ;; A page no attack wrote before (a hole of the image): its write faults.
  (func (export "attack_new_page")
    (i32.store (i32.const 300000) (i32.const 0x5A5A5A5A)))
  (func (export "read_all") (result i32) (local $i i32) (local $sum i32)
    (loop $read
      (local.set $sum (i32.add (local.get $sum) (i32.load8_u (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4096)))
      (br_if $read (i32.lt_u (local.get $i) (i32.mul (memory.size) (i32.const 65536)))))
    (local.get $sum))
  (func (export "global") (result i32) (global.get $g))
  (func (export "table_size") (result i32) (table.size $t))
  (func (export "call0") (result i32) (call_indirect $t (type $r) (i32.const 0)))
  (func (export "entry1_is_null") (result i32) (ref.is_null (table.get $t (i32.const 1))))
  (func (export "memory_pages") (result i32) (memory.size))
  (func (export "grow") (param $pages i32) (result i32) (memory.grow (local.get $pages))))
