;; Found by `strata fuzz --oracle wasmi` (fuzz seeds 10003959, 10158958, 10164871): final-state
;; divergences, an exported global was 0 in wasmi 2.0.0 and another value in every Strata
;; configuration. Reduced with wasm-tools shrink, a line reducer and by hand.
;;
;; A wasmi bug. wasmi keeps `local.get` results on its operand stack as references to the
;; local, and copies them out ("preserves" them) when a block, loop or if starts. With block
;; parameters it means to leave the top N operands alone, but it skips the first N *locals*
;; from the top instead: here the parameter is a constant, so the `local.get 0` below it is
;; not copied at the `if`. The `loop` in the then-arm copies it, inside that arm only; when
;; the arm does not run, the value read after the `if` is a slot that was never written, 0.
;; By the spec `f` returns its argument. wasmtime 48 agrees with Strata (`wasmtime run
;; --invoke f` on this file with the argument 5 prints 5; wasmi returns 0), and so does wasmi
;; once an empty `block end` precedes the `if`, which changes nothing by the spec.
(module
  (global $c (mut i32) (i32.const 0))
  (func (export "f") (param i64) (result i64)
    local.get 0
    i64.const 0
    global.get $c
    if (param i64) (result i64)
      loop
      end
    end
    drop))
