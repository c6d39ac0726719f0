// The C++ client of a local bcastd: join groups, publish to them, receive what they deliver.
//
//   auto client = bcast::Client::connect({.socket_path = "/run/bcastd.sock"});
//   if (!client) { /* client.error().message says why */ }
//   client.value().join("chat");
//   client.value().publish("chat", bcast::Mode::kReliable, bcast::Order::kFifo, "hello");
//   while (auto event = client.value().next_event(std::chrono::seconds(1))) { ... }
//
// One Client is one connection and one sender: the daemon numbers its messages seq 1, 2, 3, ...
// in publish order. docs/protocol.md describes the wire protocol underneath.
//
// Threading: a Client starts no threads of its own and is not thread-safe; use it from one
// thread at a time (ZeroMQ's I/O thread runs inside the library's context). Every call either
// returns at once or waits at most its timeout.
//
// Events: receipts, deliveries, views, gaps and errors all arrive through next_event(), in the
// order the daemon sent them. A call that waits for its own reply (connect, join, leave, status,
// publish when the window is full, publish_and_wait) keeps whatever else arrives meanwhile for
// next_event(), so nothing is lost, but that backlog grows with what arrives during the wait.
//
// Publishing is pipelined: publish() sends at once and returns the request id while fewer than
// `max_in_flight` publishes are unacknowledged; beyond that it first waits for receipts (or
// errors) to come back. Every publish ends in exactly one Receipt or one RequestError with its
// id: nothing is dropped silently, including the daemon's "busy" refusals.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "bcast/result.hpp"
#include "bcast/types.hpp"

namespace bcast {

struct ClientOptions {
  // The daemon's client socket: the path given to `bcastd --client-socket`, or a full ZeroMQ
  // endpoint ("ipc://...").
  std::string socket_path;
  // Shown in the daemon's logs and status; at most 255 bytes; may be empty.
  std::string client_name;
  // Also receive agreed group views (View with a view_id) of joined groups, whenever their
  // membership changes (docs/membership.md). Off: only the view after each join, as before.
  bool group_views = false;
  // Publishes sent but not yet acknowledged before publish() waits (backpressure). 1 to 2^20.
  // Receipts come at the pace of the group's slowest subscriber (flow control: the daemon holds
  // a publish until the cluster has room for it, up to its --publish-wait-ms, then answers it
  // `busy`, a RequestError), so a full window is how a publisher is paced.
  std::size_t max_in_flight = 1024;
  // How long connect, join, leave and status wait.
  // Total-order receipts wait out leader elections, so keep this above the daemon's total-order
  // timeout (3 s by default) when waiting for them.
  std::chrono::milliseconds request_timeout{5000};
  // How long a publish waits for room in a full window (then kTimeout, the message not sent).
  // Keep it above the daemon's --publish-wait-ms (10 s by default), so that a publish the daemon
  // holds for credit ends in the daemon's kBusy, with its reason, rather than here.
  std::chrono::milliseconds publish_window_timeout{12000};
  // The largest frame accepted from the daemon (ZMQ_MAXMSGSIZE); a bigger one closes the
  // connection. Must exceed the daemon's max_message_bytes.
  std::int64_t max_frame_bytes = 64 << 20;
  // Survive a lost connection (the daemon restarted, or closed this client): next_event()
  // reconnects, backing off up to 2 s between tries, for at most `resume_timeout`. Every
  // publish awaiting its receipt first ends in a RequestError (kUnavailable: its fate is
  // unknown); every joined group is joined again and its total order replayed from the gseq
  // after the last one delivered (or skipped), so the application sees one unbroken total-order
  // sequence per group; what other orders may have missed meanwhile is reported first as a Gap
  // (kStream, origin 0: any origin, reason "disconnected"). The sender id changes. Without a
  // history at the daemon, the total order missed is a Gap (kTotal, "disconnected") instead.
  bool resume = false;
  std::chrono::milliseconds resume_timeout{30000};
};

// A publish acknowledged: the service now promises it (see docs/guarantees.md).
struct Receipt {
  std::uint64_t request_id = 0;       // what publish() returned
  std::uint64_t seq = 0;              // this sender's sequence number for the message
  std::optional<std::uint64_t> gseq;  // its position in the global order (total order only)
};

// A message of a group this client joined.
struct Delivery {
  std::string group;
  SenderId sender = 0;  // cluster-unique id of the publishing connection
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> gseq;  // total order only
  Mode mode = Mode::kReliable;
  Order order = Order::kNone;
  std::string payload;
  // Best-effort, reliable and gossip: the message's position in the stream of its origin (the
  // daemon incarnation sender_origin(sender)) for its mode, which a Gap names. 0 for total order.
  std::uint64_t stream_seq = 0;
};

// Messages the local daemon will never deliver (docs/guarantees.md, "Gaps"): it comes before
// anything delivered after them, so a client that sees a hole in a sender's seq, in causal
// order or in gseq without a Gap covering it has found a bug. Sent to every client that joined
// a group, whatever its services.
//  * kStream: positions from..to of the stream of daemon incarnation `origin` for `mode`
//    (Delivery::stream_seq; the origin is sender_origin(sender) of its senders); `to` empty:
//    every later position too (a dead origin's tail of unknown length). One stream holds the
//    messages of all the origin's senders in every group.
//  * kTotal: global positions from..to (Delivery::gseq), of every group.
// `group` names the one group the skipped messages belong to when the daemon knows it; empty:
// any group (a message that never arrived is known only by its position).
// `reason`: "excluded" (skipped when this daemon rejoined after being excluded), "origin-lost"
// (a dead origin's messages nobody alive holds), "snapshot" (total-order positions covered by a
// snapshot this daemon installed), "best-effort-hold" (best-effort FIFO positions that did not
// arrive in time), "slow-subscriber" (best-effort deliveries the daemon dropped because this
// client read too slowly; sent at once), "history-trimmed" / "history-off" (a replay from a
// position the daemon's history no longer holds), "disconnected" (ClientOptions::resume: missed
// while the connection was down; a kStream gap with origin 0 covers every origin's stream);
// accept others.
struct Gap {
  enum class Kind : std::uint8_t { kStream, kTotal };
  Kind kind = Kind::kStream;
  std::string group;
  std::string reason;
  std::uint32_t origin = 0;     // kStream
  Mode mode = Mode::kReliable;  // kStream
  std::uint64_t from = 0;
  std::optional<std::uint64_t> to;  // inclusive; always set for kTotal
};

// One client connection in a group's agreed view.
struct ViewMember {
  SenderId sender = 0;
  NodeId node = kNoNode;  // the daemon it is connected to
  std::string name;       // its client_name (may be empty)
  bool operator==(const ViewMember&) const = default;
};

// Two kinds of view arrive for a joined group (docs/membership.md):
//  * right after each join, the daemons of the cluster as the local daemon sees them (`members`;
//    `view_id` empty);
//  * an agreed group view whenever the group's membership changes, the same sequence on every
//    daemon: `view_id` 1, 2, 3, ... per group, the group's members and who joined or left,
//    the `cause` ("join", "leave", "disconnect", "daemon-failed", "daemon-returned"), and the
//    global position after which it takes effect (`gseq`; 0: before any total-order message).
//    Two members that both receive views v and v+1 receive the same total-order messages of the
//    group between them.
struct View {
  std::string group;
  std::vector<NodeId> members;  // the cluster's daemons
  std::optional<std::uint64_t> view_id;
  std::vector<ViewMember> group_members;
  std::vector<ViewMember> joined;
  std::vector<ViewMember> left;
  std::string cause;
  std::uint64_t gseq = 0;
};

// The daemon refused a request (request_id is the publish's id), or reports a problem not tied
// to one (request_id 0: e.g. the daemon disconnected this client, or a frame from the daemon
// this client could not decode). A publish held for credit too long is refused kBusy (its
// message starts with "no credit" and ends with a retry-after hint).
struct RequestError {
  std::uint64_t request_id = 0;
  Error error;
};

using Event = std::variant<Receipt, Delivery, View, RequestError, Gap>;

// The local daemon's view of the cluster.
struct Status {
  NodeId node_id = kNoNode;
  std::string role;  // "leader", "follower", "candidate", "learner"
  Term term = 0;
  std::optional<NodeId> leader;
  std::vector<NodeId> members;
  LogIndex commit_index = 0;
  std::uint64_t cluster_id = 0;       // 0 for a cluster made by a bcastd without cluster ids
  std::vector<std::string> problems;  // e.g. "refused by node 2: ...": empty when all is well
  // This daemon's failure detector, for every other configured daemon (bcastctl members).
  struct Peer {
    NodeId node = kNoNode;
    bool reachable = false;                      // heard within the peer timeout
    std::optional<std::uint64_t> last_heard_ms;  // empty: never heard since the daemon started
    bool operator==(const Peer&) const = default;
  };
  std::vector<Peer> peers;
  std::vector<NodeId> daemons_down;  // daemons whose members the agreed group views hold down
};

// One member of the cluster's committed configuration (Client::cluster_list).
struct ClusterMember {
  NodeId node = kNoNode;
  std::string address;                  // its peer endpoint, tcp://IP:PORT
  std::string role;                     // "voter" or "learner"
  bool identity_bound = false;          // the cluster knows which data directory it is
  bool promote_when_caught_up = false;  // a learner the leader promotes once caught up
  std::optional<LogIndex> match_index;  // log it holds; known by the leader (and self)
  std::optional<bool> reachable;        // the local daemon's connection to it
  std::string public_key;               // its CURVE key (Z85) if added with one, else empty
};

struct ClusterInfo {
  std::uint64_t cluster_id = 0;
  std::optional<NodeId> leader;
  std::vector<ClusterMember> members;
};

class Client {
 public:
  // Connects, says hello and waits up to request_timeout for the welcome. Fails with
  // kUnavailable at once if nothing listens on an ipc socket path (no such file, or a file left
  // behind by a daemon that stopped), or if no daemon answers in time; with the daemon's error
  // if it refuses (e.g. an unsupported protocol version, too many clients); kInvalidArgument for
  // bad options, and with a message starting "permission denied" when the socket file's mode
  // or the daemon's uid/gid allow-list keeps this process out.
  static Result<Client> connect(const ClientOptions& options);

  Client(Client&&) noexcept;
  Client& operator=(Client&&) noexcept;
  ~Client();

  // Deliveries of `group` reach this client from the daemon's ok on (waits for it). A view of
  // the group follows as an event. kPermissionDenied when the daemon's group permissions do not
  // let this process's user join it (docs/security.md#group-permissions).
  Result<void> join(std::string_view group);
  // Joins and replays the group's total-order messages from gseq `from_gseq` (0: the oldest the
  // daemon's history holds), then goes on with the live ones: no gap and no duplicate at the
  // switch. A position older than the history yields a Gap (reason "history-trimmed") up to the
  // oldest one held. Other orders are live from the join on, as with join(group). Fails
  // (unavailable) if the daemon keeps no history.
  Result<void> join(std::string_view group, std::uint64_t from_gseq);
  Result<void> leave(std::string_view group);

  // (A publish the daemon's group permissions refuse this user ends in a RequestError with
  // kPermissionDenied.)
  // Sends a publish and returns its request id; the Receipt or RequestError with that id comes
  // later through next_event(). Waits (up to request_timeout, then kTimeout) only while
  // max_in_flight publishes are unacknowledged. A payload over the daemon's max_message_bytes is
  // refused here with kTooLarge; services the daemon does not offer are refused by the daemon.
  Result<std::uint64_t> publish(std::string_view group, Mode mode, Order order,
                                std::string_view payload);
  // publish() and wait (up to `timeout`, default request_timeout) for that message's receipt,
  // which is returned rather than queued; its refusal comes back as the error. On kTimeout the
  // publish stays in flight and its outcome arrives later through next_event().
  Result<Receipt> publish_and_wait(std::string_view group, Mode mode, Order order,
                                   std::string_view payload,
                                   std::optional<std::chrono::milliseconds> timeout = {});

  // The next event, waiting up to `timeout` (0: only what is already there). An empty optional
  // means none arrived in time, or a signal interrupted the wait (so a loop can check its
  // flags). Once the connection to the daemon is lost (it stopped, or closed the connection,
  // or told this client it is disconnected: a RequestError with request_id 0 and kUnavailable,
  // whose message says why, e.g. the client fell too far behind its deliveries), this and every
  // later call fails with kUnavailable, after the events that arrived before; the daemon has
  // forgotten this client, so a new Client must connect. kIo: a failed socket.
  Result<std::optional<Event>> next_event(std::chrono::milliseconds timeout);

  // Asks the daemon for its view of the cluster (waits for the reply).
  Result<Status> status();

  // Run-time membership (docs/operations.md). The local daemon forwards a change to the leader;
  // it returns once the change is committed (a transfer: once started), or with the reason it
  // was refused: invalid_argument (not allowed in the configuration: already a member, not a
  // learner, last voter), not_found (no such member), busy (another change is in progress),
  // unavailable / not_leader / timeout (no leader, or the leadership changed: check
  // cluster_list() and retry).
  Result<ClusterInfo> cluster_list();
  // Adds node `node`, reachable at `address` (tcp://IP:PORT), as a learner; the leader promotes
  // it to voter once it has caught up, unless `learner`. Start the new daemon with --join.
  Result<void> cluster_add(NodeId node, std::string_view address, bool learner = false,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The same, with the new member's CURVE public key (Z85, as `bcastctl keygen` prints it): the
  // committed change carries it, and every daemon lets that key in as `node` while it is a
  // member (docs/security.md). invalid_argument for a malformed key or one another member has.
  Result<void> cluster_add_keyed(NodeId node, std::string_view address, std::string_view public_key,
                                 bool learner = false,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));
  Result<void> cluster_promote(NodeId node,
                               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  Result<void> cluster_remove(NodeId node,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10));
  Result<void> transfer_leadership(NodeId node,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // For an external event loop: the ZeroMQ socket's ZMQ_FD. It becomes readable when the socket
  // *may* have something; it is edge-triggered, so on readability (and after any call that
  // sends) call next_event(0ms) until it returns no event, and only then wait on fd() again.
  // It does not signal a lost connection: wait with a timeout (say a second) and call
  // next_event(0ms) after it too.
  int fd() const;

  SenderId sender() const;                  // this connection's sender id, from the welcome
  NodeId node_id() const;                   // the local daemon's node id
  std::uint64_t max_message_bytes() const;  // the daemon's payload limit
  std::size_t in_flight() const;            // publishes awaiting their receipt or error
  bool has_queued_events() const;           // next_event(0ms) would return one without reading

 private:
  struct Impl;
  explicit Client(std::unique_ptr<Impl> impl);
  Result<void> change_membership(std::string_view op, NodeId node, std::string_view address,
                                 std::string_view public_key, bool learner,
                                 std::chrono::milliseconds timeout);
  std::unique_ptr<Impl> impl_;
};

}  // namespace bcast
