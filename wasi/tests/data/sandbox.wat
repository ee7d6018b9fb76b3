;; Opens paths under the first preopened directory (descriptor 3), for --invoke:
;;   cat(ptr, len) -> errno   prints the start of the file at the path (ptr, len), returns 0,
;;                            or returns path_open's errno
;;   bad_pointer() -> errno   fd_write with an iovec outside memory (EFAULT = 21)
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 256) "../outside")          ;; 10 bytes
  (data (i32.const 288) "/etc/passwd")         ;; 11
  (data (i32.const 320) "sub/../../outside")   ;; 17
  (data (i32.const 352) "escape")              ;; 6: a symbolic link the test makes
  (data (i32.const 384) "inside.txt")          ;; 10
  (func (export "cat") (param $path i32) (param $len i32) (result i32)
    (local $errno i32) (local $fd i32)
    ;; lookupflags = SYMLINK_FOLLOW, oflags = 0, rights = FD_READ; the new fd goes to 0
    (local.set $errno
      (call $path_open (i32.const 3) (i32.const 1) (local.get $path) (local.get $len)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 0)))
    (if (local.get $errno) (then (return (local.get $errno))))
    (local.set $fd (i32.load (i32.const 0)))
    ;; iovec at 16: { 1024, 512 }; nread at 24
    (i32.store (i32.const 16) (i32.const 1024))
    (i32.store (i32.const 20) (i32.const 512))
    (drop (call $fd_read (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 24)))
    (i32.store (i32.const 20) (i32.load (i32.const 24)))
    (drop (call $fd_write (i32.const 1) (i32.const 16) (i32.const 1) (i32.const 24)))
    (call $fd_close (local.get $fd)))
  (func (export "bad_pointer") (result i32)
    (call $fd_write (i32.const 1) (i32.const 65532) (i32.const 1) (i32.const 0))))
