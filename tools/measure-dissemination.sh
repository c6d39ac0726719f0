#!/usr/bin/env bash
# Regenerates the figures of docs/dissemination.md from the simulator's broadcast scenario:
# messages per broadcast and rounds for reliable-eager vs gossip at n = 4 .. 1000, and gossip's
# loss tolerance. Usage: tools/measure-dissemination.sh [BUILD_DIR] (a Release build with
# bcast-sim; default build-rel). The n=1000 runs take minutes and ~2 GB of memory each; set
# SKIP_1000=1 to leave them out.
set -euo pipefail
build=${1:-build-rel}
sim="$build/tools/bcast-sim"
[[ -x $sim ]] || { echo "no $sim: build the bcast-sim target first" >&2; exit 1; }

shape() {  # n daemons: 3 voters and the rest learners (5 voters from 64 on)
  local n=$1 voters=3
  ((n >= 64)) && voters=5
  echo "--voters $voters --learners $((n - voters))"
}

echo "## messages per broadcast and rounds (no loss, fanout 3)"
for n in 4 8 16 32 64 128; do
  # shellcheck disable=SC2046
  "$sim" --scenario broadcast --cells reliable/none,gossip/none $(shape "$n") --seeds 1-5 --quiet |
    grep '^broadcast'
done
if [[ -z ${SKIP_1000:-} ]]; then
  # shellcheck disable=SC2046
  "$sim" --scenario broadcast --cells gossip/none $(shape 1000) --broadcasts 10 --quiet |
    grep '^broadcast'
  # shellcheck disable=SC2046
  "$sim" --scenario broadcast --cells reliable/none $(shape 1000) --broadcasts 3 --quiet |
    grep '^broadcast'
  # Total order at 1000 daemons: 5 voters, 995 learners; payloads ride in the Raft entries.
  # shellcheck disable=SC2046
  "$sim" --scenario broadcast --cells reliable/total $(shape 1000) --broadcasts 10 --quiet |
    grep -E '^(runs|total-order latency)'
fi

echo "## gossip loss tolerance (n = 64)"
for fanout in 3 6; do
  for loss in 0 10 30; do
    echo -n "fanout $fanout loss $loss%: "
    # shellcheck disable=SC2046
    "$sim" --scenario broadcast --cells gossip/none $(shape 64) --fanout "$fanout" \
      --loss-percent "$loss" --seeds 1-10 --quiet | grep '^broadcast'
  done
done
