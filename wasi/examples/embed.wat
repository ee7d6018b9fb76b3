;; The guest of examples/embed.rs: reads `input.txt` from its preopened directory (fd 3),
;; asks the host to shout it (`host.shout` upper-cases the bytes in place and counts the
;; calls in the store's host state), writes the result to stdout and to `output.txt` beside
;; the input, and returns the number of bytes.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "host" "shout" (func $shout (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; 0: new fd, 16: iovec, 24: count, 64: "input.txt", 96: "output.txt", 1024: buffer
  (data (i32.const 64) "input.txt")
  (data (i32.const 96) "output.txt")
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $proc_exit (i32.add (i32.const 100) (local.get $errno))))))
  (func (export "run") (result i32) (local $fd i32) (local $n i32)
    ;; open input.txt for reading (rights: FD_READ)
    (call $check (call $path_open (i32.const 3) (i32.const 1) (i32.const 64) (i32.const 9)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
    (local.set $fd (i32.load (i32.const 0)))
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 4096))
    (call $check (call $fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24)))
    (local.set $n (i32.load (i32.const 24)))
    (drop (call $fd_close (local.get $fd)))
    ;; the host upper-cases the bytes
    (drop (call $shout (i32.const 1024) (local.get $n)))
    (i32.store (i32.const 20) (local.get $n))
    (call $check (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    ;; create output.txt (oflags CREAT|TRUNC, rights FD_WRITE) and write the same bytes
    (call $check (call $path_open (i32.const 3) (i32.const 0) (i32.const 96) (i32.const 10)
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 0)))
    (local.set $fd (i32.load (i32.const 0)))
    (call $check (call $fd_write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24)))
    (drop (call $fd_close (local.get $fd)))
    (local.get $n)))
