"""The live status page at "/" in a real browser (headless Chromium, Debian's `chromium`).

    status_page_test.py PATH/TO/bcastd PATH/TO/bcastctl [SCREENSHOT.png]

Three daemons with --http; a subscriber joins group "chat" on node 2 and messages are published.
Chromium loads node 2's page, lets its JavaScript poll /status.json, and dumps the DOM: it must
show node 2, the leader every daemon agrees on, the term, all three members reachable with the
leader marked, and group "chat" with its local subscriber and its messages. Then node 3 is
killed and the page must show it unreachable. A screenshot is written for people to look at.

Skipped (exit code 77, which CTest reports as skipped) when no chromium is installed.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops_cluster import Cluster, wait_for  # noqa: E402

BCASTD = BCASTCTL = SCREENSHOT = None
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SKIP = 77


def chromium(url, *mode, budget_ms=4000):
    """Runs headless Chromium on `url` with the given mode flags; returns stdout."""
    with tempfile.TemporaryDirectory(prefix="bcast-chromium-") as profile:
        argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--no-first-run", "--disable-extensions",
                "--disable-dev-shm-usage", "--user-data-dir=" + profile,
                # Virtual time runs the page's polling timers without waiting for real seconds;
                # it pauses while a fetch is in flight, so every poll gets its answer.
                "--virtual-time-budget=%d" % budget_ms] + list(mode) + [url]
        result = subprocess.run(argv, capture_output=True, timeout=90)
        if result.returncode != 0:
            raise AssertionError("chromium failed (%d): %s" % (result.returncode,
                                                              result.stderr.decode()[-2000:]))
        return result.stdout.decode()


def by_id(dom, element_id):
    match = re.search(r'id="%s"[^>]*>([^<]*)<' % re.escape(element_id), dom)
    return match.group(1) if match else None


def member_rows(dom):
    """peer id -> (reachable, leader) from the members table's data- attributes."""
    rows = {}
    for attributes in re.findall(r"<tr ([^>]*data-peer=[^>]*)>", dom):
        values = dict(re.findall(r'data-([a-z]+)="([^"]*)"', attributes))
        rows[int(values["peer"])] = (values["reachable"], values["leader"])
    return rows


class StatusPageTest(unittest.TestCase):
    def test_page_shows_the_live_cluster(self):
        # A 1 s election timeout: no spurious election on a loaded machine moves the leader
        # between the moment it is read and the moment the page shows it.
        with Cluster(BCASTD, 3, ["--election-ticks", "100", "--heartbeat-ticks", "5"]) as cluster:
            cluster.wait_ready()
            leader = cluster.leader()
            sub = subprocess.Popen([BCASTCTL, "--socket", cluster.socket(2), "sub", "chat",
                                    "--json"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                self.assertIn(b'"type":"view"', sub.stdout.readline())  # joined
                result = subprocess.run([BCASTCTL, "--socket", cluster.socket(1), "pub", "chat",
                                         "--order", "total", "hello", "page"],
                                        capture_output=True, timeout=30)
                self.assertEqual(result.returncode, 0, result.stderr)
                messages = 0
                while messages < 2:  # the agreed view of the join may come first
                    line = sub.stdout.readline()
                    self.assertTrue(line, "bcastctl sub ended")
                    if b'"type":"view"' in line:
                        continue
                    self.assertIn(b'"type":"message"', line)
                    messages += 1
                wait_for("node 2's snapshot to show the deliveries",
                         lambda: any(g["name"] == "chat" and g["delivered_messages"] == 2
                                     for g in cluster.status(2)["groups"]))

                url = cluster.url(2, "/")
                dom = chromium(url, "--dump-dom")
                self.assertIn('data-loaded="yes"', dom, "the page's script never rendered")
                self.assertEqual(by_id(dom, "node-id"), "2")
                self.assertEqual(by_id(dom, "leader"), str(leader))
                self.assertEqual(by_id(dom, "term"), str(cluster.status(2)["term"]))
                self.assertEqual(by_id(dom, "ready"), "yes")
                # It keeps polling (the rates are differences between polls).
                polls = re.search(r'data-polls="(\d+)"', dom)
                self.assertGreaterEqual(int(polls.group(1)), 2)
                self.assertEqual(member_rows(dom),
                                 {n: ("yes", "yes" if n == leader else "no") for n in (1, 2, 3)})
                chat = re.search(r'<tr data-group="chat">(.*?)</tr>', dom)
                self.assertIsNotNone(chat, dom[-3000:])
                cells = re.findall(r"<td[^>]*>([^<]*)</td>", chat.group(1))
                self.assertEqual(cells[:4], ["chat", "1", "0", "2"])  # name, local, pub, delivered

                if SCREENSHOT:
                    chromium(url, "--screenshot=" + os.path.abspath(SCREENSHOT),
                             "--window-size=1200,1000")
                    self.assertGreater(os.path.getsize(SCREENSHOT), 10000)

                cluster.stop(3, signal.SIGKILL)
                wait_for("node 2 to see node 3 unreachable",
                         lambda: not {p["id"]: p["reachable"]
                                      for p in cluster.status(2)["peers"]}[3])
                rows = member_rows(chromium(url, "--dump-dom"))
                self.assertEqual(rows[3][0], "no")
                self.assertEqual(rows[1][0], "yes")
            finally:
                sub.send_signal(signal.SIGTERM)
                sub.wait(timeout=10)
                sub.stdout.close()


if __name__ == "__main__":
    BCASTD = sys.argv.pop(1)
    BCASTCTL = sys.argv.pop(1)
    if len(sys.argv) > 1 and sys.argv[1].endswith(".png"):
        SCREENSHOT = sys.argv.pop(1)
    if not CHROMIUM:
        print("SKIPPED: no chromium installed (tools/setup.sh installs Debian's chromium)")
        sys.exit(SKIP)
    unittest.main()
