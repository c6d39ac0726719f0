"""/metrics, /healthz and /readyz of real daemons (docs/operations.md).

    metrics_http_test.py PATH/TO/bcastd PATH/TO/bcastctl

Three daemons with --http; messages published through bcastctl in several mode x order cells.
/metrics is parsed by prometheus_client's own parser (python3-prometheus-client), an
implementation independent of ours, and the counters must move by exactly what was published
and delivered. Then daemons are killed: a peer's connection gauge drops, the majority side stays
ready, and a lone daemon answers /readyz 503 with its reason while /healthz stays 200.
"""

import os
import signal
import subprocess
import sys
import unittest

from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops_cluster import Cluster, http_get, wait_for  # noqa: E402

BCASTD = BCASTCTL = None
CELLS = [("reliable", "none"), ("reliable", "fifo"), ("reliable", "causal"), ("reliable", "total"),
         ("gossip", "fifo"), ("gossip", "total"), ("best-effort", "none")]
MESSAGES = ["m%d" % i for i in range(20)]


def scrape(cluster, node):
    code, body = http_get(cluster.url(node, "/metrics"))
    assert code == 200, (code, body)
    samples = {}
    types = {}
    for family in text_string_to_metric_families(body):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


class MetricsAndHealthTest(unittest.TestCase):
    def test_counters_move_and_health_follows_the_cluster(self):
        with Cluster(BCASTD, 3) as cluster:
            cluster.wait_ready()
            leader = cluster.leader()
            for node in (1, 2, 3):
                self.assertEqual(http_get(cluster.url(node, "/healthz")), (200, "ok\n"))
                self.assertEqual(http_get(cluster.url(node, "/readyz")), (200, "ready\n"))

            before = {node: scrape(cluster, node)[0] for node in (1, 2, 3)}
            for mode, order in CELLS:
                result = subprocess.run(
                    [BCASTCTL, "--socket", cluster.socket(1), "pub", "ops", "--mode", mode,
                     "--order", order, "--json"] + MESSAGES, capture_output=True, timeout=30)
                self.assertEqual(result.returncode, 0, result.stderr)
            count = len(MESSAGES)
            payload_bytes = sum(len(m) for m in MESSAGES)

            # Every daemon delivers every message (whether or not a client joined the group).
            for node in (1, 2, 3):
                def all_delivered():
                    now = scrape(cluster, node)[0]
                    return all(value(now, "bcast_delivered_messages_total", mode=m, order=o) -
                               value(before[node], "bcast_delivered_messages_total", mode=m,
                                     order=o) == count for m, o in CELLS)
                wait_for("node %d to deliver every message" % node, all_delivered)

            # Gauges are refreshed from the core five times a second: wait for one refresh that
            # shows the total-order messages committed and applied.
            after, types = wait_for(
                "node 1's gauges to show the commits",
                lambda: (lambda m: m if value(m[0], "bcast_raft_commit_index") >
                         value(before[1], "bcast_raft_commit_index") and
                         value(m[0], "bcast_raft_applied_index") ==
                         value(m[0], "bcast_raft_commit_index") else None)(scrape(cluster, 1)))
            # Types as documented: counters are counters (the parser strips _total).
            self.assertEqual(types["bcast_published_messages"], "counter")
            self.assertEqual(types["bcast_raft_term"], "gauge")
            self.assertEqual(types["bcast_publish_to_deliver_seconds"], "histogram")
            for mode, order in CELLS:
                cell = dict(mode=mode, order=order)
                for name, expected in (("bcast_published_messages_total", count),
                                       ("bcast_published_bytes_total", payload_bytes),
                                       ("bcast_delivered_bytes_total", payload_bytes),
                                       ("bcast_publish_to_deliver_seconds_count", count)):
                    self.assertEqual(value(after, name, **cell) - value(before[1], name, **cell),
                                     expected, (name, cell))
                self.assertEqual(value(after, "bcast_publish_to_deliver_seconds_bucket",
                                       le="+Inf", **cell),
                                 value(after, "bcast_publish_to_deliver_seconds_count", **cell))
            # Origin pushes went out for the reliable messages, once to each peer (total-order
            # ones travel to the leader and through Raft instead).
            self.assertEqual(
                value(after, "bcast_data_pushes_sent_total", mode="reliable", kind="origin") -
                value(before[1], "bcast_data_pushes_sent_total", mode="reliable", kind="origin"),
                2 * 3 * count)
            self.assertGreater(value(after, "bcast_peer_messages_received_total", type="raft"), 0)
            # Total order went through Raft, on synced writes.
            self.assertGreater(value(after, "bcast_storage_fsync_seconds_count"),
                               value(before[1], "bcast_storage_fsync_seconds_count"))
            self.assertEqual(value(after, "bcast_raft_leader_id"), leader)
            self.assertGreaterEqual(value(after, "bcast_raft_leader_changes_total"), 1)
            self.assertEqual(value(after, "bcast_ready"), 1)
            for peer in ("2", "3"):
                self.assertEqual(value(after, "bcast_peer_connected", peer=peer), 1, peer)
            self.assertEqual(value(after, "bcast_build_info", version="0.1.0"), 1)

            # A dead peer: its connection drops; the two left still make a quorum.
            cluster.stop(3, signal.SIGKILL)
            wait_for("node 1 to see node 3 disconnected",
                     lambda: value(scrape(cluster, 1)[0], "bcast_peer_connected", peer="3") == 0)
            cluster.wait_ready([1, 2])
            status = cluster.status(1)
            self.assertEqual({p["id"]: p["reachable"] for p in status["peers"]},
                             {1: True, 2: True, 3: False})

            # Alone, a daemon is alive but not ready, and says why.
            cluster.stop(2, signal.SIGKILL)
            code, reason = wait_for("node 1 to become unready",
                                    lambda: (lambda r: r if r[0] == 503 else None)(
                                        http_get(cluster.url(1, "/readyz"))))
            self.assertIn("no leader known", reason)
            self.assertEqual(http_get(cluster.url(1, "/healthz")), (200, "ok\n"))
            self.assertEqual(value(scrape(cluster, 1)[0], "bcast_ready"), 0)
            self.assertEqual(cluster.stop(1), 0)  # SIGTERM: a clean stop

    def test_unknown_path_is_404_and_http_is_off_by_default(self):
        with Cluster(BCASTD, 1) as cluster:
            self.assertEqual(http_get(cluster.url(1, "/nothing"))[0], 404)
        with Cluster(BCASTD, 1, http=False) as cluster:
            self.assertNotIn("--http", cluster.args(1))
            self.assertEqual(http_get(cluster.url(1, "/healthz"))[0], 0)  # nothing listens

    def test_non_loopback_http_is_refused_without_allow_remote(self):
        result = subprocess.run([BCASTD, "--dev", "--http", "0.0.0.0:9464"], capture_output=True,
                                timeout=10)
        self.assertEqual(result.returncode, 2)
        self.assertIn(b"--http-allow-remote", result.stderr)


if __name__ == "__main__":
    BCASTD = sys.argv.pop(1)
    BCASTCTL = sys.argv.pop(1)
    unittest.main()
