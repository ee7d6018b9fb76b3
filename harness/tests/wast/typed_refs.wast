;; Typed function references across signatures and modules: precise types in call_indirect's
;; signature check and in import matching of functions and globals (beyond
;; proposals/function-references/linking.wast, which matches only globals and tables).

(module
  (type $u (func (param i32) (result i32)))
  (type $f (func (param (ref $u)) (result i32)))
  (type $g (func (param funcref) (result i32)))
  (type $h (func (result (ref null $u))))
  (type $k (func (result funcref)))
  (table 3 funcref)
  (elem (i32.const 0) $callee $plain $ret)
  (func $callee (type $f) (i32.const 1))
  (func $plain (type $g) (i32.const 2))
  (func $ret (type $h) (ref.null $u))
  ;; A function taking (ref $u) called through a funcref signature would receive a null or
  ;; a function of any type, which call_ref trusts: the signatures must differ.
  (func (export "typed-as-plain") (result i32)
    (call_indirect (type $g) (ref.null func) (i32.const 0)))
  (func (export "plain") (result i32)
    (call_indirect (type $g) (ref.null func) (i32.const 1)))
  (func (export "result-typed-as-plain") (result i32)
    (ref.is_null (call_indirect (type $k) (i32.const 2))))
)
(assert_trap (invoke "typed-as-plain") "indirect call type mismatch")
(assert_return (invoke "plain") (i32.const 2))
(assert_trap (invoke "result-typed-as-plain") "indirect call type mismatch")

(module $A
  (type $u (func (param i32) (result i32)))
  (type $s (func (param (ref $u))))
  (func (export "f") (type $s))
  (global (export "g") (ref $s) (ref.func 0))
  (global (export "gm") (mut (ref null $s)) (ref.null $s))
  (table (export "t") 1 (ref null $s))
)
(register "A" $A)

;; The same structure in another module is the same type.
(module
  (type $v (func (param i32) (result i32)))
  (type $s (func (param (ref $v))))
  (import "A" "f" (func (type $s)))
  (import "A" "g" (global (ref $s)))
  (import "A" "g" (global (ref null $s)))
  (import "A" "g" (global (ref func)))
  (import "A" "g" (global funcref))
  (import "A" "gm" (global (mut (ref null $s))))
  (import "A" "t" (table 1 (ref null $s)))
)
(assert_unlinkable
  (module
    (type $v (func (param i32) (result i32)))
    (type $s (func (param (ref null $v))))
    (import "A" "f" (func (type $s))))
  "incompatible import type")
(assert_unlinkable
  (module
    (type $s (func (param funcref)))
    (import "A" "f" (func (type $s))))
  "incompatible import type")
(assert_unlinkable
  (module
    (type $v (func (param i64) (result i32)))
    (type $s (func (param (ref $v))))
    (import "A" "g" (global (ref $s))))
  "incompatible import type")
(assert_unlinkable
  (module (import "A" "gm" (global (mut funcref))))
  "incompatible import type")
(assert_unlinkable
  (module (import "A" "t" (table 1 funcref)))
  "incompatible import type")

;; Tags: a payload of (ref $u) is not a funcref payload.
(module $T
  (type $u (func (param i32) (result i32)))
  (tag (export "e") (param (ref $u)))
)
(register "T" $T)
(module
  (type $v (func (param i32) (result i32)))
  (import "T" "e" (tag (param (ref $v))))
)
(assert_unlinkable
  (module (import "T" "e" (tag (param funcref))))
  "incompatible import type")
