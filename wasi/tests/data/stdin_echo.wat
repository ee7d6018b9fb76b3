;; Copies stdin to stdout until end-of-file, then tries a descriptor that is not open (must be
;; EBADF = 8) and one that is open for reading only (stdin: writing it must fail), and exits
;; with 0 only if both failed as they should.
(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; 0: iovec { 1024, 7 } (small, so several reads are needed), 8: count
  (func (export "_start") (local $n i32)
    (loop $more
      (i32.store (i32.const 0) (i32.const 1024))
      (i32.store (i32.const 4) (i32.const 7))
      (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8))
        (then (call $proc_exit (i32.const 20))))
      (local.set $n (i32.load (i32.const 8)))
      (if (local.get $n)
        (then
          (i32.store (i32.const 4) (local.get $n))
          (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
          (br $more))))
    (if (i32.ne (call $fd_write (i32.const 99) (i32.const 0) (i32.const 1) (i32.const 8))
                (i32.const 8))
      (then (call $proc_exit (i32.const 21))))
    (if (i32.eqz (call $fd_write (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
      (then (call $proc_exit (i32.const 22))))
    (call $proc_exit (i32.const 0))))
