//! Typed function references in generated modules. wasm-smith generates `call_ref`,
//! `return_call_ref`, `ref.as_non_null`, `br_on_null` and `br_on_non_null` only with its GC
//! switch on, which also brings GC types and instructions Strata does not implement. So the
//! generator rewrites the direct calls of a module instead, each into an equivalent sequence
//! through a typed reference `(ref $t)` to the same function (by the spec the same call with
//! the same arguments), cycling through the operators:
//!
//! - `ref.func $f` `call_ref $t`
//! - `ref.func $f` `ref.as_non_null` `call_ref $t`
//! - `block (result (ref $t))` `ref.func $f` `br_on_non_null 0` `unreachable` `end`
//!   `call_ref $t` (the branch is taken)
//! - `block` `ref.null $t` `br_on_null 0` `drop` `end` `ref.func $f` `call_ref $t` (the
//!   branch is taken, the fall-through is dead)
//!
//! and `return_call $f` into `ref.func $f` (`ref.as_non_null`) `return_call_ref $t`. Only
//! calls to functions a `ref.func` may name (exported ones: wasm-smith exports everything)
//! are rewritten.

use wasm_encoder::reencode::{Error as ReencodeError, Reencode};
use wasm_encoder::{BlockType, CodeSection, HeapType, Instruction, RefType, ValType};
use wasmparser::Operator;

/// `wasm` with its direct calls through typed references, or `None` when it has no call to
/// rewrite or cannot be read.
pub fn typed_references(wasm: &[u8]) -> Option<Vec<u8>> {
    let mut func_types = Vec::new();
    let mut declared = Vec::new();
    let mut calls = false;
    for payload in wasmparser::Parser::new(0).parse_all(wasm) {
        match payload.ok()? {
            wasmparser::Payload::ImportSection(s) => {
                for import in s.into_imports() {
                    if let wasmparser::TypeRef::Func(t) = import.ok()?.ty {
                        func_types.push(t);
                    }
                }
            }
            wasmparser::Payload::FunctionSection(s) => {
                for t in s {
                    func_types.push(t.ok()?);
                }
            }
            wasmparser::Payload::ExportSection(s) => {
                for e in s {
                    let e = e.ok()?;
                    if e.kind == wasmparser::ExternalKind::Func {
                        declared.push(e.index);
                    }
                }
            }
            wasmparser::Payload::CodeSectionEntry(body) => {
                let mut reader = body.get_operators_reader().ok()?;
                while !reader.eof() {
                    if matches!(
                        reader.read().ok()?,
                        Operator::Call { .. } | Operator::ReturnCall { .. }
                    ) {
                        calls = true;
                    }
                }
            }
            _ => {}
        }
    }
    if !calls {
        return None;
    }
    let mut r = TypedRefs {
        func_types,
        declared,
        next: 0,
    };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .ok()?;
    Some(module.finish())
}

struct TypedRefs {
    /// The type index of every function (imports first).
    func_types: Vec<u32>,
    /// Functions a `ref.func` may name.
    declared: Vec<u32>,
    /// Which rewriting the next call gets.
    next: u32,
}

impl TypedRefs {
    /// The instructions that push a non-null `(ref $t)` to function `f`.
    fn reference(&mut self, f: u32, t: u32, out: &mut Vec<Instruction<'static>>) {
        let typed = ValType::Ref(RefType {
            nullable: false,
            heap_type: HeapType::Concrete(t),
        });
        let variant = self.next % 4;
        self.next += 1;
        match variant {
            0 => out.push(Instruction::RefFunc(f)),
            1 => out.extend([Instruction::RefFunc(f), Instruction::RefAsNonNull]),
            2 => out.extend([
                Instruction::Block(BlockType::Result(typed)),
                Instruction::RefFunc(f),
                Instruction::BrOnNonNull(0),
                Instruction::Unreachable,
                Instruction::End,
            ]),
            _ => out.extend([
                Instruction::Block(BlockType::Empty),
                Instruction::RefNull(HeapType::Concrete(t)),
                Instruction::BrOnNull(0),
                Instruction::Drop,
                Instruction::End,
                Instruction::RefFunc(f),
            ]),
        }
    }
}

impl Reencode for TypedRefs {
    type Error = std::convert::Infallible;

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Self::Error>> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        let mut seq = Vec::new();
        while !reader.eof() {
            let op = reader.read()?;
            let (f_index, tail) = match op {
                Operator::Call { function_index } => (function_index, false),
                Operator::ReturnCall { function_index } => (function_index, true),
                _ => {
                    f.instruction(&self.instruction(op)?);
                    continue;
                }
            };
            let ty = self.func_types.get(f_index as usize).copied();
            match ty {
                Some(t) if self.declared.contains(&f_index) => {
                    seq.clear();
                    self.reference(f_index, t, &mut seq);
                    seq.push(if tail {
                        Instruction::ReturnCallRef(t)
                    } else {
                        Instruction::CallRef(t)
                    });
                    for i in &seq {
                        f.instruction(i);
                    }
                }
                _ => {
                    f.instruction(&self.instruction(op)?);
                }
            }
        }
        code.function(&f);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_become_reference_calls_with_the_same_results() {
        let wat = r#"(module
          (func $sq (export "sq") (param i32) (result i32) local.get 0 local.get 0 i32.mul)
          (func $t (export "t") (param i32) (result i32) local.get 0 return_call $sq)
          (func (export "run") (param i32) (result i32)
            (call $sq (local.get 0)) (call $sq (local.get 0)) i32.add
            (call $sq (local.get 0)) i32.add (call $sq (local.get 0)) i32.add
            (call $t (local.get 0)) i32.add))"#;
        let wasm = wat::parse_str(wat).unwrap();
        let out = typed_references(&wasm).unwrap();
        strata::validate(&out).unwrap();
        let text = wasmprinter::print_bytes(&out).unwrap();
        for op in [
            "call_ref",
            "return_call_ref",
            "ref.as_non_null",
            "br_on_null",
            "br_on_non_null",
        ] {
            assert!(text.contains(op), "{op} missing:\n{text}");
        }
        assert!(!text.contains("call $"), "{text}");
        let engine = strata::Engine::default();
        let module = strata::Module::new(&engine, &out).unwrap();
        let mut store = strata::Store::new(&engine);
        let inst = strata::Instance::new(&mut store, &module, &strata::Imports::new()).unwrap();
        let run = inst.get_func(&store, "run").unwrap();
        let r = run.call(&mut store, &[strata::Val::I32(3)]).unwrap();
        assert_eq!(format!("{r:?}"), format!("{:?}", [strata::Val::I32(45)]));
    }
}
