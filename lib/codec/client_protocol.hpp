// The local client protocol: what an application and its daemon say over a ZeroMQ ipc://
// socket (ROUTER in the daemon, DEALER in the client). docs/protocol.md is the full
// description; this header is its C++ form.
//
// Every message is one or two frames: a header (a msgpack map with string keys, described by
// Header below) and, for publish and delivery, a payload frame of raw bytes. Every header has
// "type"; requests carry a client-chosen "id" that the daemon's reply echoes. The first request
// must be hello with the protocol "version"; the daemon answers welcome (or error and nothing
// else, with the versions it speaks). Unknown keys are ignored (so both sides can add fields); a
// missing required key, a wrong type, a repeated key, an integer in a signed msgpack format, or
// an oversized, too deep or too wide frame gets an error reply with the request's id whenever
// the frame is a map with a readable "id", else id 0. An optional key may be absent or nil.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bcast/result.hpp"
#include "bcast/types.hpp"

namespace bcast::protocol {

inline constexpr std::uint32_t kVersion = 1;

enum class MessageType : std::uint8_t {
  // client -> daemon
  kHello,    // version; optional client_name, group_views
  kJoin,     // group: deliveries of the group reach this client from now on
  kLeave,    // group
  kPublish,  // group, mode, order (+ payload frame)
  kStatus,   // nothing
  kCluster,  // op ("list", "add", "promote", "remove", "transfer_leader"); node_id, address,
             // learner, public_key as the op needs
  // daemon -> client
  kWelcome,       // reply to hello: sender, node_id, version, max_message_bytes
  kOk,            // reply to join / leave
  kReceipt,       // reply to publish once acknowledged: seq, gseq (total order only)
  kStatusReply,   // reply to status: node_id, role, term, leader, members, commit_index;
                  // optional cluster_id, problems, peers, daemons_down
  kClusterReply,  // reply to cluster op "list": cluster_id, leader, nodes
  kDelivery,      // event: group, sender, seq, gseq, mode, order, stream_seq (+ payload frame)
  kView,          // event: group, members (the daemons of the cluster, as this daemon sees them);
                  // an agreed group view also: view_id, clients, joined, left, cause, gseq
  kError,         // reply to any request (id), or event (id 0): code, message, supported_versions
  kGap,           // event: messages the daemon will never deliver: reason; optional group; either
                  // origin, mode, from_seq, to_seq (nil: no end) or from_gseq, to_gseq
};

// Wire names: "hello", "join", ..., "status_reply", "error".
const char* message_type_name(MessageType type);
std::optional<MessageType> parse_message_type(std::string_view name);

// One member in a cluster_reply.
struct ClusterNode {
  NodeId node = kNoNode;
  std::string address;                       // its peer endpoint
  std::string role;                          // "voter" or "learner"
  bool identity_bound = false;               // the cluster knows which data directory it is
  bool promote_when_caught_up = false;       // a learner the leader will promote
  std::optional<std::uint64_t> match_index;  // how much of the log it holds (leader only)
  std::optional<bool> reachable;             // this daemon's connection to it (not for itself)
  std::string public_key;  // the CURVE key `cluster add --key` gave it (Z85), or empty

  bool operator==(const ClusterNode&) const = default;
};

// One peer in a status_reply: whether this daemon hears it (its failure detector).
struct PeerReach {
  NodeId node = kNoNode;
  bool reachable = false;                      // heard within the peer timeout, not excluded
  std::optional<std::uint64_t> last_heard_ms;  // nil: never heard since this daemon started
  bool operator==(const PeerReach&) const = default;
};

// One client connection in a group's agreed view.
struct ViewMember {
  SenderId sender = 0;
  NodeId node = kNoNode;
  std::string name;
  bool operator==(const ViewMember&) const = default;
};

// One header, whatever its type; each type uses the fields its comment above lists.
struct Header {
  MessageType type = MessageType::kError;
  std::uint64_t id = 0;  // request id, echoed in the reply; 0 for events
  std::uint32_t version = kVersion;
  std::string client_name;
  bool group_views = false;  // hello: this client wants agreed group views
  std::string group;
  Mode mode = Mode::kReliable;
  Order order = Order::kNone;
  SenderId sender = 0;
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> gseq;
  NodeId node_id = 0;
  std::uint64_t max_message_bytes = 0;
  // status_reply
  std::string role;  // "leader", "follower", "candidate", "learner"
  std::uint64_t term = 0;
  std::optional<NodeId> leader;
  std::vector<NodeId> members;
  std::uint64_t commit_index = 0;
  std::uint64_t cluster_id = 0;       // status_reply, cluster_reply (0: none, or unknown)
  std::vector<std::string> problems;  // status_reply: what keeps this daemon from serving fully
  std::vector<PeerReach> peers;       // status_reply: the other configured daemons
  std::vector<NodeId> daemons_down;   // status_reply: daemons the agreed group views hold down
  // cluster
  std::string op;
  std::string address;
  bool learner = false;
  std::string public_key;          // cluster "add": the new member's CURVE key (Z85), optional
  std::vector<ClusterNode> nodes;  // cluster_reply
  // view: set for an agreed group view (docs/membership.md), absent for the view after a join
  std::optional<std::uint64_t> view_id;
  std::vector<ViewMember> clients;  // the group's members
  std::vector<ViewMember> joined;
  std::vector<ViewMember> left;
  std::string cause;  // "join", "leave", "disconnect", "daemon-failed", "daemon-returned"
  // delivery: the message's position in its origin's stream for its mode (0: not given; total
  // order has none)
  std::uint64_t stream_seq = 0;
  // gap: `group` empty when it may concern any group; a stream gap has `origin` (a daemon
  // incarnation: sender_origin() of its senders), `mode`, from_seq..to_seq (no to_seq: no end);
  // a total-order gap from_gseq..to_gseq
  std::string reason;  // "excluded", "origin-lost", "snapshot", "best-effort-hold", ...
  std::optional<std::uint64_t> origin;
  std::uint64_t from_seq = 0;
  std::optional<std::uint64_t> to_seq;
  std::optional<std::uint64_t> from_gseq;
  std::optional<std::uint64_t> to_gseq;
  // error
  ErrorCode code = ErrorCode::kProtocol;
  std::string message;
  // On the refusal of a hello's version: every protocol version the daemon speaks (written only
  // when not empty).
  std::vector<std::uint64_t> supported_versions;
};

// Writes "type" and exactly the keys that type uses (docs/protocol.md lists them). delivery and
// view carry no "id"; receipt and delivery always carry "gseq" (nil without total order) and
// status_reply always carries "leader" (nil when none is known).
std::string encode_header(const Header& header);
// Rejects a frame longer than `max_bytes` (kTooLarge), and (kProtocol) anything that is not one
// msgpack map with string keys (at most 64 entries per map, 65535 per array, nesting depth 4),
// lacks "type" or a key its type requires, repeats any key, or has a value of the wrong type,
// encoding (a signed format where an unsigned integer is expected) or range for a key its type
// uses. Keys the type does not use are ignored, whatever their value; an optional key that is
// nil counts as absent. Group names are not checked beyond being strings (the daemon checks
// them). Never throws.
Result<Header> decode_header(std::string_view frame, std::size_t max_bytes = 64 * 1024);

// The "id" of a frame decode_header refused, so that the daemon's error reply reaches the request
// it answers: the value of the first top-level "id" key when the frame starts with a msgpack map
// and that value, reached before anything unreadable, is a non-negative integer (in any integer
// format); else 0. Whatever follows it -- more entries than allowed, nesting too deep, trailing
// bytes, any size -- does not matter. One pass over at most the frame's bytes; never throws.
std::uint64_t peek_request_id(std::string_view frame);

// Convenience: an error header replying to request `id`.
Header error_reply(std::uint64_t id, ErrorCode code, std::string message);

}  // namespace bcast::protocol
