;; A `catch_all` clause takes no payload: the unwinder must not write the thrown tag's
;; payload into the catching frame, where the optimizing tier keeps the spill cells of the
;; values live across the throw (found by `strata fuzz`, mixed target: the payload's null
;; funcref zeroed an f32 spilled right after the parameters).
(module
  (tag $ref (param funcref))
  (tag $big (param i64 i64 i64))
  (func $thrower (throw $big (i64.const -1) (i64.const -1) (i64.const -1)))

  ;; The fuzzer's case, reduced.
  (func (export "fuzz") (param f32) (result i32)
    (global.set $g (i32.const 0))
    local.get 0
    f32.const -0x1.bc301ep+56
    i64.const 7
    f64.const 1.5
    try_table
      i32.const 3
      loop (result f64)
        try_table (catch_all 1)
          ref.null func
          throw $ref
        end
        f64.const 2
      end
      drop drop
    end
    drop drop
    i32.reinterpret_f32
    global.get $g
    i32.xor
    global.set $g
    i32.reinterpret_f32
    global.get $g
    i32.xor
    global.set $g
    global.get $g)
  (global $g (mut i32) (i32.const 0))

  ;; Values computed before the try (so not constants or parameters) live across a throw
  ;; whose payload is three cells.
  (func (export "all") (param i32 i32) (result i32)
    (i32.mul (local.get 0) (local.get 1))
    (i32.add (local.get 0) (local.get 1))
    (block
      (try_table (catch_all 0)
        (throw $big (i64.const -1) (i64.const -1) (i64.const -1)))
      (unreachable))
    (i32.sub))

  ;; The same, thrown by a callee.
  (func (export "all-call") (param i32 i32) (result i32)
    (i32.mul (local.get 0) (local.get 1))
    (i32.add (local.get 0) (local.get 1))
    (block
      (try_table (catch_all 0) (call $thrower))
      (unreachable))
    (i32.sub))

  ;; `catch_all_ref` gets the reference and nothing else.
  (func (export "all-ref") (param i32 i32) (result i32)
    (i32.mul (local.get 0) (local.get 1))
    (i32.add (local.get 0) (local.get 1))
    (block (result exnref)
      (try_table (catch_all_ref 0)
        (throw $big (i64.const -1) (i64.const -1) (i64.const -1)))
      (unreachable))
    (drop)
    (i32.sub))

  ;; A clause of the tag still receives the payload.
  (func (export "tag") (param i32 i32) (result i64)
    (i64.extend_i32_u (i32.mul (local.get 0) (local.get 1)))
    (block (result i64 i64 i64)
      (try_table (catch $big 0)
        (throw $big (i64.const 100) (i64.const 20) (i64.const 3)))
      (unreachable))
    (i64.add)
    (i64.add)
    (i64.add))
)

(assert_return (invoke "fuzz" (f32.const 108)) (i32.const -1727653873))
(assert_return (invoke "all" (i32.const 6) (i32.const 7)) (i32.const 29))
(assert_return (invoke "all-call" (i32.const 6) (i32.const 7)) (i32.const 29))
(assert_return (invoke "all-ref" (i32.const 6) (i32.const 7)) (i32.const 29))
(assert_return (invoke "tag" (i32.const 6) (i32.const 7)) (i64.const 165))
