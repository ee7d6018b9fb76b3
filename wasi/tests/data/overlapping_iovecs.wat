;; The outside probe's fd_write case, for the library: 8,192 iovecs that all cover the whole
;; 1 MiB memory. `write(fd) -> errno` writes them to `fd` and leaves nwritten at 1048572
;; (the last word of memory, which the iovecs also cover).
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 16)
  (func $fill (local $i i32)
    (loop $next
      (i32.store (i32.mul (local.get $i) (i32.const 8)) (i32.const 0))
      (i32.store offset=4 (i32.mul (local.get $i) (i32.const 8)) (i32.const 1048576))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $next (i32.lt_u (local.get $i) (i32.const 8192)))))
  (func (export "write") (param $fd i32) (result i32)
    (call $fill)
    (call $fd_write (local.get $fd) (i32.const 0) (i32.const 8192) (i32.const 1048572)))
  (func (export "nwritten") (result i32) (i32.load (i32.const 1048572))))
