// A published message as daemons see it, and the identities it is tracked by.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bcast/types.hpp"

namespace bcast {

// One incarnation of one daemon: node id in the top 16 bits, boot count in the low 16 (the top
// half of every sender id the incarnation hands out). Streams, causal clocks and joins are kept
// per incarnation, so a restarted daemon starts fresh instead of colliding with its past.
using OriginId = std::uint32_t;
inline OriginId make_origin_id(NodeId node, std::uint32_t incarnation) {
  return static_cast<OriginId>(((node & 0xffff) << 16) | (incarnation & 0xffff));
}
inline NodeId origin_node(OriginId origin) { return origin >> 16; }

// Every reliable or gossip message belongs to its origin's stream for that mode, numbered 1, 2,
// ... by the origin. Gaps in a stream are what repair fills; stream order is FIFO order.
struct StreamKey {
  OriginId origin = 0;
  Mode mode = Mode::kReliable;
  auto operator<=>(const StreamKey&) const = default;
};

// Causal dependencies: for each origin, how many of its causal messages the publishing daemon
// had delivered (for the publisher itself: how many it had sent, this one included).
class CausalClock {
 public:
  std::uint64_t get(OriginId origin) const;
  void set(OriginId origin, std::uint64_t count);
  const std::vector<std::pair<OriginId, std::uint64_t>>& entries() const { return entries_; }
  bool operator==(const CausalClock&) const = default;

 private:
  std::vector<std::pair<OriginId, std::uint64_t>> entries_;  // sorted by origin, counts > 0
};

struct BroadcastMessage {
  SenderId sender = 0;
  std::uint64_t seq = 0;         // the sender's publish counter, 1, 2, ... (shown to users)
  std::uint64_t stream_seq = 0;  // position in the origin's stream (mode), or total stream
  std::string group;
  Mode mode = Mode::kReliable;
  Order order = Order::kNone;
  CausalClock causal;  // causal order only
  std::shared_ptr<const std::string> payload;
  // Total order only: the origin gave up on this message (its publisher was told it timed out);
  // it still takes its place in the origin's total stream, so later ones are not held up, but
  // gets no position and is not delivered.
  bool withdrawn = false;

  OriginId origin() const { return sender_origin(sender); }
  StreamKey stream() const { return {origin(), mode}; }
};

// Total-order messages travel to the leader and into the Raft log in batches; a batch is the
// data of one Raft entry. The encoding is the core's own (core/byte_codec.hpp).
std::string encode_message_batch(const std::vector<BroadcastMessage>& messages);
std::optional<std::vector<BroadcastMessage>> decode_message_batch(std::string_view data);

// One message delivered to the applications of a daemon.
struct Delivery {
  std::string group;
  SenderId sender = 0;
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> gseq;  // total order only: the global position
  Mode mode = Mode::kReliable;
  Order order = Order::kNone;
  std::shared_ptr<const std::string> payload;
  // Best-effort, reliable and gossip: the message's position in its origin's stream for its
  // mode (the origin is sender_origin(sender)), which is what gap notices name. Total: 0.
  std::uint64_t stream_seq = 0;
  // Total: the message's position in its origin's total stream (flow control follows it; not
  // shown to applications). Otherwise 0.
  std::uint64_t total_stream_seq = 0;
  // The core's bookkeeping: flow control has counted this delivery (Node::finish).
  bool flow_counted = false;
};

// Messages a daemon will never deliver, announced to its applications before any delivery that
// follows them (docs/guarantees.md, "Gaps"). A daemon never skips a message silently: every
// skip of a reliable, gossip or total-order message, and every best-effort FIFO skip, is one.
//
// Which groups a gap concerns is in general unknown: a message that never arrived is known only
// by its place in its origin's stream, and an origin's stream carries the messages of every
// group its clients publish to. So a stream gap concerns every group (a daemon announces it to
// every application that receives messages of the origin and mode), unless `group` says that
// each skipped message is known to belong to that group. A total-order gap concerns every group
// too: positions are global.
struct Gap {
  enum class Kind : std::uint8_t {
    kStream,  // positions from..to of the stream of (origin, mode): Delivery::stream_seq
    kTotal,   // global positions from..to: Delivery::gseq
  };
  enum class Reason : std::uint8_t {
    // The origin had excluded this daemon (silent longer than the peer timeout); what it
    // published meanwhile, and this daemon did not receive, is skipped at the rejoin.
    kExcluded,
    // A dead origin's messages that no member this daemon counts holds: lost with the origin
    // (or held only by members this daemon had excluded, or that had excluded it).
    kOriginLost,
    // Total order: positions covered by a snapshot this daemon installed (it fell behind the
    // leader's retained log).
    kSnapshot,
    // Best-effort FIFO: positions that did not arrive within the hold time. Only FIFO messages
    // among them are never delivered; order-none best-effort messages are never held back, so
    // one that arrives late is still delivered.
    kBestEffortHold,
  };
  // A stream gap whose end is unknown: every later position of the stream too (a dead
  // origin's tail, of which nobody knows how far it went).
  static constexpr std::uint64_t kOpenEnd = UINT64_MAX;

  Kind kind = Kind::kStream;
  Reason reason = Reason::kOriginLost;
  OriginId origin = 0;          // kStream
  Mode mode = Mode::kReliable;  // kStream
  std::uint64_t from = 0;       // first skipped position (stream_seq or gseq)
  std::uint64_t to = 0;         // last skipped position, inclusive (kOpenEnd: no end)
  std::optional<std::string> group;

  bool operator==(const Gap&) const = default;
};

// "excluded", "origin-lost", "snapshot", "best-effort-hold": the reason as clients see it.
const char* gap_reason_name(Gap::Reason reason);

}  // namespace bcast
