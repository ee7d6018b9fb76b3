//! IR value types: every type the other tiers run (`v128` is listed for when SIMD lands).

pub use strata_vm::ValType as Type;

/// All types, in text-form order.
pub const ALL_TYPES: [Type; 8] = [
    Type::I32,
    Type::I64,
    Type::F32,
    Type::F64,
    Type::V128,
    Type::FuncRef,
    Type::ExternRef,
    Type::ExnRef,
];

/// The text name of a type (`i32`, `funcref`...).
pub fn type_name(t: Type) -> &'static str {
    match t {
        Type::I32 => "i32",
        Type::I64 => "i64",
        Type::F32 => "f32",
        Type::F64 => "f64",
        Type::V128 => "v128",
        Type::FuncRef => "funcref",
        Type::ExternRef => "externref",
        Type::ExnRef => "exnref",
    }
}

/// Parses a type's text name.
pub fn type_from_name(s: &str) -> Option<Type> {
    ALL_TYPES.into_iter().find(|t| type_name(*t) == s)
}

/// Size in bytes of a value of this type in memory (references: one cell).
pub fn type_bytes(t: Type) -> u32 {
    match t {
        Type::I32 | Type::F32 => 4,
        Type::I64 | Type::F64 | Type::FuncRef | Type::ExternRef | Type::ExnRef => 8,
        Type::V128 => 16,
    }
}
