;; A module following the Sightglass benchmark protocol: the work between the
;; `bench.start` and `bench.end` calls is what is measured.
(module
  (import "bench" "start" (func $start))
  (import "bench" "end" (func $end))
  (func (export "_start")
    (local $i i32)
    call $start
    (loop $l
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
    call $end))
