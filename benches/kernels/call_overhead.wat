;; call_overhead: a tight loop that calls a small function on every iteration.
;;
;; Exports:
;;   run(n: i32) -> i64   n iterations, returns a checksum
;;   _start()             runs DEFAULT iterations and stores the checksum in
;;                        the exported global `result`
;; No imports (WASI-free).
(module
  (global $result (export "result") (mut i64) (i64.const 0))

  ;; the callee: small, but not an identity, so its result is needed
  (func $step (param $x i32) (param $i i32) (result i32)
    local.get $x
    i32.const 1664525
    i32.mul
    local.get $i
    i32.add
    i32.const 1013904223
    i32.xor)

  ;; a second callee with an i64 result, called every 16th iteration
  (func $widen (param $x i32) (param $acc i64) (result i64)
    local.get $acc
    local.get $x
    i64.extend_i32_u
    i64.add
    i64.const 31
    i64.rotl)

  (func $run (export "run") (param $n i32) (result i64)
    (local $i i32) (local $x i32) (local $acc i64)
    i32.const 12345
    local.set $x
    block $done
      local.get $n
      i32.const 0
      i32.le_s
      br_if $done
      loop $loop
        local.get $x
        local.get $i
        call $step
        local.set $x
        ;; every 16th iteration: an extra call with an i64 result
        local.get $i
        i32.const 15
        i32.and
        i32.eqz
        if
          local.get $x
          local.get $acc
          call $widen
          local.set $acc
        end
        local.get $i
        i32.const 1
        i32.add
        local.tee $i
        local.get $n
        i32.lt_s
        br_if $loop
      end
    end
    local.get $acc
    local.get $x
    i64.extend_i32_u
    i64.xor)

  (func $_start (export "_start")
    i32.const 420000000
    call $run
    global.set $result))
