#!/usr/bin/env bash
# Installs the peer engines `strata bench` compares against. Idempotent; quiet on success.
#
#   wasmtime 48.0.0   pip install wasmtime==48.0.0          (the quick path: wasmtime's C library
#                     with Cranelift and Winch, run by benches/peers/wasmtime-py.py)
#   wasmtime 48.0.8   cargo install --locked wasmtime-cli   (-> ~/.cargo/bin/wasmtime; takes hours
#                     on 2 cores, so only with WASMTIME_CLI=1; used instead of the PyPI package)
#   wasmi_cli 2       cargo install --locked wasmi_cli      (-> ~/.cargo/bin/wasmi)
#   node              Debian's nodejs, if no `node` is on PATH (needs root / apt-get)
#   wasmi (library)   cargo build --release -p strata-peers (-> target/release/strata-peer-wasmi)
#
# `native` needs clang (Debian: apt-get install clang); it is not installed here.
# Environment: WASMTIME_PY_VERSION (default 48.0.0), WASMTIME_CLI=1 to build wasmtime-cli too,
# WASMTIME_VERSION (its version, default 48.0.8), SKIP_NODE=1 to leave node alone.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
WASMTIME_VERSION="${WASMTIME_VERSION:-48.0.8}"
WASMTIME_PY_VERSION="${WASMTIME_PY_VERSION:-48.0.0}"
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

# wasmtime (Cranelift and Winch) as a Python package: strata bench runs it through
# benches/peers/wasmtime-py.py when no `wasmtime` binary is on PATH.
if command -v python3 >/dev/null 2>&1; then
    if ! python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('wasmtime') != '$WASMTIME_PY_VERSION')" 2>/dev/null; then
        quiet python3 -m pip install --quiet "wasmtime==$WASMTIME_PY_VERSION"
    fi
else
    echo "install-peers: python3 not found; the wasmtime peers need it (or WASMTIME_CLI=1)" >&2
fi

# wasmtime's CLI, only when asked for (a long build)
if [[ "${WASMTIME_CLI:-0}" == 1 ]] && ! tool_version wasmtime | grep -q "wasmtime $WASMTIME_VERSION"; then
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
