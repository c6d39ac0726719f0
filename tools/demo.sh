#!/usr/bin/env bash
# The main job: installs what is missing, builds, starts a local 3-daemon cluster on loopback,
# and shows messages flowing in every mode x order cell with their seq and gseq; then stops
# the cluster and removes its directory.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
build="$root/build/release"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j "$(nproc)" --target bcastd bcastctl
bcastctl="$build/tools/bcastctl"

dir=$(mktemp -d /tmp/bcast-demo.XXXXXX)
port=$((20000 + RANDOM % 20000))
cluster() { "$root/tools/local-cluster" "$@" --dir "$dir"; }
subs=()
cleanup() {
  for p in "${subs[@]}"; do kill "$p" 2>/dev/null || true; done
  cluster stop 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

echo "== starting 3 daemons on 127.0.0.1:$((port + 1))-$((port + 3)) in $dir"
"$root/tools/local-cluster" start 3 --dir "$dir" --base-port "$port" --build "$build"
sock() { cluster socket "$1"; }

cells=(best-effort/none best-effort/fifo reliable/none reliable/fifo reliable/causal reliable/total
  gossip/none gossip/fifo gossip/causal gossip/total)
for cell in "${cells[@]}"; do
  mode=${cell%/*} order=${cell#*/} group="demo-${mode}-${order}"
  echo
  echo "== $mode / $order: daemons 1 and 3 publish two messages each; daemon 2 subscribes"
  out="$dir/sub-$mode-$order.jsonl"
  "$bcastctl" --socket "$(sock 2)" sub "$group" --json --count 4 >"$out" &
  subs+=($!)
  for ((t = 0; t < 200; t++)); do grep -q '"view"' "$out" 2>/dev/null && break; sleep 0.05; done
  echo "-- receipts at daemon 1:"
  "$bcastctl" --socket "$(sock 1)" pub "$group" --mode "$mode" --order "$order" --json \
    "hello from daemon 1" "second from daemon 1"
  echo "-- receipts at daemon 3:"
  "$bcastctl" --socket "$(sock 3)" pub "$group" --mode "$mode" --order "$order" --json \
    "hello from daemon 3" "second from daemon 3"
  for ((t = 0; t < 200; t++)); do
    [[ $(grep -c '"message"' "$out" || true) -ge 4 ]] && break
    sleep 0.05
  done
  echo "-- delivered at daemon 2:"
  grep '"message"' "$out" || true
done

echo
echo "== cluster status"
cluster status
echo
echo "== stopping the cluster"
