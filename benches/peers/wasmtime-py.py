#!/usr/bin/env python3
"""Runs a WASI preview1 program (or one exported function) on wasmtime, for `strata bench`.

    python3 wasmtime-py.py [--strategy cranelift|winch] [--phase-times] [--compile-only]
                           [--invoke NAME] [--dir DIR]... prog.wasm ARGS...
    python3 wasmtime-py.py --version

wasmtime here is the C library of the PyPI package `wasmtime` (48.0.0: Cranelift and Winch),
driven through its Python bindings, for machines without a `wasmtime` binary (building
wasmtime-cli takes hours on a small machine). The contract is the one of the other scripted
peers (`node-wasi.mjs`), so `strata bench` treats it the same way:

* `_start` runs with argv = [prog.wasm, ARGS...], `.` preopened (plus each `--dir`), stdout
  and stderr inherited and stdin empty; the exit status is the program's (`proc_exit`).
* `--invoke NAME` calls export NAME with ARGS parsed by its parameter types (after
  `_initialize`, if the module has one) and prints each result on its own line, integers
  signed as wasmtime's CLI prints them.
* `--phase-times` prints `phase-times compile_ns=.. instantiate_ns=.. execute_ns=..` to stderr;
  `--compile-only` compiles with parallel compilation off (one thread, for compile speed) and
  prints only `phase-times compile_ns=..`.
* The Sightglass markers `bench.start` / `bench.end` are provided; when both were called the
  time between the last call of each is printed as `bench-markers ns=..` on stderr, as
  `strata run` does.

Exit status: the program's own, 1 for a module that does not compile or link, 2 for a usage
error, 134 for a trap (as wasmtime's CLI and `strata run`).
"""

import os
import sys
import time

USAGE = ("usage: wasmtime-py.py [--strategy cranelift|winch] [--phase-times] [--compile-only] "
         "[--invoke NAME] [--dir DIR]... prog.wasm ARGS...")
ERROR_EXIT = 1
USAGE_EXIT = 2
TRAP_EXIT = 134

# wasmtime_strategy_t in wasmtime's C API (config.h): 0 auto, 1 Cranelift, 2 Winch.
STRATEGIES = {"cranelift": 1, "winch": 2}


def fail(code, message):
    sys.stdout.flush()
    print(f"wasmtime-py: {message}", file=sys.stderr)
    sys.exit(code)


def parse_options(argv):
    """The options before the program, and the program with its arguments."""
    opts = {"strategy": "cranelift", "phase_times": False, "compile_only": False,
            "invoke": None, "dirs": [], "version": False}
    args = list(argv)
    while args and args[0].startswith("--"):
        a = args.pop(0)
        if a == "--":
            break
        if a == "--phase-times":
            opts["phase_times"] = True
        elif a == "--compile-only":
            opts["compile_only"] = True
        elif a == "--version":
            opts["version"] = True
        elif a in ("--help", "-h"):
            print(USAGE)
            sys.exit(0)
        elif a in ("--invoke", "--strategy", "--dir"):
            if not args:
                fail(USAGE_EXIT, f"{a} needs a value\n{USAGE}")
            v = args.pop(0)
            if a == "--invoke":
                opts["invoke"] = v
            elif a == "--dir":
                opts["dirs"].append(v)
            elif v not in STRATEGIES:
                fail(USAGE_EXIT, f"unknown strategy `{v}` (expected cranelift or winch)")
            else:
                opts["strategy"] = v
        else:
            fail(USAGE_EXIT, f"bad option {a}\n{USAGE}")
    return opts, args


def import_wasmtime():
    try:
        import wasmtime  # noqa: PLC0415 (the import is the availability check)
    except ImportError as e:
        fail(ERROR_EXIT, f"the Python package `wasmtime` is not installed ({e}); "
                         "install it with `pip install wasmtime==48.0.0`")
    return wasmtime


def package_version():
    try:
        from importlib.metadata import version  # noqa: PLC0415
        return version("wasmtime")
    except Exception:  # noqa: BLE001 (any failure means "unknown")
        return "unknown"


def make_engine(wasmtime, strategy, parallel):
    config = wasmtime.Config()
    # The compilation cache is off unless enabled (`config.cache` can only turn it on).
    config.parallel_compilation = parallel
    # `Config.strategy` accepts only "auto" and "cranelift"; Winch is reached through the
    # C API's setter directly.
    wasmtime._ffi.wasmtime_config_strategy_set(config.ptr(), STRATEGIES[strategy])
    return wasmtime.Engine(config)


def int_arg(text, bits):
    """An integer argument, signed or unsigned, as the signed value wasm sees."""
    # Decimal, or hexadecimal with `0x` (as `strata run --invoke` takes them).
    v = int(text, 16) if text.lstrip("+-").lower().startswith("0x") else int(text)
    if not -(1 << (bits - 1)) <= v < (1 << bits):
        raise ValueError(f"out of range for i{bits}")
    return v - (1 << bits) if v >= (1 << (bits - 1)) else v


def parse_params(wasmtime, name, types, texts):
    if len(types) != len(texts):
        fail(USAGE_EXIT, f"`{name}` takes {len(types)} argument(s) "
                         f"({' '.join(str(t) for t in types)}), got {len(texts)}")
    out = []
    for i, (ty, text) in enumerate(zip(types, texts)):
        try:
            if ty == wasmtime.ValType.i32():
                out.append(int_arg(text, 32))
            elif ty == wasmtime.ValType.i64():
                out.append(int_arg(text, 64))
            elif ty in (wasmtime.ValType.f32(), wasmtime.ValType.f64()):
                out.append(float(text))
            else:
                raise ValueError(f"no command-line syntax for {ty}")
        except ValueError as e:
            fail(USAGE_EXIT, f"argument {i + 1} of `{name}`: cannot parse `{text}` as {ty}: {e}")
    return out


def format_result(wasmtime, v):
    if isinstance(v, wasmtime.Val):
        v = v.value
    return str(v)


class Markers:
    """The Sightglass markers: the time of the last `bench.start` and `bench.end` calls."""

    def __init__(self):
        self.start = None
        self.end = None

    def on_start(self):
        self.start = time.perf_counter_ns()

    def on_end(self):
        self.end = time.perf_counter_ns()

    def elapsed(self):
        if self.start is None or self.end is None or self.end < self.start:
            return None
        return self.end - self.start


def trap_exit(wasmtime, e):
    """The exit for an error raised by a call: the program's status after `proc_exit`, else
    a trap."""
    if isinstance(e, wasmtime.ExitTrap):
        sys.stdout.flush()
        return e.code
    fail(TRAP_EXIT, f"error: {e}")
    return TRAP_EXIT


def main(argv):
    opts, args = parse_options(argv)
    wasmtime = import_wasmtime()
    if opts["version"]:
        print(f"wasmtime {package_version()} (C API via PyPI)")
        return 0
    if not args:
        fail(USAGE_EXIT, USAGE)
    file, prog_args = args[0], args[1:]
    try:
        with open(file, "rb") as f:
            wasm = f.read()
    except OSError as e:
        fail(ERROR_EXIT, f"cannot read {file}: {e.strerror}")

    engine = make_engine(wasmtime, opts["strategy"], parallel=not opts["compile_only"])
    t = time.perf_counter_ns()
    try:
        module = wasmtime.Module(engine, wasm)
    except wasmtime.WasmtimeError as e:
        fail(ERROR_EXIT, f"cannot compile {file}: {e}")
    compile_ns = time.perf_counter_ns() - t
    if opts["compile_only"]:
        print(f"phase-times compile_ns={compile_ns}", file=sys.stderr)
        return 0

    t = time.perf_counter_ns()
    wasi = wasmtime.WasiConfig()
    wasi.argv = [file] + prog_args
    wasi.inherit_stdout()
    wasi.inherit_stderr()
    for d in ["."] + [d for d in opts["dirs"] if d != "."]:
        host, _, guest = d.partition("::")
        if not os.path.isdir(host):
            fail(USAGE_EXIT, f"cannot open directory {host}: not a directory")
        wasi.preopen_dir(host, guest or host)
    store = wasmtime.Store(engine)
    store.set_wasi(wasi)
    linker = wasmtime.Linker(engine)
    linker.define_wasi()
    markers = Markers()
    nothing = wasmtime.FuncType([], [])
    linker.define_func("bench", "start", nothing, markers.on_start)
    linker.define_func("bench", "end", nothing, markers.on_end)
    try:
        instance = linker.instantiate(store, module)
    except wasmtime.WasmtimeError as e:
        if isinstance(e, wasmtime.ExitTrap):
            return trap_exit(wasmtime, e)
        fail(ERROR_EXIT, f"cannot instantiate {file}: {e}")
    except wasmtime.Trap as e:
        return trap_exit(wasmtime, e)
    instantiate_ns = time.perf_counter_ns() - t

    exports = instance.exports(store)
    status = 0
    t = time.perf_counter_ns()
    if opts["invoke"] is None:
        start = exports.get("_start")
        if not isinstance(start, wasmtime.Func):
            fail(ERROR_EXIT, "the module exports no `_start` function (not a WASI command); "
                             "use --invoke NAME to call an exported function")
        try:
            start(store)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            status = trap_exit(wasmtime, e)
    else:
        name = opts["invoke"]
        func = exports.get(name)
        if not isinstance(func, wasmtime.Func):
            funcs = [n for n, x in exports.items() if isinstance(x, wasmtime.Func)]
            fail(USAGE_EXIT, f"the module exports no function `{name}` "
                             f"(exported functions: {', '.join(funcs) or 'none'})")
        params = parse_params(wasmtime, name, func.type(store).params, prog_args)
        try:
            init = exports.get("_initialize")
            if name != "_initialize" and isinstance(init, wasmtime.Func):
                init(store)
            result = func(store, *params)
        except (wasmtime.WasmtimeError, wasmtime.Trap) as e:
            return trap_exit(wasmtime, e)
        results = result if isinstance(result, list) else [] if result is None else [result]
        for r in results:
            print(format_result(wasmtime, r))
    execute_ns = time.perf_counter_ns() - t
    sys.stdout.flush()
    marked = markers.elapsed()
    if marked is not None:
        print(f"bench-markers ns={marked}", file=sys.stderr)
    if opts["phase_times"]:
        print(f"phase-times compile_ns={compile_ns} instantiate_ns={instantiate_ns} "
              f"execute_ns={execute_ns}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
