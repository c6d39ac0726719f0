#!/usr/bin/env bash
# bcastd's performance against the raw ZeroMQ ceiling, in one run on one machine
# (docs/performance.md explains what is measured and how to read it).
#
#   tools/bench.sh [--size BYTES] [--count N] [--rate MSGS_PER_S] [--latency-count M]
#                  [--cells MODE/ORDER,...] [--window W] [--fsync always|none] [--no-keys]
#                  [--no-build]
#   tools/bench.sh --replay N [--size BYTES] [--no-keys] [--no-build]
#
# --replay N: instead of the table, N total-order messages are published and delivered live,
# then replayed from gseq 1 out of daemon 2's history (bcast_replay_bench): replay msgs/s as a
# ratio to live delivery in the same run, and daemon 2's RSS during the replay. Its history
# bound is raised to hold them all (--history-max-bytes).
#
# Builds a Release tree (build/release: bcastd, bcastctl, bcast_bench_zmq, bcast_bench), notes
# the machine, runs the ZeroMQ baseline (a fan-out to 2 peers over loopback TCP, and the same
# hops a message takes through bcastd with no bcastd work), starts a 3-daemon cluster on free
# loopback ports in a temporary directory (tools/local-cluster; --fsync always unless FSYNC=none
# or --fsync none), runs bcast_bench with its publisher on daemon 1 and its subscriber on
# daemon 2 (peer links with CURVE keys, as local-cluster runs them, unless --no-keys), prints one table with absolute figures and ratios to the baseline, and stops the
# cluster whatever happens. Defaults (about a minute and a half after the build): 1024-byte
# messages, 50000 per throughput run, latency at 1000 msg/s over 5000 messages.
# Environment: FSYNC, JOBS (build parallelism, default nproc), KEEP=1 keeps the temporary
# directory (daemon logs, data directories, key=value results, every latency sample).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

size=1024 count=50000 rate=1000 latency_count=5000 window=1024 build=1 replay=0
key_option=()
cells=reliable/none,reliable/fifo,reliable/total,gossip/none,gossip/total,best-effort/none
fsync=${FSYNC:-always}
die() { echo "bench: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --size) size=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --latency-count) latency_count=$2; shift 2 ;;
    --cells) cells=$2; shift 2 ;;
    --window) window=$2; shift 2 ;;
    --fsync) fsync=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --no-keys) key_option=(--no-keys); shift ;;
    --replay) replay=$2; shift 2 ;;
    -h | --help) awk 'NR > 1 && !/^#/ {exit} NR > 1 {sub(/^# ?/, ""); print}' "$0"; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
done
[[ $fsync == always || $fsync == none ]] || die "--fsync always or none"

out=build/release
if [[ $build == 1 ]]; then
  echo "== build (Release)"
  cmake -S . -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$out" -j "${JOBS:-$(nproc)}" --target bcastd bcastctl bcast_bench_zmq bcast_bench \
    bcast_replay_bench
fi
grep -q 'CMAKE_BUILD_TYPE:STRING=Release' "$out/CMakeCache.txt" || die "$out is not a Release build"
for binary in daemon/bcastd tools/bcastctl tools/bcast_bench_zmq tools/bcast_bench; do
  [[ -x $out/$binary ]] || die "no $out/$binary (run without --no-build)"
done

tmp=$(mktemp -d /tmp/bcast-bench.XXXXXX)
cluster=$tmp/cluster
child=""
# Runs a benchmark in the background and waits for it, so that a signal reaches the traps at
# once (bash runs traps only between foreground commands) and the cleanup can stop it.
run() {
  "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=""
  return "$status"
}
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [[ -n $child ]]; then kill "$child" 2>/dev/null || true; fi
  if [[ -f $cluster/cluster.env ]]; then
    tools/local-cluster stop --dir "$cluster" >/dev/null 2>&1 || true
  fi
  if [[ ${KEEP:-0} == 1 ]]; then echo "bench: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== machine"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
echo "cpus: $(nproc) x ${cpu:-unknown}; kernel $(uname -sr); memory $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work may share this machine)"
echo "data dir: $tmp ($(df -T "$tmp" | awk 'NR == 2 {print $2}')), fsync $fsync"
# One synchronous 4 KiB write costs about what one daemon round's fsync costs.
sync_seconds=$( { TIMEFORMAT=%R; time dd if=/dev/zero of="$tmp/probe" bs=4k count=200 oflag=dsync \
  status=none; } 2>&1)
rm -f "$tmp/probe"
echo "synchronous 4 KiB write (dd oflag=dsync, mean of 200): $(awk -v s="$sync_seconds" \
  'BEGIN {printf "%.2f ms", s * 1000 / 200}')"
tree="commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
git diff --quiet HEAD 2>/dev/null || tree+=" with local changes"
[[ $build == 1 ]] || tree+=" (--no-build: the binaries may be older)"
echo "build: $(grep -m1 'CMAKE_CXX_COMPILER:' "$out/CMakeCache.txt" | cut -d= -f2) Release, $tree"

history_option=()
if [[ $replay -gt 0 ]]; then
  # Room for every replayed message (records carry ~60 bytes beside the payload), at least 1 GiB.
  history_option=(--history-max-bytes $(((replay * (size + 128) > 1 << 30) ? replay * (size + 128) : 1 << 30)))
else
echo "== raw ZeroMQ baseline"
run "$out/tools/bcast_bench_zmq" --size "$size" --count "$count" --rate "$rate" \
  --latency-count "$latency_count" --out "$tmp/zmq.txt"
fi

echo "== bcastd cluster (3 daemons, fsync $fsync)"
port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
started=0
for _ in 1 2 3 4 5; do
  base=$((20000 + RANDOM % 40000))
  if ! port_free $((base + 1)) || ! port_free $((base + 2)) || ! port_free $((base + 3)); then
    continue
  fi
  if tools/local-cluster start 3 --dir "$cluster" --base-port "$base" --build "$out" \
    "${key_option[@]}" -- --fsync "$fsync" "${history_option[@]}"; then
    started=1
    break
  fi
  tools/local-cluster stop --dir "$cluster" >/dev/null 2>&1 || true
  rm -rf "$cluster"
  echo "bench: cluster did not start on ports $((base + 1))-$((base + 3)); trying others" >&2
done
[[ $started == 1 ]] || die "could not start a cluster"
tools/local-cluster status --dir "$cluster"

status=0
if [[ $replay -gt 0 ]]; then
  echo "== replay benchmark ($replay total-order messages of $size bytes)"
  run "$out/tools/bcast_replay_bench" --pub "$(tools/local-cluster socket 1 --dir "$cluster")" \
    --sub "$(tools/local-cluster socket 2 --dir "$cluster")" --count "$replay" --size "$size" \
    --daemon-pid "$(cat "$cluster/n2/pid")" || status=$?
  echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit "$status"
fi
echo "== bcastd benchmark"
run "$out/tools/bcast_bench" --pub "$(tools/local-cluster socket 1 --dir "$cluster")" \
  --sub "$(tools/local-cluster socket 2 --dir "$cluster")" --cells "$cells" --size "$size" \
  --count "$count" --rate "$rate" --latency-count "$latency_count" --window "$window" \
  --baseline "$tmp/zmq.txt" --out "$tmp/bcast.txt" --samples "$tmp/samples.txt" || status=$?
echo
echo "cluster after the run:"
tools/local-cluster status --dir "$cluster"
# More than one "leader of term" line means an election happened during the run.
echo "daemon logs (start lines left out; first 20):"
grep -h -v -e 'started:' -e 'stopped' "$cluster"/n*/bcastd.log | head -n 20
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
[[ $status == 0 ]] || echo "bench: bcast_bench reported problems (exit $status); see PROBLEM lines above" >&2
exit "$status"
