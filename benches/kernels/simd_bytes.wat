;; simd_bytes: byte-wise SIMD, the kind of code string and codec libraries
;; run: per 16 bytes, a nibble lookup with i8x16.swizzle, an interleave with
;; i8x16.shuffle, saturating adds, i8x16.eq against a splat, i8x16.bitmask and
;; popcnt, and v128 bit operations (and, or, xor, bitselect).
;;
;; Memory: 1 page; the input is 32 KiB at 0, the output 32 KiB at 32 KiB.
;;
;; Exports:
;;   run(n: i32) -> i64   n passes over the input, returns a checksum
;;   _start()             runs DEFAULT passes, stores the checksum in `result`
;;   memory
;; No imports. Requires SIMD.
(module
  (memory (export "memory") 1 1)
  (global $result (export "result") (mut i64) (i64.const 0))

  (func $init
    (local $i i32) (local $x i32)
    i32.const 88172645
    local.set $x
    loop $l
      local.get $x
      local.get $x
      i32.const 13
      i32.shl
      i32.xor
      local.tee $x
      local.get $x
      i32.const 17
      i32.shr_u
      i32.xor
      local.tee $x
      local.get $x
      i32.const 5
      i32.shl
      i32.xor
      local.set $x
      local.get $i
      local.get $x
      i32.store
      local.get $i
      i32.const 4
      i32.add
      local.tee $i
      i32.const 32768
      i32.lt_u
      br_if $l
    end)

  (func $run (export "run") (param $n i32) (result i64)
    (local $pass i32) (local $i i32) (local $v v128) (local $h v128) (local $l v128)
    (local $count i32) (local $acc i64) (local $mix v128)
    call $init
    v128.const i8x16 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a 0x5a
    local.set $mix
    block $done
      local.get $n
      i32.const 0
      i32.le_s
      br_if $done
      loop $pass_loop
        i32.const 0
        local.set $i
        i32.const 0
        local.set $count
        loop $l
          local.get $i
          v128.load
          local.set $v
          ;; h = table[v >> 4], l = table[v & 15]
          v128.const i8x16 48 49 50 51 52 53 54 55 56 57 97 98 99 100 101 102
          local.get $v
          i32.const 4
          i8x16.shr_u
          i8x16.swizzle
          local.set $h
          v128.const i8x16 48 49 50 51 52 53 54 55 56 57 97 98 99 100 101 102
          local.get $v
          v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15
          v128.and
          i8x16.swizzle
          local.set $l
          ;; out = interleave(h, l) (low halves), saturating-added to the mix
          local.get $i
          local.get $h
          local.get $l
          i8x16.shuffle 0 16 1 17 2 18 3 19 4 20 5 21 6 22 7 23
          local.get $mix
          i8x16.add_sat_u
          v128.store offset=32768
          ;; count bytes equal to 'a'
          local.get $count
          local.get $h
          i32.const 97
          i8x16.splat
          i8x16.eq
          i8x16.bitmask
          i32.popcnt
          i32.add
          local.set $count
          ;; mix = bitselect(mix ^ v, l, h) — a data-dependent running state
          local.get $mix
          local.get $v
          v128.xor
          local.get $l
          local.get $h
          v128.bitselect
          local.get $v
          v128.or
          local.set $mix
          local.get $i
          i32.const 16
          i32.add
          local.tee $i
          i32.const 32768
          i32.lt_u
          br_if $l
        end
        local.get $acc
        i64.const 31
        i64.mul
        local.get $count
        i64.extend_i32_u
        i64.add
        local.get $mix
        i64x2.extract_lane 0
        i64.xor
        local.get $mix
        i64x2.extract_lane 1
        i64.add
        local.set $acc
        ;; perturb the input so passes differ
        local.get $pass
        i32.const 4
        i32.shl
        i32.const 32767
        i32.and
        local.get $pass
        i32.store8
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
    i32.const 60000
    call $run
    global.set $result))
