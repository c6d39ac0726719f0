"""bcastd's logs, end to end: every line has a UTC timestamp, a level and the node id, in the
default text format and with --log-format json (one parseable object per line).

    logs_test.py PATH/TO/bcastd
"""

import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ops_cluster import Cluster  # noqa: E402

BCASTD = None
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z (debug|info|warn|error) "
                       r"bcastd\[1\]: \S")


class LogsTest(unittest.TestCase):
    def run_daemon(self, *args):
        with Cluster(BCASTD, 1, list(args)) as cluster:
            cluster.leader()
            self.assertEqual(cluster.stop(1), 0)
            return cluster.log(1).splitlines()

    def test_text_lines_have_time_level_and_node(self):
        lines = self.run_daemon()
        self.assertGreaterEqual(len(lines), 3, lines)  # started, leader, stopped at least
        for line in lines:
            self.assertRegex(line, TEXT_LINE)
        self.assertTrue(any(" info bcastd[1]: started: " in line for line in lines), lines)
        self.assertTrue(lines[-1].endswith("stopped"), lines)

    def test_json_lines_parse(self):
        lines = self.run_daemon("--log-format", "json", "--verbose")
        records = [json.loads(line) for line in lines]
        for record in records:
            self.assertEqual(set(record), {"time", "level", "node", "msg"})
            self.assertRegex(record["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
            self.assertEqual(record["node"], 1)
        levels = {r["level"] for r in records}
        self.assertIn("info", levels)
        self.assertIn("debug", levels)  # --verbose: the timings in effect, membership events
        self.assertTrue(any(r["msg"].startswith("leader of term") for r in records))

    def test_level_filters(self):
        lines = self.run_daemon("--log-level", "warn")
        self.assertEqual([l for l in lines if " info " in l or " debug " in l], [])


if __name__ == "__main__":
    BCASTD = sys.argv.pop(1)
    unittest.main()
