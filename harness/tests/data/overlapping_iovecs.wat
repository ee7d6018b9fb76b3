;; The outside probe's fd_write case: 8,192 iovecs that all cover the whole memory. It writes
;; first to a descriptor that does not exist (must fail with EBADF at once), then to stderr
;; (at most u32::MAX bytes, reported in nwritten), prints "done" to stdout and spins until
;; killed, so the test can read the host's peak memory while the process is alive.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 16)
  (func (export "_start") (local $i i32) (local $err i32)
    ;; The iovec table at 0: every entry is (0, 1 MiB).
    (loop $fill
      (i32.store (i32.mul (local.get $i) (i32.const 8)) (i32.const 0))
      (i32.store offset=4 (i32.mul (local.get $i) (i32.const 8)) (i32.const 1048576))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 8192))))
    ;; A bad descriptor: EBADF (8), nothing allocated.
    (local.set $err (call $fd_write (i32.const 99) (i32.const 0) (i32.const 8192) (i32.const 1048572)))
    (if (i32.ne (local.get $err) (i32.const 8)) (then (call $proc_exit (i32.const 10))))
    ;; Stderr: the total is capped at u32::MAX.
    (local.set $err (call $fd_write (i32.const 2) (i32.const 0) (i32.const 8192) (i32.const 1048572)))
    (if (local.get $err) (then (call $proc_exit (i32.const 11))))
    (if (i32.ne (i32.load (i32.const 1048572)) (i32.const -1))
      (then (call $proc_exit (i32.const 12))))
    ;; "done\n" on stdout: one iovec at 1048560.
    (i64.store (i32.const 1048560) (i64.const 0x0a656e6f64))
    (i32.store (i32.const 1048544) (i32.const 1048560))
    (i32.store (i32.const 1048548) (i32.const 5))
    (drop (call $fd_write (i32.const 1) (i32.const 1048544) (i32.const 1) (i32.const 1048572)))
    (loop $spin (br $spin))))
