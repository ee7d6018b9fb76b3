;; long_loop: one long-running loop directly inside _start (not in a callee),
;; ~1e9 simple iterations with several loop-carried locals.  Intended for
;; on-stack-replacement (OSR) experiments: a tiered engine only gets to
;; optimise this code if it can switch tiers in the middle of the loop.
;;
;; Exports:
;;   _start()             the loop with a fixed count of 1_000_000_000;
;;                        stores the checksum in the exported global `result`
;;   run(n: i32) -> i64   the same loop body with n iterations
;; No imports.
(module
  (global $result (export "result") (mut i64) (i64.const 0))

  (func $_start (export "_start")
    (local $i i32) (local $a i32) (local $b i32) (local $c i64)
    i32.const 1
    local.set $a
    i32.const 2
    local.set $b
    loop $loop
      ;; a = a * 5 + b
      local.get $a
      i32.const 5
      i32.mul
      local.get $b
      i32.add
      local.set $a
      ;; b = (b ^ a) >>> 3 + i
      local.get $b
      local.get $a
      i32.xor
      i32.const 3
      i32.shr_u
      local.get $i
      i32.add
      local.set $b
      ;; c += a
      local.get $c
      local.get $a
      i64.extend_i32_u
      i64.add
      local.set $c
      local.get $i
      i32.const 1
      i32.add
      local.tee $i
      i32.const 1000000000
      i32.lt_u
      br_if $loop
    end
    local.get $c
    local.get $b
    i64.extend_i32_u
    i64.xor
    global.set $result)

  (func $run (export "run") (param $n i32) (result i64)
    (local $i i32) (local $a i32) (local $b i32) (local $c i64)
    i32.const 1
    local.set $a
    i32.const 2
    local.set $b
    block $done
      local.get $n
      i32.eqz
      br_if $done
      loop $loop
        local.get $a
        i32.const 5
        i32.mul
        local.get $b
        i32.add
        local.set $a
        local.get $b
        local.get $a
        i32.xor
        i32.const 3
        i32.shr_u
        local.get $i
        i32.add
        local.set $b
        local.get $c
        local.get $a
        i64.extend_i32_u
        i64.add
        local.set $c
        local.get $i
        i32.const 1
        i32.add
        local.tee $i
        local.get $n
        i32.lt_u
        br_if $loop
      end
    end
    local.get $c
    local.get $b
    i64.extend_i32_u
    i64.xor))
