// One node measurement for the v8-no-osr experiment: compiles a .wasm module, calls its
// export `run(n: i32) -> i64` K times so that the iteration counts add up to TOTAL
// (the first TOTAL % K calls do one more iteration), and prints the wall-clock time and
// the process CPU time (user + system, all threads) of the calls alone (module compile
// and instantiation excluded) and the wrapping sum of the results as a u64.
//
//     node [V8 FLAGS] papers/v8-no-osr/run.mjs FILE.wasm TOTAL K
//
// The Rust driver (papers/v8-no-osr/main.rs) starts one node process per measurement,
// so every measurement starts from cold code, as Strata does with a fresh Engine.
import { readFileSync } from "node:fs";

const [file, totalArg, kArg] = process.argv.slice(2);
if (!file || !totalArg || !kArg) {
  console.error("usage: node [V8 FLAGS] run.mjs FILE.wasm TOTAL K");
  process.exit(2);
}
const total = BigInt(totalArg);
const k = BigInt(kArg);
if (k < 1n || total < k || total / k + 1n > 2147483647n) {
  console.error(`bad split: TOTAL=${total} K=${k}`);
  process.exit(2);
}
const base = Number(total / k);
const rem = Number(total % k);
const calls = Number(k);

const module = new WebAssembly.Module(readFileSync(file));
const instance = new WebAssembly.Instance(module, {});
const run = instance.exports.run;

let sum = 0n;
const cpu0 = process.cpuUsage();
const start = process.hrtime.bigint();
for (let i = 0; i < calls; i++) {
  sum += run(i < rem ? base + 1 : base);
}
const elapsed = process.hrtime.bigint() - start;
const cpu = process.cpuUsage(cpu0);
sum = BigInt.asUintN(64, sum);
console.log(
  `wall=${Number(elapsed) / 1e9} cpu=${(cpu.user + cpu.system) / 1e6} checksum=${sum}`,
);
