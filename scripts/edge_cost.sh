#!/usr/bin/env bash
# Instructions per GetAds call in the edge's handler path and in the floor's, counted by callgrind
# (repeatable on a busy machine, unlike seconds). Only the measured calls are counted: the driver
# runs them inside functools.reduce (see cartads/bench/edge/cost.py).
# usage: scripts/edge_cost.sh [CALLS]   (default 1000; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
calls=${1:-1000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
py=.venv/bin/python
$py -m cartads.bench.edge.cost --calls 1 --warm-up 0 --index-file "$work/index.bin" >/dev/null  # caches the index
for server in floor edge; do
  total=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect=functools_reduce \
    "$py" -m cartads.bench.edge.cost --server "$server" --calls "$calls" --warm-up 1000 \
    --index-file "$work/index.bin" 2>&1 >/dev/null | sed -n 's/.*Collected : \([0-9]*\).*/\1/p')
  echo "$server: $((total / calls)) instructions per call ($calls calls)"
done
