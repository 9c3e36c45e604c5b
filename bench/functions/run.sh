#!/usr/bin/env bash
# parseContact through switchboard's function runtimes, beside node, in one run.
#
#   bench/functions/run.sh            # full run (~1 minute), prints a Markdown table
#   bench/functions/run.sh --quick    # a tenth of the iterations
#   bench/functions/run.sh --json     # the raw figures
#
# Measures: a warm in-process QuickJS call, the first call of a new function version, a call in
# a new realm (the cold path: context + prelude + lockdown + module + call) and freeing the
# replaced one, a new engine, throughput on two threads (engine and async host), how promptly an
# infinite loop is stopped, warm and cold CPython worker calls, and the same handler in a fresh
# `node` process per call (N=20) and in one warm node process through `vm`
# (bench/functions/node_vm.mjs).
# Needs cargo; python3 and node are used when present. The criterion benchmarks are separate:
#   cargo bench -p switchboard-functions
set -euo pipefail
cd "$(dirname "$0")/../.."
exec cargo run --quiet --release -p switchboard-functions --example bench_report -- "$@"
