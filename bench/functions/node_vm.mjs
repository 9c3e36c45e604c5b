// parseContact in one warm node process through the `vm` module, N times.
// Each call re-runs the compiled handler script in one context (fresh module scope per call,
// like switchboard's warm path), with JSON in and out. A second pass creates a new context
// per call. Prints one JSON line: {"warm_p50_us", "warm_p99_us", "warm_calls_per_s",
// "new_context_p50_us"}.
// Usage: node node_vm.mjs [N]
import { readFileSync } from "node:fs";
import vm from "node:vm";

const n = Number(process.argv[2] ?? 20000);
const source = readFileSync(new URL("./parse_contact.mjs", import.meta.url), "utf8");
// vm scripts are not modules: drop the `export` keyword and wrap the rest, unchanged, in a
// function so that each run gets its own top-level scope.
const script = new vm.Script(`(() => {\n${source.replace(/^export /m, "")}\nreturn handle;\n})()`, {
  filename: "parse_contact.js",
});
const inputs = JSON.stringify({ contact: { name: "John Doe", phone: "(415) 555-0132" } });

async function call(context) {
  const handle = script.runInContext(context);
  const response = await handle({ inputs: JSON.parse(inputs) }, { data: {} });
  return JSON.stringify(response.data);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

const context = vm.createContext({});
const expected = '{"phoneDigits":"4155550132","areaCode":"415"}';
for (let i = 0; i < 2000; i++) await call(context);
const times = [];
const started = process.hrtime.bigint();
for (let i = 0; i < n; i++) {
  const t = process.hrtime.bigint();
  const out = await call(context);
  times.push(Number(process.hrtime.bigint() - t) / 1000);
  if (out !== expected) throw new Error(`unexpected result ${out}`);
}
const totalS = Number(process.hrtime.bigint() - started) / 1e9;
times.sort((a, b) => a - b);

const fresh = [];
for (let i = 0; i < Math.min(n, 500); i++) {
  const t = process.hrtime.bigint();
  await call(vm.createContext({}));
  fresh.push(Number(process.hrtime.bigint() - t) / 1000);
}
fresh.sort((a, b) => a - b);

console.log(
  JSON.stringify({
    warm_p50_us: percentile(times, 50),
    warm_p99_us: percentile(times, 99),
    warm_calls_per_s: n / totalS,
    new_context_p50_us: percentile(fresh, 50),
  }),
);
