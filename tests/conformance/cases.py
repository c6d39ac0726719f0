"""Cases the conformance suite and the bindings' tests share, so both check the same sentences of
docs/protocol.md: the services, and the group names the daemon must refuse."""

MODES = ("best-effort", "reliable", "gossip")
ORDERS = ("none", "fifo", "causal", "total")

# "Not every combination is offered: best-effort with causal or total is refused with
# invalid_argument."
REFUSED_CELLS = {("best-effort", "causal"), ("best-effort", "total")}
OFFERED_CELLS = [(m, o) for m in MODES for o in ORDERS if (m, o) not in REFUSED_CELLS]

# "A group name is 1..255 bytes; join, leave and publish refuse any other (an empty one included)
# with invalid_argument."
MAX_GROUP_BYTES = 255
BAD_GROUP_NAMES = {"empty": "", "256 bytes": "g" * (MAX_GROUP_BYTES + 1)}
LONGEST_GROUP_NAME = "g" * MAX_GROUP_BYTES
