"""bcast.rsm against a real bcastd --dev: commands applied in the total order with the result to
their submitter, a new replica brought up to date by state transfer, a restart from a snapshot
and replay, a snapshot file in the C++ helper's format, and a Python replica sharing a group with
a C++ one (`bcast-kv serve`, examples/kv): state transfer and commands across the languages."""
import json
import os
import subprocess
import threading

import pytest

import bcast
from bcast import rsm


class Log(rsm.StateMachine):
    """The state is the commands applied, in order."""

    def __init__(self):
        self.entries = []

    def apply(self, command):
        self.entries.append(command)
        return b"#%d" % len(self.entries)

    def snapshot(self):
        return b"\n".join(self.entries)

    def restore(self, state):
        self.entries = state.split(b"\n") if state else []


def replica(daemon, group, **options):
    return rsm.ReplicatedStateMachine(Log(), group=group, socket_path=daemon.socket,
                                      state_transfer_timeout=0.5, **options)


def test_commands_are_applied_in_one_order_and_results_go_to_their_submitter(daemon, group):
    first, second = replica(daemon, group), replica(daemon, group)
    assert first.submit(b"a")[1] == b"#1"
    gseq, result = second.submit(b"b")
    assert result == b"#2" and gseq > 0
    first.sync()
    assert first.machine.entries == second.machine.entries == [b"a", b"b"]
    with pytest.raises(bcast.InvalidArgument):
        first.submit(b"")
    first.close()
    second.close()


def test_a_new_replica_gets_the_state_by_transfer_while_another_serves(daemon, group):
    old = replica(daemon, group)
    for i in range(20):
        old.submit(b"x%d" % i)
    stop = threading.Event()
    server = threading.Thread(target=lambda: [old.poll(0.05) for _ in iter(stop.is_set, True)])
    server.start()
    try:
        new = replica(daemon, group)
    finally:
        stop.set()
        server.join()
    assert new.state_transfers == 1
    new.submit(b"after")
    old.sync()
    assert new.machine.entries == old.machine.entries
    assert len(new.machine.entries) == 21
    new.close()
    old.close()


def test_a_restart_resumes_from_the_snapshot_and_replays(daemon, group, tmp_path):
    path = str(tmp_path / "snapshot")
    first = replica(daemon, group, snapshot_path=path)
    first.submit(b"one")
    first.save_snapshot()
    saved_at = first.applied_gseq
    first.close()
    writer = replica(daemon, group)
    writer.submit(b"two")
    restarted = replica(daemon, group, snapshot_path=path)
    assert restarted.state_transfers == 0 and restarted.applied_gseq > saved_at
    assert restarted.machine.entries == [b"one", b"two"]
    assert rsm.read_snapshot_file(path)[0] == saved_at
    restarted.close()
    writer.close()


def test_snapshot_files_are_whole_or_refused(tmp_path):
    path = str(tmp_path / "s")
    assert rsm.read_snapshot_file(path) is None
    rsm.write_snapshot_file(path, 9, b"state\x00bytes")
    assert rsm.read_snapshot_file(path) == (9, b"state\x00bytes")
    with open(path, "r+b") as f:
        f.truncate(len(open(path, "rb").read()) - 1)
    with pytest.raises(bcast.Error) as broken:
        rsm.read_snapshot_file(path)
    assert broken.value.code == "corrupt"


class JsonKv(rsm.StateMachine):
    """examples/kv's state machine (kv_machine.hpp), just enough of it: put and get."""

    def __init__(self):
        self.entries = {}

    def apply(self, command):
        request = json.loads(command)
        if request["op"] == "put":
            self.entries[request["key"]] = request["value"]
            return b'{"ok":true}'
        return json.dumps({"ok": True, "value": self.entries.get(request["key"])}).encode()

    def snapshot(self):
        return json.dumps(self.entries).encode()

    def restore(self, state):
        self.entries = json.loads(state)


@pytest.mark.skipif(not os.environ.get("BCAST_KV"), reason="BCAST_KV (bcast-kv) not given")
def test_python_and_cpp_replicas_share_one_group(daemon, group):
    server = subprocess.Popen([os.environ["BCAST_KV"], "--socket", daemon.socket, "--group", group,
                               "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        def ask(line):
            server.stdin.write(line + "\n")
            server.stdin.flush()
            return json.loads(server.stdout.readline())

        assert json.loads(server.stdout.readline())["serving"]
        assert ask("put a 1")["ok"]
        # A Python replica gets its state by transfer from the C++ one, then writes through it.
        python = rsm.ReplicatedStateMachine(JsonKv(), group=group, socket_path=daemon.socket)
        assert python.state_transfers == 1
        assert python.machine.entries == {"a": "1"}
        python.submit(json.dumps({"op": "put", "key": "b", "value": "2"}).encode())
        assert ask("get b strong")["value"] == "2"
        python.close()
    finally:
        server.stdin.close()
        server.wait(timeout=10)
