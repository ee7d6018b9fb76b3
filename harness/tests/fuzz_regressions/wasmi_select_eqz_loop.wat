;; Found by `strata fuzz --oracle wasmi` (fuzz seed 5004746): wasmi 2.0.0 returned from a
;; call where every Strata configuration trapped with "unreachable". Reduced by hand.
;;
;; A wasmi bug, the same as in wasmi_select_eqz_global.wat: wasmi fuses `select` with the
;; i32.eqz of a local and reads a stale register as the condition. The generated module
;; guarded a divisor with select(1, x, x == 0); with x = 3 wasmi took 1, so -5 rem_s 1 = 0
;; ended a loop that by the spec (-5 rem_s 3 = -2) runs until its fuel is gone and the fuel
;; check reaches `unreachable`. Here the loop is cut down to its first test. wasmtime 48
;; agrees with Strata (`wasmtime run --invoke f` traps: unreachable), and so does wasmi once
;; an empty `block end` separates the i32.eqz from the select.
(module
  (func (export "f") (local i32)
    i32.const -5
    i32.const 3
    local.set 0
    i32.const 1
    local.get 0
    local.get 0
    i32.eqz
    select
    i32.rem_s
    if
      unreachable
    end))
