;; time-to-peak: long_loop's loop body (benches/kernels/long_loop.wat) in one long call,
;; reporting its progress: after every `per_tick` iterations it calls the host's `tick`,
;; which records the time. The loop is a nested loop inside the one call of `run`, so a
;; tiered engine speeds it up only by OSR; the tick call keeps the loop observable without
;; changing its work (one host call per `per_tick` iterations).
;;
;;   run(ticks: i32, per_tick: i32) -> i64   ticks * per_tick iterations; the checksum
(module
  (import "env" "tick" (func $tick))
  (func (export "run") (param $ticks i32) (param $per i32) (result i64)
    (local $i i32) (local $a i32) (local $b i32) (local $c i64) (local $j i32)
    i32.const 1
    local.set $a
    i32.const 2
    local.set $b
    block $done
      local.get $ticks
      i32.eqz
      br_if $done
      loop $outer
        i32.const 0
        local.set $j
        loop $inner
          ;; a = a * 5 + b
          local.get $a
          i32.const 5
          i32.mul
          local.get $b
          i32.add
          local.set $a
          ;; b = ((b ^ a) >> 3) + i
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
          local.set $i
          local.get $j
          i32.const 1
          i32.add
          local.tee $j
          local.get $per
          i32.lt_u
          br_if $inner
        end
        call $tick
        local.get $ticks
        i32.const 1
        i32.sub
        local.tee $ticks
        br_if $outer
      end
    end
    local.get $c
    local.get $b
    i64.extend_i32_u
    i64.xor))
