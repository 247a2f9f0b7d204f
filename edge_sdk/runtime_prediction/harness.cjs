// Node.js measurement process (the JS twin of harness.py): node [--liftoff-only|--no-liftoff] harness.cjs
// MODULE REPS|loop. Compiles and instantiates first, prints "ready", then times each call of `run`.
const fs = require("fs");
const [path, reps] = process.argv.slice(2);
const wasmModule = new WebAssembly.Module(fs.readFileSync(path));
const run = new WebAssembly.Instance(wasmModule, {}).exports.run;
console.log("ready");
if (reps === "loop") {
  for (;;) run();
}
const times = [];
for (let i = 0; i < Number(reps); i++) {
  const start = process.hrtime.bigint();
  run();
  times.push(Number(process.hrtime.bigint() - start) / 1e9);
}
console.log(JSON.stringify({ times }));
