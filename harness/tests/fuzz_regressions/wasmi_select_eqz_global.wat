;; Found by `strata fuzz --oracle wasmi` (fuzz seed 5000949): a final-state divergence, the
;; exported global "4" was i32:0 in wasmi 2.0.0 and i32:2070651514 in every Strata
;; configuration. Reduced by hand after `wasm-tools shrink` to the pattern below.
;;
;; A wasmi bug. wasmi fuses `select` with a preceding i32.eqz (or i32.eq/i32.ne with 0) whose
;; operand is a local, then reads a stale register as the condition instead of the local, so
;; it can pick the wrong operand. Here the spec says select(1, x, x == 0) = x = 2070651514;
;; wasmi 2.0.0 stores 1. wasmtime 48 agrees with Strata (`wasmtime run --invoke f` on this
;; file with a `(global.get 0)` result added prints 2070651514), and so does wasmi once an
;; empty `block end` separates the i32.eqz from the select, which changes nothing by the spec.
;; Kept as a regression test of Strata's behaviour; `strata fuzz` attributes such cases to
;; the oracle by that same re-run (harness/src/diff/oracle_bugs.rs).
(module
  (global (export "g") (mut i32) (i32.const 0))
  (func (export "f") (local i32)
    i32.const 2070651514
    local.set 0
    i32.const 1
    local.get 0
    local.get 0
    i32.eqz
    select
    global.set 0))
