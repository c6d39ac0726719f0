#!/usr/bin/env bash
# Runs LargeMessages.SixteenMebibyteMessagesCauseNoElection N times beside a load, and counts how
# often it passed ([robustness] item 6: a 16 MiB message must cause no election).
#
#   tools/large-message-stress.sh [N] [cpu|disk|both] [BUILD_DIR]
#     cpu   other integration tests in a loop beside it, as `ctest -j 2` does in CI
#     disk  dd writing 512 MiB with fsync in a loop (a busy disk)
#     both  the two together
# Defaults: 10, cpu, build/test. The logs of failed runs are kept and named.
set -uo pipefail
n=${1:-10}; load=${2:-cpu}; build=${3:-build/test}
cd "$(dirname "$0")/.."
tests=$build/tests/integration/integration_tests
work=$(mktemp -d /tmp/bcast-stress-XXXXXX)
loops=()
if [[ $load == cpu || $load == both ]]; then
  # Stopped by a file, between runs, so that each run cleans up its own daemons.
  (while [[ ! -e $work/stop ]]; do
     "$tests" --gtest_filter='BadClient.*:Robustness.*:FlowControl.*' >/dev/null 2>&1
   done) &
  loops+=($!)
fi
if [[ $load == disk || $load == both ]]; then
  (while [[ ! -e $work/stop ]]; do
     dd if=/dev/zero of="$work/disk-load" bs=1M count=512 conv=fsync 2>/dev/null
   done) &
  loops+=($!)
fi
pass=0
for i in $(seq 1 "$n"); do
  if "$tests" --gtest_filter='LargeMessages.SixteenMebibyteMessagesCauseNoElection' \
      >"$work/run-$i.log" 2>&1; then
    pass=$((pass + 1))
    rm -f "$work/run-$i.log"
  else
    echo "run $i failed: $work/run-$i.log"
  fi
done
touch "$work/stop"
for loop in "${loops[@]}"; do wait "$loop"; done
rm -f "$work/disk-load" "$work/stop"
rmdir "$work" 2>/dev/null || true  # kept when it holds the logs of failed runs
echo "load=$load passed $pass of $n"
