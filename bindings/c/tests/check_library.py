#!/usr/bin/env python3
"""libbcast_c as a user gets it: its SONAME, exactly the functions bcast.h declares exported and
nothing else, and an install (cmake --install, component bcast_c) whose pkg-config file compiles
and links a C program that then runs.

    check_library.py --library PATH/libbcast_c.so.1.0.0 --build-dir BUILD --header bcast.h
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include <bcast/bcast.h>
int main(void) {
  if (bcast_abi_version() != BCAST_ABI_VERSION) return 1;
  if (strcmp(bcast_code_name(BCAST_E_TIMEOUT), "timeout") != 0) return 1;
  printf("%s\n", bcast_version());
  return 0;
}
"""


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


def check_soname(library):
    dynamic = run(["readelf", "-d", library])
    soname = re.search(r"\(SONAME\)\s+Library soname: \[(.*)\]", dynamic)
    if not soname or soname.group(1) != "libbcast_c.so.1":
        sys.exit(f"SONAME is {soname.group(1) if soname else 'missing'}, not libbcast_c.so.1")


def check_exports(library, header):
    declared = set(re.findall(r"BCAST_API\s[^;(]*?\b(bcast_\w+)\s*\(", open(header).read()))
    exported = set()
    for line in run(["nm", "-D", "--defined-only", library]).splitlines():
        kind, name = line.split()[-2:]
        if kind == "A":  # the version node, BCAST_C_1.0
            continue
        exported.add(name.split("@")[0])
    if not declared:
        sys.exit(f"no BCAST_API functions found in {header}")
    if exported != declared:
        sys.exit(f"exports differ from bcast.h:\n  exported, not declared: "
                 f"{sorted(exported - declared)}\n  declared, not exported: "
                 f"{sorted(declared - exported)}")
    print(f"{len(exported)} functions exported, all declared in bcast.h, nothing else")


def check_install(build_dir):
    prefix = tempfile.mkdtemp(prefix="bcast-c-install-")
    try:
        run(["cmake", "--install", build_dir, "--component", "bcast_c", "--prefix", prefix])
        pc_dirs = [root for root, _, files in os.walk(prefix) if "bcast_c.pc" in files]
        if len(pc_dirs) != 1:
            sys.exit(f"bcast_c.pc installed {len(pc_dirs)} times under {prefix}")
        env = dict(os.environ, PKG_CONFIG_PATH=pc_dirs[0])
        flags = run(["pkg-config", "--cflags", "--libs", "bcast_c"], env=env).split()
        source = os.path.join(prefix, "program.c")
        with open(source, "w") as f:
            f.write(PROGRAM)
        binary = os.path.join(prefix, "program")
        run(["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", source, "-o", binary]
            + flags)
        libdir = [f[2:] for f in flags if f.startswith("-L")][0]
        output = run([binary], env=dict(os.environ, LD_LIBRARY_PATH=libdir))
        print(f"installed under {prefix}; pkg-config {' '.join(flags)}; program says {output}")
    finally:
        shutil.rmtree(prefix, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", required=True)
    parser.add_argument("--build-dir", required=True)
    parser.add_argument("--header", required=True)
    args = parser.parse_args()
    check_soname(args.library)
    check_exports(args.library, args.header)
    check_install(args.build_dir)


if __name__ == "__main__":
    main()
