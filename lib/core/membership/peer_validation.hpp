// What a peer message may say, given who sent it: a node speaks only for itself.
//
// Checked for every envelope before it reaches the protocols (the daemon's shell calls it right
// after decoding, for messages of every peer, keyed or not; docs/security.md). A message that
// fails is dropped whole, counted, and its connection closed; the reason says what was wrong.
// The rules hold for every honest daemon, so a refusal always means a broken or hostile peer:
//
//  * the envelope's stamp (origin id), a Raft message's from/to, a Hello's or Digest's origin, a
//    best-effort push's origin and every message of a TotalForward name the sending node itself
//    (best-effort is never relayed; an origin forwards only its own total-order messages;
//    reliable and gossip pushes and welcomes are relayed, so they may carry any origin);
//  * no term or index is near the top of its 64-bit range (nothing may wrap to 0), and no term
//    is more than kMaxTermsAhead beyond the receiver's (elections add one term at a time);
//  * only one node leads a term (Raft's Election Safety): replication traffic of the current
//    term from anyone but the leader this node knows for it is refused, so a forged Append can
//    no longer split the log;
//  * a vote request carrying the leadership-transfer flag (which bypasses the leader lease) is
//    refused by the current leader unless it is transferring to that very node.
//
// What it cannot tell without keys: a message that forges every field consistently as another
// node would (from, origin, stamps). CURVE keys bind the sender's node id to its key
// (lib/io/peer_transport.hpp) and close that.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/outbox.hpp"

namespace bcast {

// What the receiver knows that the checks need (its Raft state).
struct ValidationContext {
  NodeId self = kNoNode;
  Term term = 0;
  NodeId leader = kNoNode;           // of `term`, if known
  NodeId transfer_target = kNoNode;  // when this node leads and is handing the leadership over
};

inline constexpr Term kMaxTermsAhead = Term{1} << 20;
inline constexpr std::uint64_t kMaxTermOrIndex = std::uint64_t{1} << 62;

// nullopt if `envelope` may be stepped; otherwise why not.
std::optional<std::string> invalid_for_sender(const Envelope& envelope,
                                              const ValidationContext& context);

}  // namespace bcast
