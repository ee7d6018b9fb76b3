;; call_indirect: a loop calling through a table of 8 functions of the same
;; type, selected by a data-dependent index each iteration.
;;
;; Exports:
;;   run(n: i32) -> i64   n iterations, returns a checksum
;;   _start()             runs DEFAULT iterations, stores checksum in `result`
;; No imports.
(module
  (type $binop (func (param i32 i32) (result i32)))
  (global $result (export "result") (mut i64) (i64.const 0))
  (table 8 8 funcref)
  (elem (i32.const 0) $f0 $f1 $f2 $f3 $f4 $f5 $f6 $f7)

  (func $f0 (type $binop) local.get 0 local.get 1 i32.add)
  (func $f1 (type $binop) local.get 0 local.get 1 i32.sub i32.const 0x9E3779B9 i32.xor)
  (func $f2 (type $binop) local.get 0 local.get 1 i32.xor i32.const 5 i32.rotl)
  (func $f3 (type $binop) local.get 0 local.get 1 i32.const 1 i32.or i32.mul)
  (func $f4 (type $binop) local.get 0 i32.const 7 i32.shr_u local.get 0 i32.xor local.get 1 i32.add)
  (func $f5 (type $binop) local.get 0 local.get 1 i32.const 31 i32.and i32.rotr i32.const 3 i32.add)
  (func $f6 (type $binop)
    local.get 0 local.get 1 i32.lt_u
    if (result i32)
      local.get 1 local.get 0 i32.sub
    else
      local.get 0 local.get 1 i32.sub i32.const 0x55 i32.xor
    end)
  (func $f7 (type $binop) local.get 0 i32.const 0x2c1b3c6d i32.mul local.get 1 i32.const 12 i32.shr_u i32.add)

  (func $run (export "run") (param $n i32) (result i64)
    (local $i i32) (local $x i32) (local $y i32) (local $acc i64)
    i32.const 0x12345678
    local.set $x
    i32.const 0x9abcdef0
    local.set $y
    block $done
      local.get $n
      i32.const 0
      i32.le_s
      br_if $done
      loop $loop
        ;; x = table[(x ^ x>>9 ^ i) & 7](x, y)
        local.get $x
        local.get $y
        local.get $x
        local.get $x
        i32.const 9
        i32.shr_u
        i32.xor
        local.get $i
        i32.xor
        i32.const 7
        i32.and
        call_indirect (type $binop)
        local.set $x
        ;; y = y * 1664525 + 1013904223
        local.get $y
        i32.const 1664525
        i32.mul
        i32.const 1013904223
        i32.add
        local.set $y
        local.get $acc
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
    local.get $x
    i64.extend_i32_u
    i64.const 32
    i64.shl
    i64.xor)

  (func $_start (export "_start")
    i32.const 100000000
    call $run
    global.set $result))
