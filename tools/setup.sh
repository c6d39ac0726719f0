#!/usr/bin/env bash
# Installs every Debian 12 package bcastd needs to build, test and run. Idempotent: packages
# already present are not touched, and apt is not consulted at all when nothing is missing.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  clang clang-format libclang-rt-14-dev
  libzmq3-dev cppzmq-dev libmsgpack-cxx-dev
  libboost-program-options-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  nlohmann-json3-dev libxxhash-dev libjemalloc-dev
  python3 python3-zmq python3-msgpack
  python3-pytest python3-pip python3-venv
  procps iproute2 iptables
  # [ops]: logs, HTTP metrics and status page, systemd notify; the Prometheus text parser the
  # metrics test checks against; Chromium for the status page test (about 30 s to install on
  # a fresh machine, 350 MB); dpkg-dev and fakeroot for `cpack -G DEB`.
  libspdlog-dev libcpp-httplib-dev libsystemd-dev python3-prometheus-client chromium
  dpkg-dev fakeroot
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run as root (or install them) and retry" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
