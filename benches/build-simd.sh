#!/usr/bin/env bash
# Rebuild the SIMD benchmark programs (programs/simd/*.c) and their checksums.
#
#   benches/build-simd.sh             rebuild every SIMD program
#   benches/build-simd.sh hash_lanes  only these (other expected.txt lines are kept)
#
# Outputs (committed, so running the benchmarks needs no C toolchain):
#   programs/simd/<name>.wasm   clang --target=wasm32-wasi -O3 -msimd128: loops that the
#                               autovectorizer turns into v128 code, and intrinsics.c,
#                               written with <wasm_simd128.h>
#   programs/simd/FLAGS.txt     the flags and the compiler used
#   programs/simd/expected.txt  "<name> <size-arg> <checksum>", from the NATIVE build
#                               (-O2) at its default size: every program computes
#                               exactly (integers, or floats whose sums are exact), and
#                               intrinsics.c has a scalar twin of each kernel for it
#
# Needs (Debian 12): clang lld wasi-libc libclang-rt-dev-wasm32. Environment: CC (default
# clang), NATIVE_CC (default $CC), WASI_SYSROOT (passed as --sysroot when set).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIR="$HERE/programs/simd"
CC="${CC:-clang}"
NATIVE_CC="${NATIVE_CC:-$CC}"
WASM_FLAGS=(--target=wasm32-wasi -O3 -msimd128)
if [[ -n "${WASI_SYSROOT:-}" ]]; then
    WASM_FLAGS+=("--sysroot=$WASI_SYSROOT")
fi
LINK_FLAGS=(-Wl,--strip-debug)
NATIVE_DIR="$(mktemp -d)"
trap 'rm -rf "$NATIVE_DIR"' EXIT
log() { printf '%s\n' "$*" >&2; }

ALL=()
for src in "$DIR"/*.c; do
    ALL+=("$(basename "$src" .c)")
done
if [[ $# -gt 0 ]]; then NAMES=("$@"); else NAMES=("${ALL[@]}"); fi

EXPECTED="$DIR/expected.txt"
declare -A LINES=()
if [[ -f "$EXPECTED" ]]; then
    while read -r n s c; do
        [[ -n "$n" && "$n" != \#* ]] && LINES["$n"]="$n $s $c"
    done < "$EXPECTED"
fi
for name in "${NAMES[@]}"; do
    src="$DIR/$name.c"
    [[ -f "$src" ]] || { log "no such program: $name"; exit 1; }
    log "[simd]   $name"
    "$CC" "${WASM_FLAGS[@]}" "$src" -o "$DIR/$name.wasm" "${LINK_FLAGS[@]}"
    log "[native] $name"
    "$NATIVE_CC" -O2 "$src" -o "$NATIVE_DIR/$name" -lm
    size="$(sed -n 's/^#define DEFAULT_SIZE \([0-9][0-9]*\).*/\1/p' "$src" | head -n1)"
    [[ -n "$size" ]] || { log "$name.c has no '#define DEFAULT_SIZE'"; exit 1; }
    out="$("$NATIVE_DIR/$name" "$size")"
    sum="$(printf '%s\n' "$out" | sed -n 's/^checksum: //p')"
    [[ -n "$sum" ]] || { log "$name: unexpected output: $out"; exit 1; }
    LINES["$name"]="$name $size $sum"
    log "[expect] $name $size $sum"
done
for name in "${ALL[@]}"; do
    [[ -n "${LINES[$name]:-}" ]] && printf '%s\n' "${LINES[$name]}"
done > "$EXPECTED"
{
    echo "# flags used for programs/simd/*.wasm"
    echo "${WASM_FLAGS[*]} ${LINK_FLAGS[*]}"
    echo "# compiler: $("$CC" --version | head -n1)"
} > "$DIR/FLAGS.txt"
