// Basic identifiers and service choices shared by every layer of bcastd.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace bcast {

// A daemon's identity in the cluster, 1..65535 (it is also the top of every sender id).
// 0 means "no node" (no leader known, no vote cast).
using NodeId = std::uint64_t;
inline constexpr NodeId kNoNode = 0;
inline constexpr NodeId kMaxNodeId = 0xffff;

// Raft's term and log position, named as in the Raft paper.
using Term = std::uint64_t;
using LogIndex = std::uint64_t;

// A sender is one client connection, cluster-unique over time:
//   bits 63..48 the daemon's node id, 47..32 the daemon's incarnation (its boot count, so a
//   restarted daemon never reuses a sender id), 31..0 the connection number within it.
using SenderId = std::uint64_t;
inline SenderId make_sender_id(NodeId node, std::uint32_t incarnation, std::uint32_t client) {
  return (static_cast<SenderId>(node & 0xffff) << 48) |
         (static_cast<SenderId>(incarnation & 0xffff) << 32) | client;
}
inline NodeId sender_node(SenderId sender) { return sender >> 48; }
// The daemon incarnation a sender belongs to (node id and boot count), as one number.
inline std::uint32_t sender_origin(SenderId sender) {
  return static_cast<std::uint32_t>(sender >> 32);
}

// How a message spreads between daemons.
enum class Mode : std::uint8_t {
  kBestEffort = 0,  // one send per daemon; no retransmission, no relay
  kReliable = 1,    // eager: every daemon relays on first receipt; repaired by digests
  kGossip = 2,      // push to a few random daemons for a few rounds; repaired by anti-entropy
};

// What the receiving daemon enforces before delivering.
enum class Order : std::uint8_t {
  kNone = 0,    // deliver on receipt
  kFifo = 1,    // per sender and mode, in publish order
  kCausal = 2,  // happened-before, tracked per daemon
  kTotal = 3,   // one global order across all groups (gseq), decided through Raft
};

const char* mode_name(Mode mode);     // "best-effort", "reliable", "gossip"
const char* order_name(Order order);  // "none", "fifo", "causal", "total"
std::optional<Mode> parse_mode(std::string_view name);
std::optional<Order> parse_order(std::string_view name);

}  // namespace bcast
