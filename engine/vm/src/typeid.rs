//! Canonical identities of function types, shared by every module of the process, so that a
//! typed reference `(ref $t)` of one module can be compared with another's at link time and by
//! the API (typed function references: equal structure means the same type; without GC
//! every type is final, so identity is all subtyping needs for concrete types).
//!
//! A `FuncType` whose typed references name earlier types by their `TypeId`, and itself by
//! `HeapType::SelfRef`, is its own key. The table only grows; `MAX_TYPE_IDS` bounds it so a
//! host compiling endless hostile modules gets an error instead of unbounded memory.

use crate::types::{FuncType, TypeId};
use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

/// Most distinct function types the process interns.
pub const MAX_TYPE_IDS: usize = 1 << 20;

struct Interner {
    ids: HashMap<FuncType, TypeId>,
    types: Vec<FuncType>,
}

fn interner() -> &'static Mutex<Interner> {
    static INTERNER: OnceLock<Mutex<Interner>> = OnceLock::new();
    INTERNER.get_or_init(|| {
        Mutex::new(Interner {
            ids: HashMap::new(),
            types: Vec::new(),
        })
    })
}

/// The canonical id of `ty` (its typed references already canonical), or `None` when the
/// process has interned `MAX_TYPE_IDS` types.
pub fn canonical_id(ty: &FuncType) -> Option<TypeId> {
    // A poisoned lock only means another thread panicked while holding it; the map is
    // consistent after every insertion, so keep using it.
    let mut i = interner().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(id) = i.ids.get(ty) {
        return Some(*id);
    }
    if i.types.len() >= MAX_TYPE_IDS {
        return None;
    }
    let id = TypeId(i.types.len() as u32);
    i.types.push(ty.clone());
    i.ids.insert(ty.clone(), id);
    Some(id)
}

/// The function type with canonical id `id`.
pub fn func_type_of(id: TypeId) -> Option<FuncType> {
    let i = interner().lock().unwrap_or_else(|e| e.into_inner());
    i.types.get(id.0 as usize).cloned()
}
