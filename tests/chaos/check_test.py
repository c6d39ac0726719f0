#!/usr/bin/python3
"""The chaos checker's teeth: a clean record passes, and each broken variant of it (what a buggy
daemon would have shown its clients) is caught by the check named for it."""

import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check  # noqa: E402

PUBS = {
    "p1": ("reliable", "fifo", 1),
    "p2": ("reliable", "total", 2),
    "p3": ("gossip", "causal", 3),
    "r4": ("reliable", "causal", 1),  # answers p3.1
}
LINES = {"p1": ["p1.1", "p1.2", "p1.3"], "p2": ["p2.1", "p2.2"], "p3": ["p3.1", "p3.2"],
         "r4": ["r4.1<p3.1"]}


def message(payload, seq, gseq=None):
    pid = payload.partition("<")[0].split(".")[0]
    mode, order, _ = PUBS[pid]
    return {"type": "message", "group": "chaos", "sender": int(pid[1:]) * 100, "seq": seq,
            "gseq": gseq, "mode": mode, "order": order, "payload": payload}


def clean_session():
    return [{"type": "view", "group": "chaos", "members": [1, 2, 3]},
            message("p1.1", 1), message("p2.1", 1, 7), message("p3.1", 1),
            message("r4.1<p3.1", 1), message("p1.2", 2), message("p2.2", 2, 8),
            message("p1.3", 3), message("p3.2", 2)]


class CheckerTeeth(unittest.TestCase):
    def record(self, sessions, kills=(), receipts=None, sessions_meta=None):
        root = tempfile.mkdtemp(prefix="chaos-check-test-")
        self.addCleanup(shutil.rmtree, root)
        os.makedirs(os.path.join(root, "pubs"))
        os.makedirs(os.path.join(root, "subs"))
        publishers = []
        for pid, (mode, order, node) in PUBS.items():
            lines = LINES[pid]
            with open(os.path.join(root, "pubs", pid + ".in"), "w") as f:
                f.write("".join(line + "\n" for line in lines))
            acks = receipts.get(pid) if receipts else None
            if acks is None:
                acks = [{"seq": n, "gseq": (6 + n if order == "total" else None)}
                        for n in range(1, len(lines) + 1)]
            with open(os.path.join(root, "pubs", pid + ".out"), "w") as f:
                f.write("".join(json.dumps(a) + "\n" for a in acks))
            publishers.append({"id": pid, "node": node, "mode": mode, "order": order,
                               "start": 0.5, "end": 9.0, "write_times": [1.0] * len(lines),
                               "receipt_times": [1.5] * len(acks)})
        subscribers = []
        for index, lines in enumerate(sessions):
            sid = f"s{index + 1}"
            with open(os.path.join(root, "subs", sid + ".out"), "w") as f:
                f.write("".join(json.dumps(line) + "\n" for line in lines))
            meta = {"id": sid, "node": index + 1, "start": 0.1, "joined": 0.2, "end": 10.0}
            meta.update((sessions_meta or {}).get(sid, {}))
            subscribers.append(meta)
        faults = [{"kind": "kill", "nodes": [node], "start": 2.0, "end": 3.0} for node in kills]
        with open(os.path.join(root, "run.json"), "w") as f:
            json.dump({"group": "chaos", "workload": [0.5, 9.0], "faults": faults,
                       "epochs": [{"window": [0.5, 9.0], "end": 9.5}],
                       "publishers": publishers, "subscribers": subscribers}, f)
        return check.Checker(root).check()

    def assert_caught(self, violations, words):
        self.assertTrue(any(words in v for v in violations),
                        f"expected a violation with {words!r}, got {violations}")

    def test_clean_record_passes(self):
        self.assertEqual(self.record([clean_session(), clean_session()]), [])

    def test_duplicate(self):
        broken = clean_session() + [message("p1.2", 2)]
        self.assert_caught(self.record([clean_session(), broken]), "delivered twice")

    def test_invented_message(self):
        broken = clean_session() + [message("p1.9", 9)]
        self.assert_caught(self.record([clean_session(), broken]), "no publisher wrote it")

    def test_changed_order_of_service(self):
        broken = clean_session()
        broken[1] = dict(broken[1], order="none")
        self.assert_caught(self.record([clean_session(), broken]), "published as reliable/fifo")

    def test_fifo_reorder(self):
        broken = clean_session()
        broken[1], broken[5] = broken[5], broken[1]
        self.assert_caught(self.record([clean_session(), broken]), "FIFO: seq 1 after 2")

    def test_fifo_silent_skip(self):
        broken = [line for line in clean_session() if line.get("payload") != "p1.2"]
        self.assert_caught(self.record([clean_session(), broken]), "skipped without a gap")

    def test_causal_reply_before_its_cause(self):
        broken = clean_session()
        broken[3], broken[4] = broken[4], broken[3]
        self.assert_caught(self.record([clean_session(), broken]), "causal: delivered before")

    def test_total_order_disagreement(self):
        broken = clean_session()
        broken[2] = message("p2.1", 1, 8)
        broken[6] = message("p2.2", 2, 7)
        violations = self.record([clean_session(), broken])
        self.assert_caught(violations, "gseq 8 names")
        self.assert_caught(violations, "total order: gseq 7 after 8")

    def test_total_order_hole(self):
        broken = clean_session()
        broken[6] = message("p2.2", 2, 9)
        self.assert_caught(self.record([clean_session(), broken]), "gseqs 8..8 skipped")

    def test_receipt_gseq_differs_from_delivery(self):
        receipts = {"p2": [{"seq": 1, "gseq": 7}, {"seq": 2, "gseq": 9}]}
        self.assert_caught(self.record([clean_session()] * 2, receipts=receipts),
                           "receipt gseq 9")

    def test_acknowledged_but_never_delivered(self):
        broken = [line for line in clean_session() if line.get("payload") != "p1.3"]
        self.assert_caught(self.record([clean_session(), broken]), "never delivered")

    def test_lost_with_killed_origin_is_allowed_only_if_nobody_has_it(self):
        lost = [line for line in clean_session() if line.get("payload") != "p1.3"]
        # p1 runs on node 1, whose own session is then not complete.
        self.assertEqual(self.record([lost, lost, lost], kills=[1]), [])
        self.assert_caught(self.record([lost, clean_session(), lost], kills=[1]),
                           "never delivered")

    def test_total_order_is_never_excused_by_a_kill(self):
        lost = [line for line in clean_session() if line.get("payload") != "p2.2"]
        self.assert_caught(self.record([lost, lost], kills=[2]), "never delivered")

    def test_a_session_killed_in_the_epoch_owes_nothing_but_one_must_be_complete(self):
        lost = [line for line in clean_session() if line.get("payload") != "p1.3"]
        # Node 2's session (the second) is not complete: its daemon was killed.
        self.assertEqual(self.record([clean_session(), lost], kills=[2]), [])
        self.assert_caught(self.record([lost, lost], kills=[1, 2]), "could not be checked")

    def test_a_cause_delivered_before_the_session_joined_may_be_missing(self):
        session = [line for line in clean_session() if line.get("payload") != "p3.1"]
        late = {"s1": {"start": 0.1, "joined": 1.2}}  # p3.1 was written at 1.0
        self.assertEqual(self.record([session, clean_session()], sessions_meta=late), [])
        early = {"s1": {"start": 0.1, "joined": 0.9}}
        self.assert_caught(self.record([session, clean_session()], sessions_meta=early),
                           "causal: delivered before")

    def test_refused_message_may_be_missing(self):
        receipts = {"p1": [{"seq": 1, "gseq": None}, {"seq": 3, "gseq": None}]}
        skipped = [line for line in clean_session() if line.get("payload") != "p1.2"]
        self.assertEqual(self.record([skipped, skipped], receipts=receipts), [])


if __name__ == "__main__":
    unittest.main()
