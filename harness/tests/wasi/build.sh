#!/usr/bin/env bash
# Build wasi_demo.wasm and regenerate expected_stdout.txt.
#
#   harness/tests/wasi/build.sh            build + expected output (native)
#   harness/tests/wasi/build.sh --verify   ... and compare wasmtime's run
#                                          (stdout and exit code 3) with it
#
# wasi_demo.wasm is an MVP build: clang --target=wasm32-wasi -O2, with the
# DWARF sections stripped (-Wl,--strip-debug keeps the "name" section).
# expected_stdout.txt is what the NATIVE build prints for
#   STRATA_DEMO=42 ./wasi_demo <dir> hello world
# Needs (Debian 12): clang lld wasi-libc libclang-rt-dev-wasm32.
# CC / NATIVE_CC / WASI_SYSROOT override the compiler and sysroot.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CC="${CC:-clang}"
NATIVE_CC="${NATIVE_CC:-$CC}"
SYSROOT=()
if [[ -n "${WASI_SYSROOT:-}" ]]; then SYSROOT=("--sysroot=$WASI_SYSROOT"); fi

"$CC" --target=wasm32-wasi -O2 "${SYSROOT[@]}" "$HERE/wasi_demo.c" \
    -o "$HERE/wasi_demo.wasm" -Wl,--strip-debug

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
"$NATIVE_CC" -O2 "$HERE/wasi_demo.c" -o "$TMP/wasi_demo"
mkdir "$TMP/native-dir"
set +e
STRATA_DEMO=42 "$TMP/wasi_demo" "$TMP/native-dir" hello world > "$HERE/expected_stdout.txt"
rc=$?
set -e
if [[ $rc -ne 3 ]]; then
    echo "native wasi_demo exited with $rc, expected 3" >&2
    exit 1
fi

if [[ "${1:-}" == "--verify" ]]; then
    mkdir "$TMP/wasm-dir"
    set +e
    wasmtime run --dir "$TMP/wasm-dir::/sandbox" --env STRATA_DEMO=42 \
        "$HERE/wasi_demo.wasm" /sandbox hello world > "$TMP/wasm_stdout.txt"
    rc=$?
    set -e
    if [[ $rc -ne 3 ]]; then
        echo "wasmtime: exit code $rc, expected 3" >&2
        exit 1
    fi
    diff -u "$HERE/expected_stdout.txt" "$TMP/wasm_stdout.txt"
    echo "wasmtime output matches expected_stdout.txt, exit code 3" >&2
fi
