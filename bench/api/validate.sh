#!/usr/bin/env bash
# Only the flows:validate step of run.sh: POST flows:validate?strict=true of a 100-node flow,
# 32 connections, server on core 0, wrk on core 1. Usage: bench/api/validate.sh [seconds]
set -euo pipefail
secs=${1:-10}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk"; exit 2; }
cargo build --release -q -p switchboard
cargo build --release -q -p switchboard-validate --example gen_flow
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
target/release/examples/gen_flow 100 > "$work/flow.json"
taskset -c 0 target/release/switchboard serve --listen 127.0.0.1:18191 --data-dir "$work/data" \
  --rate-limit-per-minute 0 > "$work/out" 2>/dev/null &
for _ in $(seq 100); do grep -q "try:" "$work/out" 2>/dev/null && break; sleep 0.1; done
creds() { python3 -c "import json;print(json.load(open('$work/data/credentials.json'))['$1'])"; }
org=$(creds orgId); tok=$(creds token)
cat > "$work/v.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $tok"
local f = io.open("$work/flow.json", "rb"); wrk.body = f:read("*a"); f:close()
LUA
url="http://127.0.0.1:18191/$org/project/5e5c9ad6d61f870d6d778c1b/v2/flows:validate?strict=true"
taskset -c 1 wrk -t1 -c32 -d2s -s "$work/v.lua" "$url" > /dev/null   # warm-up
out=$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" --latency -s "$work/v.lua" "$url")
echo "POST flows:validate?strict=true (100 nodes, 32 connections, load average $(cut -d' ' -f1 /proc/loadavg))"
echo "  $(echo "$out" | awk '/Requests\/sec/ {print $2}') req/s, p50 $(echo "$out" | awk '$1=="50%" {print $2}'), p99 $(echo "$out" | awk '$1=="99%" {print $2}')"
