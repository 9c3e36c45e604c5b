// Validate every node's properties of a flow document against its activity's input schema
// with ajv (JSON Schema 2020-12), the same schemas switchboard compiles from catalog/*.json.
// Usage: node ajv_bench.js FLOW.json ITERATIONS
const fs = require("fs");
const path = require("path");
const Ajv2020 = require("ajv/dist/2020");

const [file, itersArg] = process.argv.slice(2);
const iters = Number(itersArg || 200);
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
const catalogDir = path.join(__dirname, "..", "..", "catalog");
const validators = new Map();
for (const f of fs.readdirSync(catalogDir).filter((f) => f.endsWith(".json"))) {
  const doc = JSON.parse(fs.readFileSync(path.join(catalogDir, f), "utf8"));
  for (const a of doc.activities || []) validators.set(a.activityName, ajv.compile(a.inputSchema));
}
const text = fs.readFileSync(file, "utf8");

function run(parse) {
  const flow = parse ? JSON.parse(text) : parsed;
  let errors = 0;
  for (const n of flow.nodes) {
    const v = validators.get(n.properties.activityName);
    if (v && !v(n.properties)) errors += v.errors.length;
  }
  return errors;
}
const parsed = JSON.parse(text);
function median(parse) {
  for (let i = 0; i < 20; i++) run(parse);
  const times = [];
  for (let i = 0; i < iters; i++) {
    const t = process.hrtime.bigint();
    run(parse);
    times.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}
console.log(JSON.stringify({ ajv_schemas_only_us: median(false), ajv_parse_and_schemas_us: median(true) }));
