;; Not a finding: a seed case that exercises every trap kind the differential checker
;; compares, so that the regression folder is never empty and trap mapping stays covered.
(module
  (type $t (func (param i32) (result i32)))
  (memory (export "mem") 1 1)
  (table (export "tab") 3 3 funcref)
  (elem (i32.const 0) $id)
  (global (export "g") (mut f32) (f32.const 0))
  (func $id (export "id") (type $t) local.get 0)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "rem") (param i64 i64) (result i64) local.get 0 local.get 1 i64.rem_u)
  (func (export "trunc") (param f64) (result i32) local.get 0 i32.trunc_f64_s)
  (func (export "load") (param i32) (result i64) local.get 0 i64.load offset=65530)
  (func (export "icall") (param i32) (result i32) i32.const 7 local.get 0 call_indirect (type $t))
  (func (export "icall_sig") (param i32) local.get 0 local.get 0 call_indirect (param i32))
  (func (export "unreach") unreachable)
  (func (export "nan") (param f32 f32) (result f32)
    local.get 0 local.get 1 f32.div global.get 0 f32.add global.set 0 global.get 0)
)
