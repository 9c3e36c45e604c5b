#!/usr/bin/env bash
# Validator scaling: strict validation of the generated 1,000- and 10,000-node flows, in
# interleaved rounds on core 0 (each round: the median of 50 validations per size, in a fresh
# process), and the ratio of the best rounds, so that a neighbour's load on the shared VM hits
# both sizes alike (criterion measures one size after the other). Goal: 10,000 ≤ 12× 1,000.
# Usage: bench/validate/scaling.sh [rounds]
set -euo pipefail
rounds=${1:-5}
root=$(cd "$(dirname "$0")/../.." && pwd)
out="$root/bench/out"; mkdir -p "$out"
cd "$root"
cargo build --release -q -p switchboard-validate --examples
for n in 1000 10000; do target/release/examples/gen_flow "$n" > "$out/flow-$n.json"; done
small=(); large=()
for _ in $(seq "$rounds"); do
  small+=("$(taskset -c 0 target/release/examples/profile 1000 "$out/flow-1000.json" | awk '$1=="validate_bytes" {print $2}')")
  large+=("$(taskset -c 0 target/release/examples/profile 10000 "$out/flow-10000.json" | awk '$1=="validate_bytes" {print $2}')")
done
python3 - "${small[*]}" "${large[*]}" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import sys
small, large = ([float(x) for x in a.split()] for a in sys.argv[1:3])
print(f"load average {sys.argv[3]}; per round (us): 1,000 nodes {small}, 10,000 nodes {large}")
print(f"best rounds: 1,000 nodes {min(small):.0f} us, 10,000 nodes {min(large):.0f} us -> {min(large)/min(small):.1f}x (goal <= 12x)")
PY
