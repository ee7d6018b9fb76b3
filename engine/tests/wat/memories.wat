;; Multi-memory and memory64 in one module (engine/tests/memories.rs): memory 0 is a large
;; 32-bit memory, memory 1 a one-page 32-bit memory, memory 2 a one-page 64-bit memory with
;; at most 4 pages. Bounds are per memory: an address in bounds of memory 0 is out of bounds
;; of memory 1 and 2.
(module
  (memory $big 4)
  (memory $small 1 2)
  (memory $wide i64 1 4)
  (data (memory $small) (i32.const 16) "\2a")
  (data (memory $wide) (i64.const 8) "\07")

  (func (export "load_big") (param i32) (result i32) (i32.load8_u $big (local.get 0)))
  (func (export "load_small") (param i32) (result i32) (i32.load8_u $small (local.get 0)))
  (func (export "load_wide") (param i64) (result i32) (i32.load8_u $wide (local.get 0)))
  (func (export "store_small") (param i32 i32) (i32.store $small (local.get 0) (local.get 1)))
  (func (export "store_wide") (param i64 i64) (i64.store $wide (local.get 0) (local.get 1)))
  (func (export "load_wide64") (param i64) (result i64) (i64.load $wide (local.get 0)))
  ;; A static offset past 4 GiB, and one that makes the sum pass 2^64.
  (func (export "load_wide_far") (param i64) (result i32)
    (i32.load8_u $wide offset=0x100000000 (local.get 0)))
  (func (export "load_wide_wrap") (param i64) (result i32)
    (i32.load8_u $wide offset=16 (local.get 0)))

  (func (export "size_small") (result i32) (memory.size $small))
  (func (export "size_wide") (result i64) (memory.size $wide))
  (func (export "grow_small") (param i32) (result i32) (memory.grow $small (local.get 0)))
  (func (export "grow_wide") (param i64) (result i64) (memory.grow $wide (local.get 0)))

  ;; Copy from memory 1 to memory 2 and from memory 2 to memory 0.
  (func (export "copy_small_to_wide") (param i64 i32 i32)
    (memory.copy $wide $small (local.get 0) (local.get 1) (local.get 2)))
  (func (export "copy_wide_to_big") (param i32 i64 i32)
    (memory.copy $big $wide (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill_wide") (param i64 i32 i64)
    (memory.fill $wide (local.get 0) (local.get 1) (local.get 2)))
  (func (export "fill_small") (param i32 i32 i32)
    (memory.fill $small (local.get 0) (local.get 1) (local.get 2)))
)
