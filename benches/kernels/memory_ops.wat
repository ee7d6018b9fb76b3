;; memory_ops: memory.fill and memory.copy (bulk memory) in a loop, with
;; varying lengths and offsets, plus a few loads to keep the results live.
;;
;; Memory: 4 pages (256 KiB).  Each iteration fills a block of 256..4351
;; bytes at a pseudo-random offset, copies it (overlapping or not) to
;; another offset, and folds two loaded words into the checksum.
;;
;; Exports:
;;   run(n: i32) -> i64   n iterations, returns a checksum
;;   _start()             runs DEFAULT iterations, stores checksum in `result`
;;   memory
;; No imports.  Requires the bulk-memory proposal.
(module
  (memory (export "memory") 4 4)
  (global $result (export "result") (mut i64) (i64.const 0))

  (func $run (export "run") (param $n i32) (result i64)
    (local $i i32) (local $x i32) (local $len i32) (local $src i32) (local $dst i32)
    (local $acc i64)
    i32.const 0x1234567
    local.set $x
    block $done
      local.get $n
      i32.const 0
      i32.le_s
      br_if $done
      loop $loop
        ;; x = x * 1103515245 + 12345
        local.get $x
        i32.const 1103515245
        i32.mul
        i32.const 12345
        i32.add
        local.set $x
        ;; len = 256 + (x >> 8) % 4096
        local.get $x
        i32.const 8
        i32.shr_u
        i32.const 4095
        i32.and
        i32.const 256
        i32.add
        local.set $len
        ;; src = (x >> 4) & 0xFFFF  (< 64 KiB, region [0, 68 KiB))
        local.get $x
        i32.const 4
        i32.shr_u
        i32.const 0xFFFF
        i32.and
        local.set $src
        ;; dst = 0x10000 + ((x >> 14) & 0x1FFFF), region [64 KiB, 196 KiB)
        ;; sometimes overlapping with src: dst = src + (x & 63)
        local.get $x
        i32.const 3
        i32.and
        if (result i32)
          local.get $x
          i32.const 14
          i32.shr_u
          i32.const 0x1FFFF
          i32.and
          i32.const 0x10000
          i32.add
        else
          local.get $src
          local.get $x
          i32.const 63
          i32.and
          i32.add
        end
        local.set $dst
        ;; memory.fill(src, x & 0xFF, len)
        local.get $src
        local.get $x
        local.get $len
        memory.fill
        ;; store the iteration number in the block so copies carry data
        local.get $src
        local.get $i
        i32.store
        ;; memory.copy(dst, src, len)
        local.get $dst
        local.get $src
        local.get $len
        memory.copy
        ;; acc = acc * 31 + load(dst + len - 4) + load(dst)
        local.get $acc
        i64.const 31
        i64.mul
        local.get $dst
        local.get $len
        i32.add
        i32.const 4
        i32.sub
        i32.load
        i64.extend_i32_u
        i64.add
        local.get $dst
        i32.load
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
    local.get $acc)

  (func $_start (export "_start")
    i32.const 14000000
    call $run
    global.set $result))
