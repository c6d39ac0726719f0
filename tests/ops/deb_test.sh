#!/usr/bin/env bash
# The .deb that `cpack -G DEB` builds from this build tree: its control data and contents.
# (Installing it and starting the unit is deb_install_check.sh: it changes the system, so it is a
# documented command, not a CTest test; docs/operations.md.)
#
#   deb_test.sh BUILD_DIR
set -euo pipefail
build=$1
tmp=$(mktemp -d /tmp/bcast-deb-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "deb_test: $*" >&2; exit 1; }

command -v dpkg-shlibdeps >/dev/null || fail "dpkg-shlibdeps missing: install dpkg-dev (tools/setup.sh)"
# Packages into a private directory so that parallel runs do not share CPack's staging area.
(cd "$build" && cpack -G DEB -B "$tmp/out" >"$tmp/cpack.log" 2>&1) ||
  fail "cpack failed: $(tail -20 "$tmp/cpack.log")"
deb=$(ls "$tmp"/out/bcastd_*.deb)
echo "built $(basename "$deb") ($(du -h "$deb" | cut -f1))"

field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == bcastd ]] || fail "package name $(field Package)"
depends=$(field Depends)
for needed in libzmq5 libsystemd0 libspdlog libcpp-httplib adduser init-system-helpers; do
  [[ $depends == *"$needed"* ]] || fail "Depends lacks $needed: $depends"
done

dpkg-deb -e "$deb" "$tmp/control"
for script in postinst prerm postrm; do
  [[ -x $tmp/control/$script ]] || fail "no executable $script"
  sh -n "$tmp/control/$script" || fail "$script is not valid sh"
done
grep -q "adduser --system" "$tmp/control/postinst" || fail "postinst creates no system user"
grep -q "deb-systemd-helper enable" "$tmp/control/postinst" || fail "postinst does not enable"
conffile=$(cat "$tmp/control/conffiles")
[[ $conffile == */bcastd/bcastd.conf ]] || fail "conffiles: '$conffile'"

dpkg-deb -x "$deb" "$tmp/root"
[[ -f $tmp/root$conffile ]] || fail "the conffile $conffile is not in the package"
unit=$(find "$tmp/root" -name bcastd.service)
[[ -n $unit ]] || fail "no systemd unit in the package"
for setting in Type=notify WatchdogSec= Restart=on-failure User=bcastd ProtectSystem=strict \
               ProtectHome=true PrivateTmp=true NoNewPrivileges=true RuntimeDirectory=bcastd \
               StateDirectory=bcastd; do
  grep -q "^$setting" "$unit" || fail "the unit lacks $setting"
done
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[[ -x $tmp/root$exec_start ]] || fail "ExecStart $exec_start is not in the package"
# The packaged daemon accepts the packaged config file.
"$tmp/root$exec_start" --config "$tmp/root$conffile" --help >/dev/null ||
  fail "bcastd refuses the packaged config"
# systemd's own checker, when systemd is installed (it does not need systemd running). It wants
# ExecStart to exist: a copy of the unit points at the unpacked daemon.
if command -v systemd-analyze >/dev/null; then
  mkdir "$tmp/verify"
  sed "s|^ExecStart=$exec_start|ExecStart=$tmp/root$exec_start|" "$unit" >"$tmp/verify/bcastd.service"
  systemd-analyze verify "$tmp/verify/bcastd.service" 2>"$tmp/verify.log" ||
    fail "systemd-analyze verify: $(cat "$tmp/verify.log")"
  if grep -v "^$" "$tmp/verify.log" | grep -q .; then
    fail "systemd-analyze verify warns: $(cat "$tmp/verify.log")"
  fi
fi
echo "deb_test: passed"
