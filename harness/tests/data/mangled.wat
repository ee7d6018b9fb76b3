;; Mangled Rust and C++ names in the name section, and a recursion 51 frames deep that
;; ends in `unreachable`: the CLI must print them demangled, the recursion folded.
(module $app
  (func $_ZN3app4deep17h0123456789abcdefE (param i32)
    (if (local.get 0) (then (call $_ZN3app4deep17h0123456789abcdefE (i32.sub (local.get 0) (i32.const 1)))) (else unreachable)))
  (func $_Z5entryv (export "entry") (call $_ZN3app4deep17h0123456789abcdefE (i32.const 50))))
