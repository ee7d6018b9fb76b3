//! Disassembly of compiled functions (iced-x86, Intel syntax), for `strata compile --disasm`.

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};

/// One line per instruction: address, bytes, text.
pub fn disassemble(code: &[u8], address: u64) -> String {
    let mut decoder = Decoder::with_ip(64, code, address, DecoderOptions::NONE);
    let mut formatter = IntelFormatter::new();
    // Branch targets and other numbers in the style of the address column: `0x` and
    // lowercase, not iced's default `...h`.
    let options = formatter.options_mut();
    options.set_hex_prefix("0x");
    options.set_hex_suffix("");
    options.set_uppercase_hex(false);
    options.set_leading_zeros(false);
    options.set_branch_leading_zeros(false);
    let mut out = String::new();
    let mut text = String::new();
    for instr in &mut decoder {
        text.clear();
        formatter.format(&instr, &mut text);
        let start = (instr.ip() - address) as usize;
        let bytes: String = code[start..start + instr.len()]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        out.push_str(&format!("  {:#x}  {:<24} {}\n", instr.ip(), bytes, text));
    }
    out
}
