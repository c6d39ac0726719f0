// The messages of the dissemination and ordering protocols (Raft's are in core/raft/message.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/bcast/message.hpp"

namespace bcast {

// A broadcast message pushed to a daemon: the origin's first send, a reliable relay, a gossip
// round, or a repair.
struct DataPush {
  BroadcastMessage message;
  std::uint8_t hops = 0;  // gossip: rounds travelled so far
  bool repair = false;    // sent to fill a gap; never relayed further
};

// How much of one origin's stream (of the digest's mode) a daemon holds.
inline constexpr std::size_t kMaxMissingReported = 64;

struct StreamPosition {
  OriginId origin = 0;
  std::uint64_t received_upto = 0;  // every message up to here is received (or not ours)
  std::uint64_t stable_upto = 0;    // every message up to here is held by every live member
  // Where the stream starts for the reporting daemon (messages up to here were never its own;
  // it holds them only if they arrived before it learned the cut). Until it knows the cut it
  // wants no repairs of the stream.
  bool cut_known = false;
  std::uint64_t cut = 0;
  // Beyond the contiguous prefix: the highest message received, and (at most
  // kMaxMissingReported of) the ones missing below it, so repairs send exactly what is missing.
  std::uint64_t highest_received = 0;
  std::vector<std::uint64_t> missing;
  // Messages of a dead origin that no live member held, given up on (rare: the origin died
  // before they reached anyone). Peers give them up too instead of waiting for them.
  std::vector<std::uint64_t> lost;
};

// A daemon's positions in every stream of one mode, sent periodically: peers push back what it
// lacks (repair) and learn what it holds (stability, hence garbage collection). Reliable
// dissemination sends it to every peer; gossip to one random peer, which answers with its own
// (push-pull anti-entropy).
// A stream missing from a digest is one whose start the sender knows and of which it holds
// nothing (position 0): most origins of a large cluster never publish.
struct Digest {
  OriginId from = 0;
  Mode mode = Mode::kReliable;
  std::vector<StreamPosition> streams;
  bool wants_reply = false;
};

// A daemon incarnation announces itself, at start and until every peer has welcomed it.
struct Hello {
  OriginId from = 0;
};

// An origin tells an incarnation it has just met where the origin's streams start for it: every
// message after these cuts is the newcomer's to deliver, and the origin keeps each one until the
// newcomer has it.
struct Welcome {
  OriginId from = 0;
  OriginId to = 0;
  // 1 for the first welcome; higher after the origin excluded this incarnation and met it
  // again: the newcomer then skips ahead to the new cuts.
  std::uint32_t epoch = 1;
  std::uint64_t reliable_cut = 0;
  std::uint64_t gossip_cut = 0;
  std::uint64_t causal_cut = 0;
};

// Total-order messages on their way to the leader, which sequences them through Raft. Each is
// numbered in its origin's total stream (stream_seq) so the leader keeps their order.
struct TotalForward {
  std::vector<BroadcastMessage> messages;
};

// End-to-end flow control (core/bcast/flow_control.hpp): how far a daemon has delivered each
// origin's streams, and how much of each group its delivery path can still take from each
// publishing member. Sent to every peer every tick while the daemon has local subscribers, and
// every hello interval regardless, so a lost one is soon replaced.
struct CreditPosition {
  OriginId origin = 0;
  std::uint64_t reliable = 0;  // the highest stream_seq delivered in each of its streams
  std::uint64_t gossip = 0;
  std::uint64_t total = 0;
  bool operator==(const CreditPosition&) const = default;
};
struct GroupRoom {
  std::string group;
  std::uint64_t share_bytes = 0;  // what each member may publish beyond the delivered positions
  bool operator==(const GroupRoom&) const = default;
};
struct Credit {
  OriginId from = 0;
  // Numbers the sender's adverts: rooms are not monotone, so a reordered older advert must not
  // replace a newer one.
  std::uint64_t sequence = 0;
  std::vector<CreditPosition> delivered;
  std::vector<GroupRoom> rooms;
  bool operator==(const Credit&) const = default;
};

}  // namespace bcast
