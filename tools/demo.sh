#!/usr/bin/env bash
# The main job: installs what is missing, builds, and shows the cluster at work.
#
# Today bcastd's protocols run in the deterministic simulator only (the daemon and its local
# socket are the next milestone): this builds everything and runs a simulated 3-voter cluster
# through crashes and partitions, printing elections and commits as they happen, then a summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tools/setup.sh"
cmake -S "$root" -B "$root/build/release" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build/release" -j "$(nproc)" --target bcast-sim
sim="$root/build/release/tools/bcast-sim"

echo "== one simulated cluster: 3 voters, faults for 5 s of virtual time, then healing"
"$sim" --seed 7 --voters 3 --fault-ms 5000 --heal-ms 5000 --trace |
  grep -E 'LEADS|CRASH|RESTART|PARTITION|HEAL|ok seed|FAIL' | head -40
echo
echo "== 200 seeds of the same, every safety checker on"
"$sim" --seeds 1-200 --voters 3 --fault-ms 5000 --heal-ms 5000 --quiet
