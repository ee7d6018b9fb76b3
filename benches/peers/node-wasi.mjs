// Runs a WASI preview1 program (or one exported function) on Node's V8, for `strata bench`.
//
//   node --no-warnings [V8 flags] node-wasi.mjs [--phase-times] [--compile-only] \
//        [--invoke NAME] prog.wasm ARGS...
//
// V8 flags select the tier: none (Liftoff, then TurboFan when hot), --liftoff-only, or
// --no-liftoff (TurboFan only). With --compile-only, add --no-wasm-lazy-compilation so that
// every function is compiled by `new WebAssembly.Module`.
//
// --phase-times prints `phase-times compile_ns=.. instantiate_ns=.. execute_ns=..` to stderr
// (compile-only prints just compile_ns). --invoke calls export NAME with ARGS (as Numbers, or
// BigInts when the function wants i64) and prints each result on its own line; otherwise
// `_start` runs under node:wasi with argv = [prog.wasm, ARGS...]. The exit status is the
// program's.
import { readFileSync } from 'node:fs';
import { WASI } from 'node:wasi';
import process from 'node:process';

const usage = 'usage: node-wasi.mjs [--phase-times] [--compile-only] [--invoke NAME] prog.wasm ARGS...';
const args = process.argv.slice(2);
let phaseTimes = false, compileOnly = false, invoke = null;
while (args.length > 0 && args[0].startsWith('--')) {
  const a = args.shift();
  if (a === '--phase-times') phaseTimes = true;
  else if (a === '--compile-only') compileOnly = true;
  else if (a === '--invoke' && args.length > 0) invoke = args.shift();
  else { console.error(`node-wasi: bad option ${a}\n${usage}`); process.exit(2); }
}
if (args.length === 0) { console.error(usage); process.exit(2); }
const [file, ...progArgs] = args;

const now = () => process.hrtime.bigint();
let bytes;
try {
  bytes = readFileSync(file);
} catch (e) {
  console.error(`node-wasi: cannot read ${file}: ${e.message}`);
  process.exit(1);
}

let t = now();
const module = new WebAssembly.Module(bytes);
const compileNs = now() - t;
if (compileOnly) {
  console.error(`phase-times compile_ns=${compileNs}`);
  process.exit(0);
}

t = now();
const wasi = new WASI({ version: 'preview1', args: [file, ...progArgs], env: {}, returnOnExit: true });
const instance = new WebAssembly.Instance(module, wasi.getImportObject());
const instantiateNs = now() - t;

let status = 0;
t = now();
if (invoke === null) {
  status = wasi.start(instance);
} else {
  const f = instance.exports[invoke];
  if (typeof f !== 'function') {
    console.error(`node-wasi: no exported function \`${invoke}\``);
    process.exit(1);
  }
  let result;
  try {
    result = f(...progArgs.map(Number));
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    result = f(...progArgs.map(BigInt));  // i64 parameters want BigInts
  }
  const results = Array.isArray(result) ? result : result === undefined ? [] : [result];
  for (const r of results) console.log(String(r));
}
const executeNs = now() - t;
if (phaseTimes) {
  console.error(`phase-times compile_ns=${compileNs} instantiate_ns=${instantiateNs} execute_ns=${executeNs}`);
}
process.exitCode = status;
