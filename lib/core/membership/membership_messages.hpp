// The messages daemons exchange about the cluster itself: refusing a peer that is not who it
// claims to be, a new daemon's request to join, and run-time membership requests forwarded to
// the leader (Raft's own messages are in core/raft/message.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "bcast/result.hpp"
#include "bcast/types.hpp"

namespace bcast {

// Why a daemon refuses another's messages. Sent back (at most once per interval) so the refused
// daemon can tell its operator; its messages are dropped until the cause is fixed.
enum class RefusalReason : std::uint8_t {
  kClusterMismatch = 1,   // another cluster, or a different initial --peer list
  kIdentityMismatch = 2,  // the node id belongs to another data directory (wiped or duplicate)
  kNotMember = 3,         // not in the configuration (removed, or never added)
};
const char* refusal_reason_name(RefusalReason reason);

struct Refusal {
  RefusalReason reason = RefusalReason::kClusterMismatch;
  std::uint64_t cluster_id = 0;      // the refusing daemon's cluster
  std::uint64_t known_identity = 0;  // kIdentityMismatch: the identity the cluster has bound
  // The identity of the refused daemon: two daemons may claim one node id, and the refusal is for
  // the one that sent the refused message (the shell answers on that message's connection).
  std::uint64_t refused_identity = 0;
};

// A daemon started with --join asks any member to let it in. It has been added to the
// configuration (cluster add) first; the answer tells it which cluster it joins and where its
// boot counts start.
struct JoinRequest {
  std::uint64_t identity = 0;
  std::string address;  // where it listens: the answer goes there even before it is a member
};

struct JoinResponse {
  bool accepted = false;
  std::string reason;  // why not, when refused
  std::uint64_t cluster_id = 0;
  std::uint32_t incarnation_floor = 0;
  // Accepted: the current members and their addresses. Refused by a daemon that is not the
  // leader (such a refusal carries the cluster id; ask again): the leader it knows, if any.
  std::vector<std::pair<NodeId, std::string>> members;
  std::string reply_address;  // the request's address
};

// Run-time membership (bcastctl cluster ...), carried out by the leader.
struct AdminRequest {
  enum class Kind : std::uint8_t { kAdd = 0, kPromote = 1, kRemove = 2, kTransferLeader = 3 };
  Kind kind = Kind::kAdd;
  NodeId node = kNoNode;
  std::string address;     // kAdd
  bool learner = false;    // kAdd: stays a learner (else promoted once caught up)
  std::string public_key;  // kAdd: its CURVE public key (Z85), or empty (docs/security.md)
};
const char* admin_kind_name(AdminRequest::Kind kind);

// A request on its way to the leader (request_id is the asking daemon's own number).
struct AdminForward {
  std::uint64_t request_id = 0;
  AdminRequest request;
};

// The outcome: success once the change is committed (a transfer: once it has started), or why
// not. Goes back to the asking daemon, and from it to its client (Outbox::admin_results).
struct AdminResult {
  std::uint64_t request_id = 0;
  bool ok = true;
  ErrorCode code = ErrorCode::kUnavailable;  // when not ok
  std::string message;                       // when not ok
};

}  // namespace bcast
