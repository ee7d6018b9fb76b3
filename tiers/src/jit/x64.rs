//! x86-64 instruction sequences that more than one JIT tier emits, on the assembler type they
//! all use. Each says which scratch registers it clobbers.

// dynasm's register operands convert their argument even when it is already a `u8`.
#![allow(clippy::useless_conversion)]

use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi};
use strata_vm::vmctx::offsets as off;

/// The assembler every JIT tier emits into.
pub type Asm = dynasmrt::VecAssembler<dynasmrt::x64::X64Relocation>;

/// Whether the CPU has BMI2: `shlx`/`shrx`/`sarx` shift by a count in any register into
/// a third, where the legacy forms want the count in `cl` and overwrite their operand.
pub fn has_bmi2() -> bool {
    static BMI2: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *BMI2.get_or_init(|| std::arch::is_x86_feature_detected!("bmi2"))
}

/// `xmm[dst] = (float) src` for an unsigned 64-bit `src` (f64 or f32), rounding like wasm's
/// `convert_i64_u`. x86 converts signed integers only: a value with the top bit set is halved
/// (keeping the low bit, so the rounding stays right), converted and doubled. `dst` must be
/// zeroed by the caller if it wants no false dependency. Clobbers r11 only (the optimizing
/// tier allocates r10).
pub fn convert_u64_to_float(asm: &mut Asm, dst: u8, src: u8, f64: bool) {
    let (big, done, even) = (
        asm.new_dynamic_label(),
        asm.new_dynamic_label(),
        asm.new_dynamic_label(),
    );
    dynasm!(asm ; .arch x64 ; test Rq(src), Rq(src) ; js =>big);
    if f64 {
        dynasm!(asm ; .arch x64 ; cvtsi2sd Rx(dst), Rq(src));
    } else {
        dynasm!(asm ; .arch x64 ; cvtsi2ss Rx(dst), Rq(src));
    }
    dynasm!(asm
        ; .arch x64
        ; jmp =>done
        ; =>big
        ; mov r11, Rq(src)
        // The bit shifted out (CF) is or-ed back in as a sticky bit.
        ; shr r11, 1
        ; jnc =>even
        ; or r11, 1
        ; =>even
    );
    if f64 {
        dynasm!(asm ; .arch x64 ; cvtsi2sd Rx(dst), r11 ; addsd Rx(dst), Rx(dst));
    } else {
        dynasm!(asm ; .arch x64 ; cvtsi2ss Rx(dst), r11 ; addss Rx(dst), Rx(dst));
    }
    dynasm!(asm ; .arch x64 ; =>done);
}

/// A fuel and epoch interruption point (docs/abi.md §7), the same sequence in every JIT tier:
/// with fuel, one unit is taken and running out jumps to `out_of_fuel`; with epochs, an
/// epoch at or past the store's deadline jumps to `interrupt`. Uses r10 and r11 only.
pub fn interruption_point(
    asm: &mut Asm,
    out_of_fuel: Option<DynamicLabel>,
    interrupt: Option<DynamicLabel>,
) {
    if out_of_fuel.is_none() && interrupt.is_none() {
        return;
    }
    let rt = off::VMCTX_RUNTIME;
    dynasm!(asm ; .arch x64 ; mov r11, QWORD [r15 + rt]);
    if let Some(out) = out_of_fuel {
        let fuel = off::RUNTIME_FUEL;
        dynasm!(asm ; .arch x64 ; sub QWORD [r11 + fuel], 1 ; js =>out);
    }
    if let Some(stop) = interrupt {
        let (epoch, deadline) = (off::RUNTIME_EPOCH, off::RUNTIME_EPOCH_DEADLINE);
        dynasm!(asm
            ; .arch x64
            ; mov r10, QWORD [r11 + epoch]
            ; mov r10, QWORD [r10]
            ; cmp r10, QWORD [r11 + deadline]
            ; jae =>stop
        );
    }
}
