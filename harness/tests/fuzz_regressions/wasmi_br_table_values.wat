;; Found by `strata fuzz --oracle wasmi` (fuzz seed 10859648): wasmi 2.0.0 returned
;; [i32:0, funcref:null] where every Strata configuration returned [i32:1731803295,
;; funcref:null]. Reduced with wasm-tools shrink, a line reducer and by hand.
;;
;; A wasmi bug. When all targets of a `br_table` start at the same stack height (here the
;; block and the function body, both at 0), wasmi copies no branch values to the target,
;; assuming they are already in place. Here they are not: the block's parameter is still on
;; the stack below the two values that `call $g` returned, and the block (default target,
;; the index is 5) reads the parameter, 0, as its first result. By the spec `f` returns
;; [1, null]. wasmtime 48 agrees with Strata (`wasmtime run --invoke f` on this file with the
;; argument 5 prints 1 and a null funcref), and so does wasmi once the `br_table` is written
;; as a chain of `br_if`s on a new local holding the index, which changes nothing by the spec.
(module
  (type $t (func (param i32) (result i32 funcref)))
  (global (mut i32) (i32.const 0))
  (func (export "f") (type $t)
    global.get 0
    block (type $t)
      i32.const 1
      call $g
      local.get 0
      br_table 0 1 0
    end)
  (func $g (type $t)
    i32.const 1
    ref.null func))
