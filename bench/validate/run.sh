#!/usr/bin/env bash
# Validator benchmark beside ajv: the same 1,000-node document, the same schemas, same run.
# Five interleaved rounds (switchboard, then ajv), both on core 0; each side's median per round, and the ratio
# of the best rounds, so that a neighbour's load on the shared VM hits both sides alike.
# Usage: bench/validate/run.sh [rounds]   (needs node + npm; installs ajv locally on first run)
set -euo pipefail
rounds=${1:-5}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out="$root/bench/out"; mkdir -p "$out"
[ -d "$here/node_modules/ajv" ] || (cd "$here" && npm install --silent --no-audit --no-fund >/dev/null)
cd "$root"
cargo build --release -q -p switchboard-validate --examples
target/release/examples/gen_flow 1000 > "$out/flow-1000.json"
ours=(); ajv=(); only=()
for _ in $(seq "$rounds"); do
  ours+=("$(taskset -c 0 target/release/examples/profile 1000 "$out/flow-1000.json" | awk '$1=="validate_bytes" {print $2}')")
  a=$(taskset -c 0 node "$here/ajv_bench.js" "$out/flow-1000.json" 300)
  ajv+=("$(echo "$a" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ajv_parse_and_schemas_us"])')")
  only+=("$(echo "$a" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ajv_schemas_only_us"])')")
done
python3 - "${ours[*]}" "${ajv[*]}" "${only[*]}" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import sys
ours, ajv, only = ([float(x) for x in a.split()] for a in sys.argv[1:4])
print(f"load average {sys.argv[4]}; per round (us): switchboard {ours}, ajv {ajv}")
print(f"switchboard strict validation from bytes (parse + schemas + graph rules), best round: {min(ours):.0f} us")
print(f"ajv JSON.parse + schemas, best round: {min(ajv):.0f} us -> ajv / switchboard {min(ajv)/min(ours):.2f}x")
print(f"ajv schemas only (already parsed), best round: {min(only):.0f} us")
PY
