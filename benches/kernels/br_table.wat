;; br_table: a loop that dispatches through a 12-way br_table (plus default)
;; on a pseudo-random selector each iteration, like an interpreter's switch.
;;
;; Exports:
;;   run(n: i32) -> i64   n iterations, returns a checksum
;;   _start()             runs DEFAULT iterations, stores checksum in `result`
;; No imports.
(module
  (global $result (export "result") (mut i64) (i64.const 0))

  (func $run (export "run") (param $n i32) (result i64)
    (local $i i32) (local $x i32) (local $y i32) (local $acc i64)
    i32.const 0x2545F491
    local.set $x
    i32.const 7
    local.set $y
    block $done
      local.get $n
      i32.const 0
      i32.le_s
      br_if $done
      loop $loop
        block $join
          block $default
          block $c11
          block $c10
          block $c9
          block $c8
          block $c7
          block $c6
          block $c5
          block $c4
          block $c3
          block $c2
          block $c1
          block $c0
            ;; selector: 4 bits of a xorshift-ish state, 12 cases + default
            local.get $x
            i32.const 13
            i32.shr_u
            local.get $x
            i32.xor
            i32.const 15
            i32.and
            br_table $c0 $c1 $c2 $c3 $c4 $c5 $c6 $c7 $c8 $c9 $c10 $c11 $default
          end ;; c0
          local.get $x  i32.const 3  i32.add  local.set $x
          br $join
          end ;; c1
          local.get $x  i32.const 0x9E3779B9  i32.mul  local.set $x
          br $join
          end ;; c2
          local.get $x  local.get $y  i32.xor  local.set $x
          br $join
          end ;; c3
          local.get $x  i32.const 7  i32.rotl  local.set $x
          br $join
          end ;; c4
          local.get $y  local.get $x  i32.add  local.set $y
          local.get $x  i32.const 1  i32.add  local.set $x
          br $join
          end ;; c5
          local.get $x  i32.const 0xFFFF  i32.and  local.get $y  i32.add  local.get $x  i32.xor  local.set $x
          br $join
          end ;; c6
          local.get $x  i32.const 5  i32.shl  local.get $x  i32.add  i32.const 11  i32.add  local.set $x
          br $join
          end ;; c7
          local.get $x  i32.const 3  i32.shr_u  local.get $x  i32.xor  local.set $x
          br $join
          end ;; c8
          local.get $y  i32.const 1  i32.rotr  local.set $y
          local.get $x  local.get $y  i32.sub  local.set $x
          br $join
          end ;; c9
          local.get $x  i32.const 0x5bd1e995  i32.mul  i32.const 1  i32.or  local.set $x
          br $join
          end ;; c10
          local.get $x  i32.popcnt  local.get $x  i32.add  i32.const 0x1234567  i32.add  local.set $x
          br $join
          end ;; c11
          local.get $x  i32.clz  local.get $y  i32.add  local.set $y
          local.get $x  i32.const 0x27d4eb2d  i32.add  local.set $x
          br $join
        end ;; default
        local.get $x  i32.const -1  i32.xor  i32.const 0x61c88647  i32.add  local.set $x
        end ;; join
        ;; acc = acc * 31 + x
        local.get $acc
        i64.const 31
        i64.mul
        local.get $x
        i64.extend_i32_u
        i64.add
        local.set $acc
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
    local.get $y
    i64.extend_i32_u
    i64.xor)

  (func $_start (export "_start")
    i32.const 190000000
    call $run
    global.set $result))
