#!/usr/bin/env bash
# Installs the peer engines `strata bench` compares against. Idempotent; quiet on success.
#
#   wasmtime 48.0.8   cargo install --locked wasmtime-cli   (-> ~/.cargo/bin/wasmtime)
#   wasmi_cli 2       cargo install --locked wasmi_cli      (-> ~/.cargo/bin/wasmi)
#   node              Debian's nodejs, if no `node` is on PATH (needs root / apt-get)
#   wasmi (library)   cargo build --release -p strata-peers (-> target/release/strata-peer-wasmi)
#
# `native` needs clang (Debian: apt-get install clang); it is not installed here.
# Environment: WASMTIME_VERSION (default 48.0.8), SKIP_NODE=1 to leave node alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WASMTIME_VERSION="${WASMTIME_VERSION:-48.0.8}"
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT

# Runs a command with its output in $LOG; shows the log and fails if the command fails.
quiet() {
    if ! "$@" >"$LOG" 2>&1; then
        echo "install-peers: failed: $*" >&2
        tail -n 40 "$LOG" >&2
        exit 1
    fi
}

have() { command -v "$1" >/dev/null 2>&1 || [[ -x "$CARGO_BIN/$1" ]]; }

tool_version() {
    local exe
    exe="$(command -v "$1" 2>/dev/null || echo "$CARGO_BIN/$1")"
    "$exe" --version 2>/dev/null | head -n1
}

# wasmtime (Cranelift and Winch)
if ! tool_version wasmtime | grep -q "wasmtime $WASMTIME_VERSION"; then
    quiet cargo install --locked --quiet wasmtime-cli --version "$WASMTIME_VERSION"
fi

# wasmi's own command line (the bench runner uses the library build below)
if ! have wasmi; then
    quiet cargo install --locked --quiet wasmi_cli --version "^2"
fi

# node (V8: Liftoff and TurboFan)
if [[ "${SKIP_NODE:-0}" != 1 ]] && ! have node; then
    if command -v apt-get >/dev/null 2>&1; then
        quiet apt-get update -qq
        quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs
    else
        echo "install-peers: node not found and apt-get is unavailable; node peers will be skipped" >&2
    fi
fi

# wasmi linked as a library: target/release/strata-peer-wasmi
quiet cargo build --release --quiet --manifest-path "$ROOT/Cargo.toml" -p strata-peers
