#!/usr/bin/env bash
# The KV store against etcd in the same run (docs/performance.md): the same bcast-kv-bench load
# (same client threads, same keys, same operations) against 3 etcd members, then against
# 3 bcastd daemons, one after the other on the same machine. Installs Debian's etcd-server if
# etcd is missing. Both sides sync to disk before acknowledging (etcd's WAL fsync, bcastd's
# --fsync always); both run plain TCP on loopback (local-cluster --no-keys; etcd without TLS).
#
#   examples/kv/bench/etcd_compare.sh [BUILD_DIR] [SECONDS] [CLIENTS]
#
# Levels: put; strong (etcd: a linearizable range); eventual (etcd: a serializable range, the
# member's local state; bcastd: the local replica). One JSON line per system and level.
set -euo pipefail

build=${1:-build/release}
seconds=${2:-10}
clients=${3:-8}
bench=$build/examples/kv/bcast-kv-bench
[[ -x $bench ]] || { echo "etcd_compare.sh: $bench is not built" >&2; exit 1; }
if ! command -v etcd >/dev/null; then
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo=sudo
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y etcd-server >/dev/null
fi
command -v curl >/dev/null || { echo "etcd_compare.sh: needs curl" >&2; exit 1; }

dir=$(mktemp -d /tmp/kv-etcd.XXXXXX)
port=$((20000 + RANDOM % 30000))
etcd_pids=()
cleanup() {
  for pid in "${etcd_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  tools/local-cluster stop --dir "$dir/bcast" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

# etcd: members 1..3, client port base+10+i, peer port base+20+i.
initial=""
for i in 1 2 3; do initial+="${initial:+,}e$i=http://127.0.0.1:$((port + 20 + i))"; done
urls=()
for i in 1 2 3; do
  client_url=http://127.0.0.1:$((port + 10 + i))
  urls+=(--etcd "$client_url")
  etcd --name "e$i" --data-dir "$dir/e$i" \
    --listen-client-urls "$client_url" --advertise-client-urls "$client_url" \
    --listen-peer-urls "http://127.0.0.1:$((port + 20 + i))" \
    --initial-advertise-peer-urls "http://127.0.0.1:$((port + 20 + i))" \
    --initial-cluster "$initial" --initial-cluster-state new \
    --initial-cluster-token kv-bench >"$dir/e$i.log" 2>&1 &
  etcd_pids+=($!)
done
for ((t = 0; t < 100; t++)); do
  [[ $(curl -fs "http://127.0.0.1:$((port + 11))/health" || true) == *'"health":"true"'* ]] && break
  sleep 0.1
done
etcd --version >&2
for level in put strong eventual; do
  "$bench" "${urls[@]}" --level "$level" --seconds "$seconds" --clients "$clients" \
    --writers "$([[ $level == put ]] && echo 0 || echo 1)"
done
for pid in "${etcd_pids[@]}"; do kill "$pid"; done
wait 2>/dev/null || true
etcd_pids=()

tools/local-cluster start 3 --dir "$dir/bcast" --base-port "$port" --build "$build" --no-keys \
  >/dev/null
tools/local-cluster wait-leader --dir "$dir/bcast" >/dev/null
sockets=()
for i in 1 2 3; do sockets+=(--socket "$(tools/local-cluster socket "$i" --dir "$dir/bcast")"); done
for level in put strong eventual; do
  "$bench" "${sockets[@]}" --group "bench-$level" --level "$level" --seconds "$seconds" \
    --clients "$clients" --writers "$([[ $level == put ]] && echo 0 || echo 1)"
done
