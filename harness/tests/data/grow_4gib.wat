;; Grows its exported memory to 4 GiB and writes a byte near the end: `strata diff` must
;; compare such a module in bounded host memory.
(module
  (memory (export "m") 1)
  (func (export "grow") (result i32)
    (drop (memory.grow (i32.const 65535)))
    (i32.store8 (i32.const -1) (i32.const 7))
    (memory.size)))
