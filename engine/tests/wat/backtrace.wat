;; Traps three calls deep, for engine/tests/backtrace.rs. `run kind` calls $outer -> $middle
;; -> $inner, which traps by `kind`: 0 unreachable, 1 divide by zero, 2 out-of-bounds load,
;; 3 call_indirect of a null element, 4 a host function's trap, 5 a trap in wasm that the
;; host function called (a host frame in the middle of the backtrace). $outer and $middle
;; hold exactly one call each and $inner one instruction of each trapping kind, so the test
;; finds every expected offset by decoding this module's binary.
(module $bt
  (import "host" "reenter" (func $reenter (param i32) (result i32)))
  (type $t (func (param i32) (result i32)))
  (memory 1)
  (table 1 funcref)
  (func $inner (param $kind i32) (result i32)
    (block $host
      (block $null
        (block $load
          (block $div
            (block $unreachable
              (br_table $unreachable $div $load $null $host $host (local.get $kind)))
            unreachable)
          (return (i32.div_u (local.get $kind) (i32.const 0))))
        (return (i32.load offset=65536 (local.get $kind))))
      (return (call_indirect (type $t) (local.get $kind) (i32.const 0))))
    ;; 4: the host traps; 5: it runs `run 0`, which traps in wasm.
    (call $reenter (i32.sub (local.get $kind) (i32.const 5))))
  (func $middle (param i32) (result i32)
    (i32.add (call $inner (local.get 0)) (i32.const 1)))
  (func $outer (param i32) (result i32)
    (i32.add (call $middle (local.get 0)) (i32.const 1)))
  (func $run (export "run") (param i32) (result i32)
    (call $outer (local.get 0)))
  ;; Unbounded recursion: a stack overflow, every outer frame at the same call.
  (func $recurse (export "recurse") (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  ;; A loop that runs long enough for tiered execution to enter compiled code by OSR,
  ;; then divides by zero: the frame that moved tiers shows the division.
  (func $spin (param $n i32) (result i32)
    (local $i i32)
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    (i32.div_u (local.get $i) (i32.const 0)))
  (func $looping (export "looping") (param i32) (result i32)
    (call $spin (local.get 0))))
