#!/usr/bin/env bash
# lib/core is the pure protocol core: no sockets, serialization libraries, threads, clocks,
# platform randomness or file I/O. Everything it needs comes in through its inputs.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
forbidden='#[[:space:]]*include[[:space:]]*[<"](zmq\.h|zmq\.hpp|zmq_addon\.hpp|msgpack[^>"]*|thread|mutex|shared_mutex|condition_variable|future|atomic|chrono|ctime|time\.h|sys/time\.h|random|fstream|filesystem|cstdio|stdio\.h|unistd\.h|fcntl\.h|sys/[^>"]*|io/[^>"]*|boost/[^>"]*|iostream)[>"]'
# cstdio is allowed only for the fatal diagnostic before abort() in invariant.cpp.
hits=$(grep -rnE "$forbidden" "$root/lib/core" | grep -v 'lib/core/invariant.cpp:.*<cstdio>' || true)
if [ -n "$hits" ]; then
  echo "lib/core must stay free of I/O, threads, clocks and platform randomness:"
  echo "$hits"
  exit 1
fi
calls=$(grep -rnE '\b(std::rand|rand|srand|time|clock_gettime|gettimeofday|fopen|open|socket)\(' "$root/lib/core" \
  | grep -vE '//|\.open\(|_open\(' || true)
if [ -n "$calls" ]; then
  echo "lib/core calls the platform directly:"
  echo "$calls"
  exit 1
fi
echo "lib/core is pure"
