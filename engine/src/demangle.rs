//! Readable names for backtraces: Rust and C++ symbols in a module's name section are
//! mangled (`_ZN4core9panicking5panic17h…E`, `_Z3fooi`); wasmtime shows them demangled, and
//! so does Strata.

/// The demangled form of `name`, or `None` when it is not a mangled Rust or C++ symbol.
pub(crate) fn demangle(name: &str) -> Option<String> {
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        // `{:#}` leaves out the hash suffix, which only tells builds apart.
        return Some(format!("{d:#}"));
    }
    if name.starts_with("_Z") {
        let symbol = cpp_demangle::Symbol::new(name).ok()?;
        return symbol
            .demangle(&cpp_demangle::DemangleOptions::default())
            .ok();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::demangle;

    #[test]
    fn rust_and_cpp_names_are_demangled_and_others_left_alone() {
        assert_eq!(
            demangle("_ZN4core9panicking5panic17h0123456789abcdefE").as_deref(),
            Some("core::panicking::panic")
        );
        assert_eq!(
            demangle("_RNvCs1234_7mycrate3foo").as_deref(),
            Some("mycrate::foo")
        );
        assert_eq!(demangle("_Z3fooi").as_deref(), Some("foo(int)"));
        assert_eq!(
            demangle("_ZN5alpha4beta5gammaEv").as_deref(),
            Some("alpha::beta::gamma()")
        );
        assert_eq!(demangle("main"), None);
        assert_eq!(demangle("_Znot a symbol"), None);
        assert_eq!(demangle("__original_main"), None);
    }
}
