;; Found by the differential_wasmi quick check (seed 1008): wasmi 2.0.0 traps with "integer
;; divide by zero" at the i32.rem_s in func 0, whose divisor is 1 (select of 1 over local 3 = 0).
;; Strata (every configuration) and wasmtime 48 agree: no trap there. A wasmi bug, kept as a
;; regression test of Strata's behaviour. Reduced with wasm-tools shrink and a line reducer.
;; The cause, found later (wasmi_select_eqz_global.wat): wasmi fuses the select with the
;; i32.eqz of local 3 and reads a stale register as the condition, so it takes local 3 = 0.
(module
  (type (;0;) (func (param i64 f32) (result i64 f64)))
  (type (;1;) (func (result i64 f64)))
  (global (;0;) (mut i64) i64.const 0)
  (global (;1;) (mut i64) i64.const 0)
  (global (;2;) (mut i32) i32.const 0)
  (global (;3;) (mut i32) i32.const 0)
  (global (;4;) (mut i32) i32.const 0)
  (export "__fuel" (global 4))
  (export "" (func 1))
  (func (;0;) (type 0) (param i64 f32) (result i64 f64)
    (local f32 i32 i32 f32 i64 i64 f32 f64)
    global.get 4
    if ;; label = @1
    end
    i64.const 0
    i32.const 32
    local.get 0
    f32.const -0x1.6941ecp-56 (;=-0.000000000000000019583809;)
    ref.null func
    ref.null func
    i32.const 1
    local.get 3
    local.get 3
    i32.eqz
    select
    local.set 3
    local.get 3
    local.get 3
    i32.rem_s
    global.set 3
    drop
    drop
    i32.reinterpret_f32
    global.set 2
    global.set 1
    global.set 3
    f64.const -0x1.5974b4c2472f2p+144 (;=-30093451670808730000000000000000000000000000;)
  )
  (func (;1;) (type 1) (result i64 f64)
    i64.const 1
    f32.const 0x1.3aaeap+113 (;=12765024000000000000000000000000000;)
    call 0
  )
)