;; `strata fuzz` seed 1000010438 (opt, opt-explicit and opt-chaos against the interpreter,
;; the baseline and opt-no-egraph): the e-graph folded `f32.demote_f64` of a constant NaN to
;; the canonical NaN, while every tier's cvtsd2ss keeps the sign and payload (quieted), so the
;; bits xor-ed into an exported global differed. Fixed in `ir/src/eval.rs` (demote and
;; promote of a NaN keep sign and payload). Reduced by hand from the generated module.
(module
  (global (export "g") (mut i32) (i32.const 0))
  (global (export "h") (mut i64) (i64.const 0))
  (func (export "demote") (result i32)
    f64.const -nan:0x7ffffffffffff
    f32.demote_f64
    i32.reinterpret_f32)
  (func (export "demote_odd") (result i32)
    f64.const -nan:0x4000000000001
    f32.demote_f64
    i32.reinterpret_f32)
  (func (export "promote") (result i64)
    f32.const -nan:0x7fff
    f64.promote_f32
    i64.reinterpret_f64)
  ;; As in the generated module: through a loop parameter into a global.
  (func (export "loop") (param i32)
    f64.const -nan:0x7ffffffffffff
    f32.demote_f64
    loop (param f32) (result f32)
      local.get 0
      i32.const 1
      i32.sub
      local.tee 0
      i32.const 0
      i32.gt_s
      br_if 0
    end
    i32.reinterpret_f32
    global.get 0
    i32.xor
    global.set 0
    f32.const nan:0x200001
    f64.promote_f32
    i64.reinterpret_f64
    global.set 1))
