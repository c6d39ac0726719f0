#!/usr/bin/env bash
# Builds the Debian package: a Release tree configured for prefix /usr (so the unit, config and
# library paths are the system's), only the installed targets, then `cpack -G DEB`.
#
#   tools/package-deb.sh [BUILD_DIR]        (default build/package) -> BUILD_DIR/bcastd_*.deb
#
# Then, on a Debian 12 host: `apt install ./bcastd_VERSION_amd64.deb` (pulls the dependencies),
# and `systemctl status bcastd`. docs/operations.md has the rest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/package}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON >/dev/null
cmake --build "$build" -j "${JOBS:-$(nproc)}" \
  --target bcastd bcastctl bcast-sim bcast_client_shared bcast_client_static
(cd "$build" && cpack -G DEB)
ls "$build"/bcastd_*.deb
