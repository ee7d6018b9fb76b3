#!/usr/bin/env bash
# Rebuild the corpus .wasm files from their sources and record the native checksums.
#
#   benches/corpus/build.sh             rebuild everything, write expected.txt
#   benches/corpus/build.sh --verify    ... then run every .wasm on `strata run --tier interp`
#                                       (target/release/strata) at its default size and
#                                       compare with the native checksum
#   benches/corpus/build.sh regex life  only these programs (other expected.txt lines kept)
#
# Sources (one program each, written for this project):
#   c/<name>.c            clang   --target=wasm32-wasi -O2
#   cpp/<name>.cpp        clang++ --target=wasm32-wasi -O2 -fno-exceptions -fno-rtti -nostdlib++
#                         (no libc++ for wasm32-wasi: cpp/rt.h supplies new/delete and a Vec)
#   rust/<name>/          cargo build --release --target wasm32-wasip1 (standalone projects)
# Outputs (committed, so tests and benchmarks need no toolchain):
#   wasm/<name>.wasm      linked with --strip-debug (the name section stays)
#   expected.txt          "<name> <size-arg> <checksum>" from the NATIVE build (clang -O2,
#                         clang++ -O2, cargo --release for the host) at the default size,
#                         which is `#define DEFAULT_SIZE N` (C/C++) or
#                         `const DEFAULT_SIZE: u64 = N;` (Rust); toolchain versions as comments.
#   expected-small.txt    the same at the small size round(default / 100) (at least 1), for
#                         every program in SPLIT, benches/programs too (built natively from
#                         their C sources on full builds): harness/tests/corpus.rs runs them all
#                         on the interpreter at that size.
#
# Needs: clang/clang++ 14+ with wasi-libc (Debian: clang lld wasi-libc
# libclang-rt-dev-wasm32), rustup with the wasm32-wasip1 target.
# Environment: CC, CXX (default clang, clang++), WASI_SYSROOT (--sysroot when set).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CC="${CC:-clang}"
CXX="${CXX:-clang++}"
OUT="$HERE/wasm"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

VERIFY=0
ONLY=()
for arg in "$@"; do
    case "$arg" in
        --verify) VERIFY=1 ;;
        -h|--help) sed -n '2,29p' "$0"; exit 0 ;;
        *) ONLY+=("$arg") ;;
    esac
done

WASM_FLAGS=(--target=wasm32-wasi -O2)
[[ -n "${WASI_SYSROOT:-}" ]] && WASM_FLAGS+=("--sysroot=$WASI_SYSROOT")
CXX_FLAGS=(-fno-exceptions -fno-rtti -nostdlib++)
LINK_FLAGS=(-Wl,--strip-debug)

log() { printf '%s\n' "$*" >&2; }

# name -> kind (c, cpp, rust)
declare -A KIND=()
ALL=()
for f in "$HERE"/c/*.c; do n="$(basename "$f" .c)"; KIND[$n]=c; ALL+=("$n"); done
for f in "$HERE"/cpp/*.cpp; do n="$(basename "$f" .cpp)"; KIND[$n]=cpp; ALL+=("$n"); done
for d in "$HERE"/rust/*/; do n="$(basename "$d")"; KIND[$n]=rust; ALL+=("$n"); done
mapfile -t ALL < <(printf '%s\n' "${ALL[@]}" | sort)
if [[ ${#ONLY[@]} -gt 0 ]]; then NAMES=("${ONLY[@]}"); else NAMES=("${ALL[@]}"); fi

source_of() {
    case "${KIND[$1]}" in
        c) echo "$HERE/c/$1.c" ;;
        cpp) echo "$HERE/cpp/$1.cpp" ;;
        rust) echo "$HERE/rust/$1/src/main.rs" ;;
    esac
}
default_size() {
    sed -n -e 's/^#define DEFAULT_SIZE \([0-9][0-9]*\).*/\1/p' \
        -e 's/^const DEFAULT_SIZE: u64 = \([0-9_]*\);.*/\1/p' "$(source_of "$1")" | head -n1 | tr -d _
}

mkdir -p "$OUT"
for name in "${NAMES[@]}"; do
    [[ -n "${KIND[$name]:-}" ]] || { log "no such program: $name"; exit 1; }
    log "[${KIND[$name]}] $name"
    case "${KIND[$name]}" in
        c)
            "$CC" "${WASM_FLAGS[@]}" "$HERE/c/$name.c" -o "$OUT/$name.wasm" "${LINK_FLAGS[@]}"
            "$CC" -O2 "$HERE/c/$name.c" -o "$WORK/$name" -lm ;;
        cpp)
            "$CXX" "${WASM_FLAGS[@]}" "${CXX_FLAGS[@]}" "$HERE/cpp/$name.cpp" -o "$OUT/$name.wasm" "${LINK_FLAGS[@]}"
            "$CXX" -O2 "${CXX_FLAGS[@]}" "$HERE/cpp/$name.cpp" -o "$WORK/$name" -lm ;;
        rust)
            # the target dir stays outside the source tree; RUSTFLAGS strip DWARF like clang's builds
            CARGO_TARGET_DIR="$WORK/cargo-$name" RUSTFLAGS="-C strip=debuginfo" \
                cargo build --quiet --release --locked --target wasm32-wasip1 \
                --manifest-path "$HERE/rust/$name/Cargo.toml"
            cp "$WORK/cargo-$name/wasm32-wasip1/release/$name.wasm" "$OUT/$name.wasm"
            CARGO_TARGET_DIR="$WORK/cargo-$name" \
                cargo build --quiet --release --locked --manifest-path "$HERE/rust/$name/Cargo.toml"
            cp "$WORK/cargo-$name/release/$name" "$WORK/$name" ;;
    esac
done

EXPECTED="$HERE/expected.txt"
declare -A LINES=()
if [[ -f "$EXPECTED" ]]; then
    while read -r n s c; do
        [[ -n "$n" && "$n" != \#* ]] && LINES["$n"]="$n $s $c"
    done < "$EXPECTED"
fi
for name in "${NAMES[@]}"; do
    size="$(default_size "$name")"
    [[ -n "$size" ]] || { log "$name has no DEFAULT_SIZE"; exit 1; }
    out="$("$WORK/$name" "$size")"
    sum="$(printf '%s\n' "$out" | sed -n 's/^checksum: \([0-9][0-9]*\)$/\1/p')"
    if [[ -z "$sum" || "$(printf '%s\n' "$out" | wc -l)" -ne 1 ]]; then
        log "$name: unexpected output: $out"
        exit 1
    fi
    LINES["$name"]="$name $size $sum"
    log "[expect] $name $size $sum"
done
{
    echo "# <name> <size-arg> <checksum of the native build at that size>; written by build.sh"
    echo "# $("$CC" --version | head -n1)"
    echo "# $("$CXX" --version | head -n1) (C++)"
    echo "# $(rustc --version) / $(cargo --version)"
    for name in "${ALL[@]}"; do
        [[ -n "${LINES[$name]:-}" ]] && printf '%s\n' "${LINES[$name]}"
    done
} > "$EXPECTED"

# small sizes: the same rounding as `strata bench --size-scale 0.01`
small_size() { awk -v d="$1" 'BEGIN { s = int(d * 0.01 + 0.5); if (s < 1) s = 1; print s }'; }
checksum_of() { "$1" "$2" | sed -n 's/^checksum: \([0-9][0-9]*\)$/\1/p'; }
SMALL="$HERE/expected-small.txt"
declare -A SMALL_LINES=()
if [[ -f "$SMALL" ]]; then
    while read -r n s c; do
        [[ -n "$n" && "$n" != \#* ]] && SMALL_LINES["$n"]="$n $s $c"
    done < "$SMALL"
fi
for name in "${NAMES[@]}"; do
    read -r _ size _ < <(grep "^$name " "$EXPECTED")
    small="$(small_size "$size")"
    SMALL_LINES["$name"]="$name $small $(checksum_of "$WORK/$name" "$small")"
done
PROGRAMS="$ROOT/benches/programs"
if [[ ${#ONLY[@]} -eq 0 ]]; then
    while read -r name size _; do
        [[ -z "$name" || "$name" == \#* ]] && continue
        log "[native] benches/programs/$name"
        "$CC" -O2 "$PROGRAMS/$name.c" -o "$WORK/programs-$name" -lm
        small="$(small_size "$size")"
        SMALL_LINES["$name"]="$name $small $(checksum_of "$WORK/programs-$name" "$small")"
    done < "$PROGRAMS/expected.txt"
fi
{
    echo "# <name> <small size = round(default / 100), at least 1> <native checksum at that size>"
    printf '%s\n' "${SMALL_LINES[@]}" | sort
} > "$SMALL"
for line in "${SMALL_LINES[@]}"; do
    read -r n s c <<<"$line"
    [[ -n "$c" ]] || { log "$n: no checksum at size $s"; exit 1; }
done

if [[ $VERIFY -eq 1 ]]; then
    STRATA="$ROOT/target/release/strata"
    [[ -x "$STRATA" ]] || { log "--verify: build strata first (cargo build --release -p strata-harness)"; exit 1; }
    fail=0
    for name in "${NAMES[@]}"; do
        read -r _ size want < <(grep "^$name " "$EXPECTED")
        start=$(date +%s.%N)
        got="$("$STRATA" run --tier interp "$OUT/$name.wasm" "$size" | sed -n 's/^checksum: //p')"
        secs=$(echo "$(date +%s.%N) - $start" | bc)
        if [[ "$got" == "$want" ]]; then
            log "[ok]     $name ${secs}s"
        else
            log "[FAIL]   $name: got '$got', want '$want'"
            fail=1
        fi
    done
    exit $fail
fi
