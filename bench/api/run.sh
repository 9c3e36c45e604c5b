#!/usr/bin/env bash
# HTTP benchmark (issue: Flow Orchestration API). Server pinned to core 0, wrk to core 1.
#   1. GET flows/{id} of a 100-node flow on SQLite, beside a bare axum handler returning the
#      same bytes (the baseline), same run.
#   2. POST flows:validate of the same flow, 32 concurrent connections: p99, beside a bare axum
#      handler that reads the same body and answers the same bytes.
#   3. flows:import throughput on PostgreSQL (unique names; needs a local PostgreSQL).
# Usage: bench/api/run.sh [seconds per run, default 10]
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk"; exit 2; }
cargo build --release -q -p switchboard
cargo build --release -q -p switchboard-api --example bare
cargo build --release -q -p switchboard-validate --example gen_flow
bin=target/release/switchboard
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
target/release/examples/gen_flow 100 > "$work/flow.json"

start() { # start DATA_DIR PORT [extra args...]
  local data=$1 port=$2; shift 2
  taskset -c 0 $bin serve --listen 127.0.0.1:$port --data-dir "$data" --rate-limit-per-minute 0 "$@" > "$data.out" 2>/dev/null &
  for _ in $(seq 100); do grep -q "try:" "$data.out" 2>/dev/null && break; sleep 0.1; done
}
creds() { python3 -c "import json,sys;print(json.load(open('$1/credentials.json'))['$2'])"; }
wrk_run() { taskset -c 1 wrk -t1 "$@" --latency -d${secs}s; }
rps() { awk '/Requests\/sec/ {print $2}'; }
p99() { awk '$1=="99%" {print $2}'; }

start "$work/sqlite" 18181
org=$(creds "$work/sqlite" orgId); tok=$(creds "$work/sqlite" token)
v2="http://127.0.0.1:18181/$org/project/5e5c9ad6d61f870d6d778c1b/v2"
id=$(curl -s -X POST "$v2/flows:import" -H "Authorization: Bearer $tok" -H "Content-Type: application/json" --data @"$work/flow.json" | python3 -c "import json,sys;print(json.load(sys.stdin)['flow']['id'])")
curl -s "$v2/flows/$id" -H "Authorization: Bearer $tok" > "$work/body.json"
taskset -c 0 target/release/examples/bare 127.0.0.1:18182 "$work/body.json" & sleep 0.5

get_sb=$(wrk_run -c32 -H "Authorization: Bearer $tok" "$v2/flows/$id")
get_bare=$(wrk_run -c32 "http://127.0.0.1:18182/flows/$id")

cat > "$work/validate.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
local f = io.open("$work/flow.json", "rb"); wrk.body = f:read("*a"); f:close()
LUA
val=$(wrk_run -c32 -s "$work/validate.lua" "$v2/flows:validate?strict=true")
curl -s -X POST "$v2/flows:validate?strict=true" -H "Authorization: Bearer $tok" -H "Content-Type: application/json" --data @"$work/flow.json" > "$work/valid.json"
taskset -c 0 target/release/examples/bare 127.0.0.1:18184 "$work/valid.json" --read-body & sleep 0.5
val_bare=$(wrk_run -c32 -s "$work/validate.lua" "http://127.0.0.1:18184/flows:validate")

echo "GET flows/{id} (100-node flow, $(wc -c < "$work/body.json") bytes, 32 connections, SQLite)"
echo "  switchboard: $(echo "$get_sb" | rps) req/s, p99 $(echo "$get_sb" | p99)"
echo "  bare axum:   $(echo "$get_bare" | rps) req/s, p99 $(echo "$get_bare" | p99)"
python3 -c "print('  ratio switchboard/bare: %.2f' % ($(echo "$get_sb" | rps)/$(echo "$get_bare" | rps)))"
echo "POST flows:validate?strict=true (100 nodes, 32 connections)"
echo "  switchboard: $(echo "$val" | rps) req/s, p50 $(echo "$val" | awk '$1=="50%" {print $2}'), p99 $(echo "$val" | p99)"
echo "  bare axum reading the body: $(echo "$val_bare" | rps) req/s, p50 $(echo "$val_bare" | awk '$1=="50%" {print $2}'), p99 $(echo "$val_bare" | p99)"

# 4. POST functions/{id}:test of the guide's parseContact over HTTP (SQLite server).
fbase="http://127.0.0.1:18181/v1/$org/functions"
cat > "$work/fn.json" <<'JSON'
{"name": "parseContact", "language": "js", "selectedRuntime": "nodejs22.x", "timeoutInSec": 3,
 "sourceCode": "export const handle = async (request, response) => {\n  const phoneDigits = String(request.inputs.contact.phone).replace(/\\D/g, \"\");\n  response.data = { phoneDigits, areaCode: phoneDigits.slice(0, 3) };\n  return response;\n};",
 "inputs": [{"name": "contact", "dataType": "json", "value": "{\"name\":\"John Doe\",\"phone\":\"(415) 555-0132\"}"}],
 "outputs": "{\"phoneDigits\":\"4155550132\",\"areaCode\":\"415\"}"}
JSON
fid=$(curl -s -X POST "$fbase" -H "Authorization: Bearer $tok" -H "Content-Type: application/json" --data @"$work/fn.json" | python3 -c "import json,sys;print(json.load(sys.stdin)['fnMetadata']['id'])")
test_body='{"inputs": {"contact": {"name": "John Doe", "phone": "(415) 555-0132"}}}'
curl -s -X POST "$fbase/$fid:test" -H "Authorization: Bearer $tok" -H "Content-Type: application/json" --data "$test_body" > "$work/test-answer.json"
grep -q 4155550132 "$work/test-answer.json" || { echo "parseContact :test failed: $(cat "$work/test-answer.json")"; exit 1; }
cat > "$work/test.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
wrk.body = '$test_body'
LUA
fntest1=$(wrk_run -c1 -s "$work/test.lua" "$fbase/$fid:test")
fntest=$(wrk_run -c32 -s "$work/test.lua" "$fbase/$fid:test")
echo "POST functions/{id}:test (parseContact, 1 connection)"
echo "  $(echo "$fntest1" | rps) req/s, p50 $(echo "$fntest1" | awk '$1=="50%" {print $2}'), p99 $(echo "$fntest1" | p99)"
echo "POST functions/{id}:test (parseContact, 32 connections)"
echo "  $(echo "$fntest" | rps) req/s, p50 $(echo "$fntest" | awk '$1=="50%" {print $2}'), p99 $(echo "$fntest" | p99)"

pg=${SWITCHBOARD_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/switchboard_bench}
if psql "${pg%/*}/postgres" -qc "select 1" >/dev/null 2>&1; then
  psql "${pg%/*}/postgres" -qc "drop database if exists switchboard_bench" -qc "create database switchboard_bench" >/dev/null
  start "$work/pg" 18183 --database-url "$pg"
  org=$(creds "$work/pg" orgId); tok=$(creds "$work/pg" token)
  python3 - "$work/flow.json" > "$work/flow-template.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["name"] = "BENCH_NAME"; print(json.dumps(d))
PY
  cat > "$work/import.lua" <<LUA
local f = io.open("$work/flow-template.json", "rb"); local body = f:read("*a"); f:close()
local n = 0
request = function()
  n = n + 1
  local b = body:gsub("BENCH_NAME", "bench-" .. tostring(math.random(1, 1e9)) .. "-" .. n)
  return wrk.format("POST", "/$org/project/5e5c9ad6d61f870d6d778c1b/v2/flows:import",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer $tok"}, b)
end
LUA
  imp=$(wrk_run -c16 -s "$work/import.lua" "http://127.0.0.1:18183")
  echo "POST flows:import on PostgreSQL (100-node flows, unique names, 16 connections)"
  echo "  $(echo "$imp" | rps) imports/s, p99 $(echo "$imp" | p99)"
else
  echo "PostgreSQL import: skipped (no PostgreSQL at $pg)"
fi
