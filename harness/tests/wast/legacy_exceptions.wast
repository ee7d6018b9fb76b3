;; Legacy exception handling (try/catch/catch_all/delegate/rethrow), which toolchains still
;; emit and the spec suites do not cover. Expected results follow the legacy proposal's
;; semantics (as V8 and wasmtime run them).

(module
  (tag $e0)
  (tag $e1 (param i32))
  (tag $e2 (param i32 i64))
  (tag $ev (param v128))

  (func $throw-if (param i32)
    (if (i32.eqz (local.get 0)) (then (throw $e0)))
    (if (i32.eq (local.get 0) (i32.const 1)) (then (throw $e1 (i32.const 11))))
    (if (i32.eq (local.get 0) (i32.const 2)) (then (throw $e2 (i32.const 21) (i64.const 22)))))

  ;; Which catch clause runs, by tag.
  (func (export "dispatch") (param i32) (result i32)
    try (result i32)
      local.get 0 call $throw-if
      i32.const 100
    catch $e0
      i32.const 0
    catch $e1
      i32.const 1000 i32.add
    catch $e2
      i32.wrap_i64 i32.add
    end)

  ;; catch_all after catches.
  (func (export "catch-all") (param i32) (result i32)
    try (result i32)
      local.get 0 call $throw-if
      i32.const 100
    catch $e1
      drop i32.const 1
    catch_all
      i32.const 2
    end)

  ;; A try without catch clauses is a block.
  (func (export "no-catch") (param i32) (result i32)
    try (result i32)
      local.get 0
    end)

  ;; rethrow from a catch clause reaches the outer try.
  (func (export "rethrow") (param i32) (result i32)
    try (result i32)
      try (result i32)
        local.get 0 call $throw-if
        i32.const 100
      catch $e1
        drop rethrow 0
      catch_all
        rethrow 0
      end
    catch $e1
      i32.const 1 i32.add
    catch_all
      i32.const -1
    end)

  ;; rethrow of the outer catch's exception from inside an inner catch.
  (func (export "rethrow-outer") (result i32)
    try (result i32)
      try (result i32)
        throw $e0
      catch $e0
        try (result i32)
          i32.const 1 call $throw-if
          i32.const 5
        catch_all
          rethrow 1
        end
      end
    catch $e0
      i32.const 7
    end)

  ;; delegate 0 goes to the enclosing try, delegate 1 skips it.
  (func (export "delegate") (param i32) (result i32)
    try (result i32)
      try (result i32)
        try
          local.get 0 call $throw-if
        delegate 0
        i32.const 100
      catch $e1
        drop i32.const 1
      end
    catch_all
      i32.const 2
    end)
  (func (export "delegate-skip") (param i32) (result i32)
    try (result i32)
      try (result i32)
        try
          local.get 0 call $throw-if
        delegate 1
        i32.const 100
      catch $e1
        drop i32.const 1
      end
    catch_all
      i32.const 2
    end)
  ;; delegate to the function label: the exception leaves the function.
  (func (export "delegate-out") (param i32) (result i32)
    try (result i32)
      try
        local.get 0 call $throw-if
      delegate 1
      i32.const 100
    catch_all
      i32.const 2
    end)

  ;; An exception thrown in a catch clause is not caught by that try.
  (func (export "throw-in-catch") (result i32)
    try (result i32)
      try (result i32)
        throw $e0
      catch $e0
        i32.const 5 throw $e1
      end
    catch $e1
    end)

  ;; Block parameters and results through try, and a loop back into it.
  (func (export "loop") (param i32) (result i32)
    (local i32)
    loop $l
      try
        local.get 0 throw $e1
      catch $e1
        local.get 1 i32.add local.set 1
      end
      local.get 0 i32.const 1 i32.sub local.tee 0
      br_if $l
    end
    local.get 1)

  ;; A v128 payload.
  (func (export "v128") (result i64)
    try (result i64)
      v128.const i64x2 3 4 throw $ev
    catch $ev
      i64x2.extract_lane 1
    end)

  ;; Traps are not caught.
  (func (export "trap") (result i32)
    try (result i32)
      unreachable
    catch_all
      i32.const 1
    end)

  ;; try_table inside a legacy catch, and a legacy try inside a try_table.
  (func (export "mixed") (param i32) (result i32)
    (block $h (result i32)
      (try_table (result i32) (catch $e1 $h)
        try (result i32)
          local.get 0 call $throw-if
          i32.const 100
        catch $e0
          i32.const 3 throw $e1
        end))
    i32.const 1000 i32.add)
)

(assert_return (invoke "dispatch" (i32.const 0)) (i32.const 0))
(assert_return (invoke "dispatch" (i32.const 1)) (i32.const 1011))
(assert_return (invoke "dispatch" (i32.const 2)) (i32.const 43))
(assert_return (invoke "dispatch" (i32.const 3)) (i32.const 100))
(assert_return (invoke "catch-all" (i32.const 0)) (i32.const 2))
(assert_return (invoke "catch-all" (i32.const 1)) (i32.const 1))
(assert_return (invoke "catch-all" (i32.const 3)) (i32.const 100))
(assert_return (invoke "no-catch" (i32.const 9)) (i32.const 9))
(assert_return (invoke "rethrow" (i32.const 0)) (i32.const -1))
(assert_return (invoke "rethrow" (i32.const 1)) (i32.const 12))
(assert_return (invoke "rethrow" (i32.const 3)) (i32.const 100))
(assert_return (invoke "rethrow-outer") (i32.const 7))
(assert_return (invoke "delegate" (i32.const 1)) (i32.const 1))
(assert_return (invoke "delegate" (i32.const 0)) (i32.const 2))
(assert_return (invoke "delegate" (i32.const 3)) (i32.const 100))
(assert_return (invoke "delegate-skip" (i32.const 1)) (i32.const 2))
(assert_return (invoke "delegate-skip" (i32.const 3)) (i32.const 100))
(assert_exception (invoke "delegate-out" (i32.const 1)))
(assert_return (invoke "delegate-out" (i32.const 3)) (i32.const 100))
(assert_return (invoke "throw-in-catch") (i32.const 5))
(assert_return (invoke "loop" (i32.const 10)) (i32.const 55))
(assert_return (invoke "v128") (i64.const 4))
(assert_trap (invoke "trap") "unreachable")
(assert_return (invoke "mixed" (i32.const 0)) (i32.const 1003))
(assert_return (invoke "mixed" (i32.const 1)) (i32.const 1011))
(assert_return (invoke "mixed" (i32.const 3)) (i32.const 1100))
(assert_exception (invoke "mixed" (i32.const 2)))

(assert_invalid
  (module (func try catch_all rethrow 1 end))
  "invalid rethrow label"
)
