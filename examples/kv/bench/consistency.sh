#!/usr/bin/env bash
# The measured cost of each read level of examples/kv on a 3-daemon local cluster
# (docs/consistency.md): starts tools/local-cluster in a temporary directory, runs
# bcast-kv-bench once per level (and once for writes), prints one JSON line each, stops.
#
#   examples/kv/bench/consistency.sh [BUILD_DIR] [SECONDS] [CLIENTS] [WRITERS]
#
# BUILD_DIR (default build/release) must hold daemon/bcastd, tools/bcastctl and
# examples/kv/bcast-kv-bench. Run from the repository root.
set -euo pipefail

build=${1:-build/release}
seconds=${2:-10}
clients=${3:-8}
writers=${4:-1}
bench=$build/examples/kv/bcast-kv-bench
[[ -x $bench ]] || { echo "consistency.sh: $bench is not built" >&2; exit 1; }
dir=$(mktemp -d /tmp/kv-bench.XXXXXX)
port=$((20000 + RANDOM % 30000))
trap 'tools/local-cluster stop --dir "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
tools/local-cluster start 3 --dir "$dir" --base-port "$port" --build "$build" >/dev/null
tools/local-cluster wait-leader --dir "$dir" >/dev/null
sockets=()
for i in 1 2 3; do sockets+=(--socket "$(tools/local-cluster socket "$i" --dir "$dir")"); done
for level in strong sequential eventual put; do
  "$bench" "${sockets[@]}" --group "bench-$level" --level "$level" --seconds "$seconds" \
    --clients "$clients" --writers "$([[ $level == put ]] && echo 0 || echo "$writers")"
done
