#!/usr/bin/env bash
# The whole test suite, runnable on a fresh Debian 12 machine as root: installs what is missing,
# builds, runs every test; then rebuilds the unit, storage and simulation tests under
# AddressSanitizer + UndefinedBehaviorSanitizer and runs them again, and the client library's
# tests under ThreadSanitizer.
#
#   tools/test.sh            the CI suite (a few minutes on 2 cores)
#   BCAST_SIM_SEEDS=5000 BCAST_CRASH_POINTS=200000 tools/test.sh   long mode
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
"$root/tools/setup.sh"

jobs=$(nproc)
# Optimized, with assertions kept (no -DNDEBUG): tests want both speed and checks.
configure() {
  local dir=$1
  shift
  cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" "$@" >/dev/null
}

echo "== build (RelWithDebInfo, assertions on)"
configure build/test
cmake --build build/test -j "$jobs"
echo "== test"
ctest --test-dir build/test --output-on-failure -j "$jobs"

echo "== build (ASan + UBSan)"
configure build/asan -DBCAST_SANITIZE=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"
cmake --build build/asan -j "$jobs" --target unit_tests storage_tests sim_tests peer_codec_tests client_tests daemon_options_tests \
  ops_tests daemon_io_tests crdt_tests lock_tests chat_tests kv_unit_tests
echo "== test (ASan + UBSan)"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The sanitized simulation runs fewer seeds per sweep; the optimized build above runs them all.
BCAST_SIM_SEEDS=${BCAST_SIM_SEEDS_SANITIZED:-25} \
  ctest --test-dir build/asan --output-on-failure -j "$jobs" -L sanitize
# CMake 3.25's gtest_discover_tests keeps only the first of several labels, so these (labelled
# ops or examples) run here by name: the daemon's operations code and the examples' pure logic.
for test in tests/ops/ops_tests examples/crdt/crdt_tests examples/lock/lock_tests \
  examples/chat/chat_tests examples/kv/tests/kv_unit_tests; do
  "build/asan/$test" --gtest_brief=1
done

# The client library is the part users run in their own threads: its tests (a fake daemon in a
# thread of the test) again under ThreadSanitizer. libzmq itself is not instrumented, so its
# internal hand-offs are suppressed (tests/client/tsan.supp says why). About 35 s on 2 cores.
# The daemon's own helper threads, the storage and history writers, are tested the same way
# (StorageWriter.*, HistoryBackground.*).
echo "== build (TSan: client tests, the daemon's storage thread)"
configure build/tsan -DBCAST_TSAN=ON -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g"
cmake --build build/tsan -j "$jobs" --target client_tests storage_tests
echo "== test (TSan)"
TSAN_OPTIONS="halt_on_error=1 suppressions=$root/tests/client/tsan.supp" \
  build/tsan/tests/client/client_tests
TSAN_OPTIONS="halt_on_error=1" build/tsan/tests/storage/storage_tests --gtest_filter='StorageWriter.*:HistoryBackground.*'
echo "== all tests passed"
