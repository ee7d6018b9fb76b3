;; Reads 16 random bytes to [0, 16) and the monotonic clock twice to [16, 24) and [24, 32),
;; with the resolution at [32, 40); exits with random_get's errno.
(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $time (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_res_get" (func $res (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $errno i32)
    (local.set $errno (call $random (i32.const 0) (i32.const 16)))
    (drop (call $time (i32.const 1) (i64.const 0) (i32.const 16)))
    (drop (call $time (i32.const 1) (i64.const 0) (i32.const 24)))
    (drop (call $res (i32.const 1) (i32.const 32)))
    (call $exit (local.get $errno))))
