;; simd_f32x4: f32x4 arithmetic over memory, the inner loop of autovectorized
;; float code: y[i] = clamp(a * x[i] + y[i]) four lanes at a time (v128.load,
;; f32x4.mul/add, f32x4.pmin/pmax, v128.store), then a lane-wise sum folded
;; with extract_lane. Values stay small integers: exact in any engine.
;;
;; Memory: 1 page; x at 0, y at 16 KiB (4096 floats each).
;;
;; Exports:
;;   run(n: i32) -> i64   n passes over the arrays, returns a checksum
;;   _start()             runs DEFAULT passes, stores the checksum in `result`
;;   memory
;; No imports. Requires SIMD.
(module
  (memory (export "memory") 1 1)
  (global $result (export "result") (mut i64) (i64.const 0))

  (func $init
    (local $i i32) (local $x i32)
    i32.const 12345
    local.set $x
    loop $l
      ;; x = x * 1103515245 + 12345; x[i] = (x >> 16) % 64 - 32; y[i] = (x >> 8) % 32 - 16
      local.get $x
      i32.const 1103515245
      i32.mul
      i32.const 12345
      i32.add
      local.set $x
      local.get $i
      local.get $x
      i32.const 16
      i32.shr_u
      i32.const 63
      i32.and
      i32.const 32
      i32.sub
      f32.convert_i32_s
      f32.store
      local.get $i
      local.get $x
      i32.const 8
      i32.shr_u
      i32.const 31
      i32.and
      i32.const 16
      i32.sub
      f32.convert_i32_s
      f32.store offset=16384
      local.get $i
      i32.const 4
      i32.add
      local.tee $i
      i32.const 16384
      i32.lt_u
      br_if $l
    end)

  (func $run (export "run") (param $n i32) (result i64)
    (local $pass i32) (local $i i32) (local $a v128) (local $sum v128) (local $acc i64)
    (local $lo v128) (local $hi v128)
    call $init
    v128.const f32x4 -1024 -1024 -1024 -1024
    local.set $lo
    v128.const f32x4 1024 1024 1024 1024
    local.set $hi
    block $done
      local.get $n
      i32.const 0
      i32.le_s
      br_if $done
      loop $pass_loop
        ;; a = (pass % 5) - 2
        local.get $pass
        i32.const 5
        i32.rem_u
        i32.const 2
        i32.sub
        f32.convert_i32_s
        f32x4.splat
        local.set $a
        v128.const i32x4 0 0 0 0
        local.set $sum
        i32.const 0
        local.set $i
        loop $l
          local.get $i
          local.get $hi
          local.get $a
          local.get $i
          v128.load
          f32x4.mul
          local.get $i
          v128.load offset=16384
          f32x4.add
          f32x4.pmin
          local.get $lo
          f32x4.pmax
          local.tee $a
          v128.store offset=16384
          local.get $sum
          local.get $a
          f32x4.add
          local.set $sum
          ;; restore a (it was reused as a temporary)
          local.get $pass
          i32.const 5
          i32.rem_u
          i32.const 2
          i32.sub
          f32.convert_i32_s
          f32x4.splat
          local.set $a
          local.get $i
          i32.const 16
          i32.add
          local.tee $i
          i32.const 16384
          i32.lt_u
          br_if $l
        end
        ;; acc = acc * 31 + (i64) (sum lanes)
        local.get $acc
        i64.const 31
        i64.mul
        local.get $sum
        f32x4.extract_lane 0
        local.get $sum
        f32x4.extract_lane 1
        f32.add
        local.get $sum
        f32x4.extract_lane 2
        f32.add
        local.get $sum
        f32x4.extract_lane 3
        f32.add
        i64.trunc_sat_f32_s
        i64.add
        local.set $acc
        local.get $pass
        i32.const 1
        i32.add
        local.tee $pass
        local.get $n
        i32.lt_s
        br_if $pass_loop
      end
    end
    local.get $acc)

  (func $_start (export "_start")
    i32.const 300000
    call $run
    global.set $result))
