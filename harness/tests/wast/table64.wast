;; 64-bit tables (memory64's table64): i64 indices, sizes and lengths in every table
;; instruction, narrowed by the shared table code (strata_vm::table_operand). Found by
;; differential fuzzing against wasmi: every tier read an i64 index's low half, so index
;; 2^32 + 1 called element 1, and table.grow's failure came back as 4294967295, not -1.

(module
  (type $v (func (result i32)))
  (table $t i64 2 4 funcref)
  (func $a (result i32) (i32.const 7))
  (elem (table $t) (i64.const 1) func $a)
  (func (export "size") (result i64) (table.size $t))
  (func (export "grow") (param i64) (result i64)
    (table.grow $t (ref.null func) (local.get 0)))
  (func (export "is_null") (param i64) (result i32)
    (ref.is_null (table.get $t (local.get 0))))
  (func (export "set_null") (param i64) (table.set $t (local.get 0) (ref.null func)))
  (func (export "call") (param i64) (result i32)
    (call_indirect $t (type $v) (local.get 0)))
  (func (export "tail") (param i64) (result i32)
    (return_call_indirect $t (type $v) (local.get 0)))
  (func (export "fill") (param i64 i64)
    (table.fill $t (local.get 0) (ref.func $a) (local.get 1)))
  (func (export "copy") (param i64 i64 i64)
    (table.copy $t $t (local.get 0) (local.get 1) (local.get 2)))
)

(assert_return (invoke "size") (i64.const 2))
(assert_return (invoke "call" (i64.const 1)) (i32.const 7))
(assert_trap (invoke "call" (i64.const 0x1_0000_0001)) "undefined element")
(assert_trap (invoke "call" (i64.const -1)) "undefined element")
(assert_trap (invoke "call" (i64.const 0)) "uninitialized element")
(assert_return (invoke "tail" (i64.const 1)) (i32.const 7))
(assert_trap (invoke "tail" (i64.const 0x1_0000_0001)) "undefined element")
(assert_return (invoke "is_null" (i64.const 1)) (i32.const 0))
(assert_return (invoke "is_null" (i64.const 0)) (i32.const 1))
(assert_trap (invoke "is_null" (i64.const 0x1_0000_0001)) "out of bounds table access")
(assert_trap (invoke "set_null" (i64.const 0x1_0000_0000)) "out of bounds table access")
(assert_return (invoke "grow" (i64.const 0x1_0000_0000)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 3)) (i64.const -1))
(assert_return (invoke "grow" (i64.const 1)) (i64.const 2))
(assert_return (invoke "size") (i64.const 3))
(assert_trap (invoke "fill" (i64.const 0) (i64.const 0x1_0000_0001)) "out of bounds table access")
(assert_trap (invoke "fill" (i64.const 0x1_0000_0000) (i64.const 0)) "out of bounds table access")
(assert_return (invoke "fill" (i64.const 0) (i64.const 3)))
(assert_return (invoke "call" (i64.const 0)) (i32.const 7))
(assert_trap (invoke "copy" (i64.const 0x1_0000_0000) (i64.const 0) (i64.const 1)) "out of bounds table access")
(assert_trap (invoke "copy" (i64.const 0) (i64.const 0) (i64.const 0x1_0000_0001)) "out of bounds table access")
(assert_return (invoke "copy" (i64.const 1) (i64.const 0) (i64.const 2)))
(assert_return (invoke "call" (i64.const 2)) (i32.const 7))

;; An active segment at an i64 offset of 2^32 is out of bounds, not at offset 0.
(assert_trap
  (module (table i64 2 funcref) (func $f) (elem (table 0) (i64.const 0x1_0000_0000) func $f))
  "out of bounds table access")

;; An i64 table matches only an i64 table import.
(module $m (table (export "t64") i64 1 funcref) (table (export "t32") 1 funcref))
(register "m" $m)
(module (import "m" "t64" (table i64 1 funcref)))
(assert_unlinkable (module (import "m" "t64" (table 1 funcref))) "incompatible import type")
(assert_unlinkable (module (import "m" "t32" (table i64 1 funcref))) "incompatible import type")
