//! v128 values through the engine: `Val::V128`, typed `u128`/`[u8; 16]` calls, v128 globals
//! and host functions with v128 in their signature (docs/abi.md §1: a v128 is two cells).

use strata::*;

fn i32x4(l: [u32; 4]) -> u128 {
    l.iter()
        .enumerate()
        .fold(0, |acc, (i, x)| acc | (*x as u128) << (32 * i))
}

fn i64x2(a: i64, b: i64) -> u128 {
    a as u64 as u128 | (b as u64 as u128) << 64
}

fn setup(tier: Tier) -> (Store, Instance) {
    set_simd_enabled(true);
    let engine = Engine::new(Config::default().tier(tier)).unwrap();
    let wasm = wat::parse_file(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/wat/v128_api.wat"
    ))
    .unwrap();
    let module = Module::new(&engine, &wasm).unwrap();
    let mut store = Store::new(&engine);
    let swap = Func::new(
        &mut store,
        FuncType::new([ValType::V128, ValType::I32], [ValType::I32, ValType::V128]),
        |_, args, results| {
            results[0] = Val::I32(args[1].i32().unwrap() * 2);
            results[1] = Val::V128(!args[0].v128().unwrap());
            Ok(())
        },
    );
    let gi = Global::new(
        &mut store,
        GlobalType::new(ValType::V128, false),
        Val::V128(i64x2(-3, 9)),
    )
    .unwrap();
    let mut imports = Imports::new();
    imports.define("host", "swap", swap);
    imports.define("host", "g", gi);
    let instance = Instance::new(&mut store, &module, &imports).unwrap();
    (store, instance)
}

#[test]
fn v128_values_cross_the_api() {
    for tier in [
        Tier::Interp,
        Tier::Baseline,
        Tier::Tiered,
        Tier::Mixed { seed: 1 },
    ] {
        let (mut store, inst) = setup(tier);
        let add = inst.get_func(&store, "add").unwrap();
        let a = i32x4([1, 2, 3, 4]);
        let b = i32x4([10, 20, 30, u32::MAX]);
        let out = add
            .call(&mut store, &[Val::V128(a), Val::I32(100), Val::V128(b)])
            .unwrap();
        assert_eq!(out, vec![Val::V128(i32x4([11, 22, 33, 3])), Val::I32(112)]);

        let typed = add.typed::<(u128, i32, u128), (u128, i32)>(&store).unwrap();
        assert_eq!(
            typed.call(&mut store, (a, 100, b)).unwrap(),
            (i32x4([11, 22, 33, 3]), 112)
        );
        let bytes = add
            .typed::<([u8; 16], i32, [u8; 16]), ([u8; 16], i32)>(&store)
            .unwrap();
        assert_eq!(
            bytes
                .call(&mut store, (a.to_le_bytes(), 1, b.to_le_bytes()))
                .unwrap(),
            (i32x4([11, 22, 33, 3]).to_le_bytes(), 13)
        );

        let host = inst.get_func(&store, "host_roundtrip").unwrap();
        let out = host
            .call(&mut store, &[Val::V128(a), Val::I32(21)])
            .unwrap();
        assert_eq!(out, vec![Val::I32(42), Val::V128(!a)]);

        let mix = inst.get_func(&store, "block_mix").unwrap();
        let pick = inst.get_func(&store, "pick").unwrap();
        for c in [0, 1] {
            let want = if c != 0 { i64x2(-1, 2) } else { i64x2(3, 4) };
            assert_eq!(
                mix.call(&mut store, &[Val::I32(c)]).unwrap(),
                vec![Val::V128(want)]
            );
            let want = if c != 0 { i64x2(5, 6) } else { i64x2(7, 8) };
            assert_eq!(
                pick.call(&mut store, &[Val::I32(c)]).unwrap(),
                vec![Val::V128(want)]
            );
        }

        let g = inst.get_global(&store, "g").unwrap();
        assert_eq!(g.get(&store), Val::V128(i32x4([1, 2, 3, 4])));
        let bump = inst.get_func(&store, "bump").unwrap();
        assert_eq!(
            bump.call(&mut store, &[]).unwrap(),
            vec![Val::V128(i32x4([11, 12, 13, 14]))]
        );
        g.set(&mut store, Val::V128(u128::MAX)).unwrap();
        assert_eq!(
            bump.call(&mut store, &[]).unwrap(),
            vec![Val::V128(i32x4([9, 9, 9, 9]))]
        );
        let copy = inst.get_global(&store, "copy").unwrap();
        assert_eq!(copy.get(&store), Val::V128(i64x2(-3, 9)));
    }
}

#[test]
fn wrapped_host_functions_take_and_return_v128() {
    let engine = Engine::new(Config::default().tier(Tier::Interp)).unwrap();
    let mut store = Store::new(&engine);
    let f = Func::wrap(&mut store, |a: u128, x: i32, b: [u8; 16]| {
        (x + 1, a ^ u128::from_le_bytes(b), a)
    });
    let a = i64x2(1, -1);
    let b = i64x2(3, 5);
    let out = f
        .call(&mut store, &[Val::V128(a), Val::I32(41), Val::V128(b)])
        .unwrap();
    assert_eq!(out, vec![Val::I32(42), Val::V128(a ^ b), Val::V128(a)]);
    let typed = f
        .typed::<(u128, i32, u128), (i32, u128, u128)>(&store)
        .unwrap();
    assert_eq!(typed.call(&mut store, (a, 1, b)).unwrap(), (2, a ^ b, a));
}
