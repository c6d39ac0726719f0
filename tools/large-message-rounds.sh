#!/usr/bin/env bash
# Sends COUNT total-order messages of SIZE bytes (2 a second) through a fresh 3-daemon cluster and
# reports what they cost the daemons: CPU time, minor page faults, and the event-loop rounds over
# half the election timeout that the daemons logged (`slow event-loop round`, at most one line per
# daemon per 10 s). MALLOC_CONF in the environment reaches the daemons (daemon/allocator.cpp).
#
#   tools/large-message-rounds.sh [COUNT] [SIZE] [BUILD_DIR]     defaults: 16, 16000000, build/test
set -euo pipefail
count=${1:-16}; size=${2:-16000000}; build=${3:-build/test}
cd "$(dirname "$0")/.."
export BCAST_CLUSTER_DIR
BCAST_CLUSTER_DIR=$(mktemp -d /tmp/bcast-rounds-XXXXXX)
trap 'tools/local-cluster stop >/dev/null 2>&1; rm -rf "$BCAST_CLUSTER_DIR"' EXIT
tools/local-cluster start 3 --build "$build" --base-port $((20000 + RANDOM % 20000)) -- \
  --max-message-bytes 16777216 >/dev/null
tools/local-cluster wait-leader >/dev/null
pids=$(cat "$BCAST_CLUSTER_DIR"/n*/pid)
cpu_ticks() { local t=0; for p in $pids; do read -r u s < <(cut -d' ' -f14,15 /proc/$p/stat); t=$((t + u + s)); done; echo $t; }
faults() { local t=0; for p in $pids; do t=$((t + $(cut -d' ' -f10 /proc/$p/stat))); done; echo $t; }
cpu_before=$(cpu_ticks); faults_before=$(faults)
"$build/tools/bcastctl" --timeout 30000 bench big --size "$size" --count "$count" --rate 2 \
  --order total --sub 1 \
  --sockets "$BCAST_CLUSTER_DIR/n2/bcastd.sock,$BCAST_CLUSTER_DIR/n3/bcastd.sock" | sed -n 2,4p
echo "daemon CPU: $(( (($(cpu_ticks) - cpu_before) * 1000) / $(getconf CLK_TCK) )) ms," \
  "minor page faults: $(( $(faults) - faults_before )) (MALLOC_CONF=${MALLOC_CONF:-})"
echo "slow rounds logged: $(cat "$BCAST_CLUSTER_DIR"/n*/bcastd.log | grep -c 'slow event-loop round' || true)"
grep -h 'slow event-loop round' "$BCAST_CLUSTER_DIR"/n*/bcastd.log | sed 's/.*round: /  /; s/;.*//' || true
