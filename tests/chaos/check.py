#!/usr/bin/python3
"""Checks a chaos run's records against docs/guarantees.md, sharing no code with the daemon.

    tests/chaos/check.py RUN_DIR [--json]

It reads only what the clients saw: every publisher's input lines (pubs/P.in), its receipts
(`bcastctl pub --json`, pubs/P.out), every subscriber's deliveries (`bcastctl sub --json`,
subs/S.out) and run.json (who ran where and when, and which daemons were killed when), all
written by tools/chaos. Exit status 0 when there is no violation.

Payloads are "P.K": the K-th line of publisher P, so every delivery names its message exactly;
a causal reply is "P.K<PARENT", PARENT being the payload it answers.

What is checked, per subscriber session (one `bcastctl sub` process):
  * integrity: every line parses; a delivery is a message some publisher wrote, with its mode
    and order, and seq = its line number; no message twice; one sender id per publisher;
  * FIFO (fifo, causal and total cells): a publisher's seqs increase; in reliable and gossip
    cells and in total order no seq is skipped between two delivered ones unless a gap event
    names it;
  * causal: a reply is delivered after the message it answers, unless that message was written
    before the session's subscription took effect (its first line) and is not in the session at
    all: a subscriber is not owed what its daemon delivered before it joined;
  * total order: one gseq names one message in every session and receipt; a session's gseqs
    increase with no hole that a gap event does not name.
Per epoch (a stretch of faults followed by a calm settling spell; see tools/chaos), across the
sessions that lasted from before the epoch to its settled end on a daemon not killed meanwhile
("complete" sessions), for the messages acknowledged in the epoch's window:
  * acknowledged implies delivered: every acknowledged reliable, gossip and total message is
    delivered in each of them, or named by a gap event there. The only exception the
    guarantees allow: a reliable or gossip message whose origin daemon was killed after the
    receipt, and that no complete session delivered (nobody alive held it); it is counted.
  * agreement: what one such session delivered of a reliable, gossip or total cell, all do.
"""

import argparse
import json
import os
import sys
from collections import defaultdict

COMPLETE_MODES = ("reliable", "gossip")  # best-effort may lose messages


class Checker:
    def __init__(self, run_dir):
        self.run_dir = run_dir
        with open(os.path.join(run_dir, "run.json")) as f:
            self.run = json.load(f)
        self.violations = []
        self.counts = defaultdict(int)
        self.pubs = {p["id"]: p for p in self.run["publishers"]}
        self.subs = {s["id"]: s for s in self.run["subscribers"]}
        self.kills = defaultdict(list)  # node -> times it was killed
        for fault in self.run["faults"]:
            if fault["kind"] == "kill":
                self.kills[fault["nodes"][0]].append(fault["start"])

    def violation(self, text):
        self.violations.append(text)

    # --- reading -------------------------------------------------------------------------

    def read_publishers(self):
        self.written = {}  # payload -> (pub id, line number, write time)
        self.acked = {}  # payload -> receipt
        for pid, pub in self.pubs.items():
            with open(os.path.join(self.run_dir, "pubs", pid + ".in")) as f:
                lines = [line.rstrip("\n") for line in f]
            times = pub["write_times"]
            for number, line in enumerate(lines, start=1):
                payload = line.partition("<")[0]
                self.written[payload] = (pid, number, times[number - 1])
            self.counts["attempted"] += len(lines)
            receipts = []
            with open(os.path.join(self.run_dir, "pubs", pid + ".out")) as f:
                for raw in f:
                    raw = raw.strip()
                    if not raw:
                        continue
                    try:
                        receipts.append(json.loads(raw))
                    except json.JSONDecodeError:
                        self.violation(f"publisher {pid}: receipt is not JSON: {raw!r}")
            last_seq = 0
            receipt_times = pub["receipt_times"]
            for index, receipt in enumerate(receipts):
                seq = receipt.get("seq")
                if not isinstance(seq, int) or seq <= last_seq or seq > len(lines):
                    self.violation(f"publisher {pid}: receipt {receipt} out of publish order "
                                   f"or names no line (after seq {last_seq}, {len(lines)} lines)")
                    continue
                last_seq = seq
                if pub["order"] == "total" and not isinstance(receipt.get("gseq"), int):
                    self.violation(f"publisher {pid}: total-order receipt without gseq: {receipt}")
                payload = f"{pid}.{seq}"
                self.acked[payload] = dict(receipt, time=receipt_times[index])
            self.counts["acknowledged"] += len(receipts)
            self.counts["acknowledged:" + pub["mode"] + "/" + pub["order"]] += len(receipts)

    def parse_payload(self, payload):
        """Returns (payload key "P.K", parent or None)."""
        key, sep, parent = payload.partition("<")
        return key, (parent if sep else None)

    def read_session(self, sid):
        deliveries, gaps = [], []
        with open(os.path.join(self.run_dir, "subs", sid + ".out")) as f:
            for raw in f:
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    line = json.loads(raw)
                except json.JSONDecodeError:
                    self.violation(f"session {sid}: not JSON: {raw!r}")
                    continue
                kind = line.get("type")
                if kind == "message":
                    deliveries.append(line)
                elif kind == "gap":
                    gaps.append(line)
                    self.counts["gap events"] += 1
                elif kind != "view":
                    self.violation(f"session {sid}: unknown line type: {raw!r}")
        return deliveries, gaps

    # --- per session ---------------------------------------------------------------------

    def check_session(self, sid, sender_of):
        sub = self.subs[sid]
        deliveries, gaps = self.read_session(sid)
        self.counts["deliveries checked"] += len(deliveries)
        seen = {}  # key -> position in the session
        last_seq = {}  # pub id -> last delivered seq (ordered cells)
        gseqs = []
        for position, d in enumerate(deliveries):
            key, parent = self.parse_payload(str(d.get("payload", "")))
            origin = self.written.get(key)
            where = f"session {sid} (node {sub['node']}) delivery {position + 1} {key!r}"
            if origin is None:
                self.violation(f"{where}: no publisher wrote it (invented or changed)")
                continue
            pid, number, _ = origin
            pub = self.pubs[pid]
            if d.get("group") != self.run["group"]:
                self.violation(f"{where}: group {d.get('group')!r}")
            if d.get("mode") != pub["mode"] or d.get("order") != pub["order"]:
                self.violation(f"{where}: delivered as {d.get('mode')}/{d.get('order')}, "
                               f"published as {pub['mode']}/{pub['order']}")
            if d.get("seq") != number:
                self.violation(f"{where}: seq {d.get('seq')} but it is line {number}")
            sender = json.dumps(d.get("sender"))
            if sender_of.setdefault(pid, sender) != sender:
                self.violation(f"{where}: sender {sender}, earlier {sender_of[pid]}")
            if key in seen:
                self.violation(f"{where}: delivered twice (first at {seen[key] + 1})")
                continue
            seen[key] = position
            if pub["order"] in ("fifo", "causal", "total"):
                previous = last_seq.get(pid, 0)
                if number <= previous:
                    self.violation(f"{where}: FIFO: seq {number} after {previous}")
                elif (previous and number != previous + 1 and pub["mode"] in COMPLETE_MODES
                      and not self.gap_names(gaps, pub, previous + 1, number - 1)):
                    # Only an acknowledged message is owed: one the daemon refused (a total-order
                    # publish that timed out in a minority) may be missing.
                    owed = [k for k in range(previous + 1, number) if f"{pid}.{k}" in self.acked]
                    if owed:
                        self.violation(f"{where}: FIFO: seqs {previous + 1}..{number - 1} of "
                                       f"{pid} skipped without a gap event, {len(owed)} of them "
                                       f"acknowledged (first {owed[0]})")
                last_seq[pid] = max(previous, number)
            if parent is not None:
                self.counts["causal replies delivered"] += 1
                parent_key = self.parse_payload(parent)[0]
                if parent_key not in seen:
                    parent_written = self.written.get(parent_key)
                    before_session = parent_written and parent_written[2] < sub.get(
                        "joined", sub["start"])
                    if parent_written is None:
                        self.violation(f"{where}: answers {parent_key!r}, which nobody wrote")
                    elif not before_session or parent_key in self.keys_of(deliveries[position:]):
                        self.violation(f"{where}: causal: delivered before {parent_key!r}, "
                                       f"which it answers")
            if pub["order"] == "total":
                gseq = d.get("gseq")
                if not isinstance(gseq, int):
                    self.violation(f"{where}: total order without gseq")
                    continue
                gseqs.append(gseq)
                named = self.gseq_names.setdefault(gseq, key)
                if named != key:
                    self.violation(f"{where}: gseq {gseq} names {key!r} here, {named!r} elsewhere")
                if self.gseq_of.setdefault(key, gseq) != gseq:
                    self.violation(f"{where}: gseq {gseq} here, {self.gseq_of[key]} elsewhere")
            elif d.get("gseq") is not None:
                self.violation(f"{where}: gseq {d.get('gseq')} outside total order")
        for before, after in zip(gseqs, gseqs[1:]):
            if after <= before:
                self.violation(f"session {sid}: total order: gseq {after} after {before}")
            elif after != before + 1 and not self.gseq_gap_names(gaps, before + 1, after - 1):
                self.violation(f"session {sid}: total order: gseqs {before + 1}..{after - 1} "
                               f"skipped without a gap event")
        return set(seen), gaps

    @staticmethod
    def keys_of(deliveries):
        return {str(d.get("payload", "")).partition("<")[0] for d in deliveries}

    @staticmethod
    def gap_names(gaps, pub, first, last):
        # A stream gap names positions of the origin's stream, not a sender's seqs; any gap of
        # the mode is accepted as naming it (the checker cannot map one to the other).
        return any(g.get("mode") in (None, pub["mode"]) and "from_seq" in g for g in gaps)

    @staticmethod
    def gseq_gap_names(gaps, first, last):
        for g in gaps:
            start, end = g.get("from_gseq"), g.get("to_gseq")
            if isinstance(start, int) and start <= first and (end is None or end >= last):
                return True
        return False

    # --- across sessions -----------------------------------------------------------------

    def check(self):
        self.read_publishers()
        self.gseq_names, self.gseq_of = {}, {}
        sender_of = {}
        delivered = {}
        gaps_of = {}
        for sid in sorted(self.subs):
            delivered[sid], gaps_of[sid] = self.check_session(sid, sender_of)
        senders = defaultdict(list)
        for pid, sender in sender_of.items():
            senders[sender].append(pid)
        for sender, pids in senders.items():
            if len(pids) > 1:
                self.violation(f"sender id {sender} shared by publishers {pids}")
        for key, receipt in self.acked.items():
            if receipt.get("gseq") is not None and key in self.gseq_of:
                if self.gseq_of[key] != receipt["gseq"]:
                    self.violation(f"{key!r}: receipt gseq {receipt['gseq']}, delivered at "
                                   f"gseq {self.gseq_of[key]}")
        epochs = self.run.get("epochs") or [
            {"window": self.run["workload"], "end": max(s["end"] or 0 for s in self.subs.values())}]
        checked_epochs = 0
        for number, epoch in enumerate(epochs, start=1):
            complete = self.complete_sessions(epoch)
            acked = [(key, receipt) for key, receipt in self.acked.items()
                     if epoch["window"][0] <= receipt["time"] < epoch["window"][1]]
            if not complete:
                self.counts["epochs without a complete session (unchecked)"] += 1
                self.counts["acknowledged in unchecked epochs"] += len(acked)
                continue
            checked_epochs += 1
            self.counts["complete sessions, summed over epochs"] += len(complete)
            for key, receipt in sorted(acked):
                self.check_delivered(key, receipt, complete, delivered, gaps_of, epoch)
        if checked_epochs == 0:
            self.violation("no subscriber session lasted a whole epoch on a daemon not killed in "
                           "it: acknowledged-implies-delivered could not be checked")
        return self.violations

    def complete_sessions(self, epoch):
        """Sessions alive from before the epoch's window to its settled end, on a daemon not
        killed meanwhile: they owe every acknowledged message of the window."""
        start, end = epoch["window"][0], epoch["end"]
        complete = []
        for sid, sub in self.subs.items():
            if (sub.get("joined", sub["start"]) >= start
                    or (sub["end"] is not None and sub["end"] < end)):
                continue
            if any(start <= t <= end for t in self.kills[sub["node"]]):
                continue
            complete.append(sid)
        return sorted(complete)

    def check_delivered(self, key, receipt, complete, delivered, gaps_of, epoch):
        pid = key.rsplit(".", 1)[0]
        pub = self.pubs[pid]
        if pub["mode"] not in COMPLETE_MODES:
            return
        missing = [sid for sid in complete if key not in delivered[sid]]
        if not missing:
            self.counts["acknowledged and delivered in every complete session"] += 1
            return
        origin_killed = any(receipt["time"] < t <= epoch["end"] for t in self.kills[pub["node"]])
        nobody = len(missing) == len(complete)
        if pub["order"] != "total" and origin_killed and nobody:
            self.counts["acknowledged, lost with its killed origin (allowed)"] += 1
            return
        if pub["order"] == "total":
            unexplained = [s for s in missing if not self.gseq_gap_names(
                gaps_of[s], receipt["gseq"], receipt["gseq"])]
        else:
            unexplained = [s for s in missing if not self.gap_names(gaps_of[s], pub, 0, 0)]
        if unexplained:
            self.violation(f"acknowledged {pub['mode']}/{pub['order']} message {key!r} "
                           f"(receipt {receipt}) never delivered in sessions {unexplained}"
                           f" (delivered in {len(complete) - len(missing)} of {len(complete)})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("run_dir")
    parser.add_argument("--json", action="store_true", help="print counts and violations as JSON")
    args = parser.parse_args()
    checker = Checker(args.run_dir)
    violations = checker.check()
    if args.json:
        print(json.dumps({"counts": checker.counts, "violations": violations}, indent=1))
    else:
        for key, value in sorted(checker.counts.items()):
            print(f"  {key}: {value}")
        for text in violations[:50]:
            print("VIOLATION:", text)
        if len(violations) > 50:
            print(f"... and {len(violations) - 50} more violations")
        print(f"{len(violations)} violations")
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
