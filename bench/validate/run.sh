#!/usr/bin/env bash
# Validator benchmark beside ajv: the same 1,000-node document, the same schemas, same run.
# Usage: bench/validate/run.sh   (needs node + npm; installs ajv locally on first run)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/bench/out"; mkdir -p "$out"
[ -d "$here/node_modules/ajv" ] || (cd "$here" && npm install --silent --no-audit --no-fund >/dev/null)
cd "$root"
cargo run --release -q -p switchboard-validate --example gen_flow -- 1000 > "$out/flow-1000.json"
ours=$(cargo run --release -q -p switchboard-validate --example profile -- 1000 "$out/flow-1000.json")
ajv=$(node "$here/ajv_bench.js" "$out/flow-1000.json" 300)
echo "$ours"
echo "ajv: $ajv"
python3 - "$ours" "$ajv" <<'PY'
import json, sys
ours = {l.split()[0]: float(l.split()[1]) for l in sys.argv[1].splitlines() if l.strip()}
ajv = json.loads(sys.argv[2])
s = ours["validate_bytes"]
print(f"switchboard strict validation from bytes (parse + schemas + graph rules): {s:.0f} us")
print(f"ajv schemas only: {ajv['ajv_schemas_only_us']:.0f} us -> ratio ajv/switchboard {ajv['ajv_schemas_only_us']/s:.2f}x")
print(f"ajv JSON.parse + schemas: {ajv['ajv_parse_and_schemas_us']:.0f} us -> ratio ajv/switchboard {ajv['ajv_parse_and_schemas_us']/s:.2f}x")
PY
