#!/usr/bin/env bash
# The installed package works for a downstream project (issue [ops], acceptance):
#   1. `cmake --install --prefix TMP` lays out the documented tree, headers limited to bcast/;
#   2. tests/ops/consumer builds against it with find_package(bcast) (bcast::client, shared, and
#      bcast::client_static) and with pkg-config;
#   3. each consumer runs against the installed bcastd: a total-order publish comes back
#      delivered with its gseq.
#
#   install_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src=$1
build=$2
python=/usr/bin/python3
tmp=$(mktemp -d /tmp/bcast-install-XXXXXX)
daemon_pid=""
cleanup() {
  if [[ -n $daemon_pid ]]; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    wait "$daemon_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "install_test: $*" >&2; exit 1; }

prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"
for f in sbin/bcastd bin/bcastctl include/bcast/client.hpp lib/libbcast.a lib/libbcast.so \
         lib/cmake/bcast/bcastConfig.cmake lib/pkgconfig/bcast.pc \
         lib/systemd/system/bcastd.service etc/bcastd/bcastd.conf share/doc/bcastd/operations.md; do
  [[ -e $prefix/$f ]] || fail "missing $f after install"
done
# Only the public headers: nothing of lib/core, lib/codec or lib/io.
[[ $(ls "$prefix/include") == bcast ]] || fail "include/ holds more than bcast/: $(ls "$prefix/include")"
if grep -v "^-- Up-to-date\|^-- Install" "$tmp/install.log" | grep -q .; then
  fail "unexpected install output: $(cat "$tmp/install.log")"
fi
# Nothing was written outside the prefix.
if grep -- "-- Installing: " "$tmp/install.log" | grep -v -- "-- Installing: $prefix/" | grep -q .; then
  fail "installed outside the prefix: $(grep -v "$prefix" "$tmp/install.log")"
fi
"$prefix/sbin/bcastd" --version | grep -q "^bcastd " || fail "installed bcastd does not run"

echo "== find_package(bcast), shared and static"
for kind in shared static; do
  static=OFF
  [[ $kind == static ]] && static=ON
  cmake -S "$src/tests/ops/consumer" -B "$tmp/consumer-$kind" -G Ninja \
    -DCMAKE_PREFIX_PATH="$prefix" -DBCAST_CONSUMER_STATIC=$static >"$tmp/cmake-$kind.log" 2>&1 ||
    fail "configuring the $kind consumer failed: $(tail -20 "$tmp/cmake-$kind.log")"
  cmake --build "$tmp/consumer-$kind" >"$tmp/build-$kind.log" 2>&1 ||
    fail "building the $kind consumer failed: $(tail -20 "$tmp/build-$kind.log")"
done
# ldd's output is read whole before grep looks at it: `ldd | grep -q` under pipefail fails
# whenever grep exits before ldd has written everything (SIGPIPE), as it did in CI once the
# consumer's library list grew.
static_libs=$(ldd "$tmp/consumer-static/consumer")
if grep -q libbcast <<<"$static_libs"; then
  fail "the static consumer links libbcast.so"
fi
shared_libs=$(ldd "$tmp/consumer-shared/consumer")
grep -q "$prefix/lib/libbcast.so.0" <<<"$shared_libs" ||
  fail "the shared consumer does not use the installed libbcast.so.0: $shared_libs"

echo "== pkg-config bcast"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046
c++ -std=c++20 "$src/tests/ops/consumer/consumer.cpp" -o "$tmp/consumer-pkgconfig" \
  $(pkg-config --cflags --libs bcast) || fail "building with pkg-config failed"

echo "== against the installed daemon"
port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
socket=$tmp/bcastd.sock
"$prefix/sbin/bcastd" --dev --listen "tcp://127.0.0.1:$port" --data-dir "$tmp/data" \
  --client-socket "$socket" >"$tmp/bcastd.log" 2>&1 &
daemon_pid=$!
for ((i = 0; i < 200; i++)); do
  [[ -S $socket ]] && break
  kill -0 "$daemon_pid" 2>/dev/null || fail "bcastd exited: $(cat "$tmp/bcastd.log")"
  sleep 0.05
done
[[ -S $socket ]] || fail "bcastd did not open its socket"
for consumer in consumer-shared/consumer consumer-static/consumer consumer-pkgconfig; do
  out=$(LD_LIBRARY_PATH=$prefix/lib "$tmp/$consumer" "$socket") ||
    fail "$consumer failed: $out; daemon log: $(cat "$tmp/bcastd.log")"
  [[ $out =~ ^delivered\ gseq\ [0-9]+$ ]] || fail "$consumer printed '$out'"
  echo "$consumer: $out"
done
echo "install_test: passed"
