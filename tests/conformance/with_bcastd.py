#!/usr/bin/env python3
"""Runs a command beside a fresh bcastd --dev, then stops the daemon and removes its files.

    with_bcastd.py [--bcastd-arg ARG]... -- COMMAND [ARG]...

The command finds the daemon's client socket in $BCAST_SOCKET and its process id in
$BCASTD_PID (a test may kill it to see a lost connection). The daemon is $BCASTD, else the dev
build of this tree. Exits with the command's status.
"""
import argparse
import os
import subprocess
import sys

from daemon_process import Bcastd


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bcastd-arg", action="append", default=[],
                        help="an argument added to bcastd's command line (repeat)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    with Bcastd(args=args.bcastd_arg) as daemon:
        daemon.wait_leader()
        env = dict(os.environ, BCAST_SOCKET=daemon.socket, BCASTD_PID=str(daemon.process.pid))
        status = subprocess.call(command, env=env)
        if status != 0:
            sys.stderr.write("bcastd's log:\n" + daemon.log())
    return status


if __name__ == "__main__":
    sys.exit(main())
