;; For `--fuel` and `--timeout`: `spin` never returns; `count n` passes 2n + 1
;; interruption points (its entry, n loop headers, n calls of $f).
(module
  (func $f (param i32) (result i32) local.get 0)
  (func (export "spin") (loop $l br $l))
  (func (export "count") (param $n i32) (result i32)
    (local $i i32)
    (loop $l
      (local.set $i (call $f (i32.add (local.get $i) (i32.const 1))))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n))))
    local.get $i))
