// The daemon's side of the local client protocol (docs/protocol.md): a ZeroMQ ROUTER bound to
// ipc://<client socket>, one entry per connected client.
//
// A client says hello (protocol version), receives its sender id, joins groups and publishes.
// Requests are handled as they arrive; a publish's receipt follows once the core acknowledges
// it (at once for best-effort, reliable and gossip; at commit for total order). Deliveries go to
// every client that joined the message's group; gap notices (what will never be delivered) to
// every client of the groups they may concern, in their place among the deliveries.
//
// Bad input costs only the sender: a malformed header, an unknown type, a request before hello,
// an oversized payload each get an error reply, and the daemon goes on serving everyone.
//
// Connections. A ListenerGuard (listener_guard.hpp) watches the socket's connections: a client
// whose connection closes is forgotten at once (its sender closed, its groups, pending receipts
// and queued messages dropped), so clients that come and go never use up the `max_clients`
// slots; and at `max_connections` open connections the socket stops accepting until some
// close, so connections can never exhaust the daemon's file descriptors.
//
// Sends to clients never block. Each client has a ClientQueue (client_queue.hpp) bounded in
// bytes (`client_queue_bytes`): replies, events and deliveries wait there, in order, for room
// in ZeroMQ. At the bound, the oldest best-effort deliveries are dropped and the client is told
// at once, by gap events naming exactly the dropped messages (origin, best-effort stream
// positions, group; reason "slow-subscriber"); a reliable, gossip or total-order delivery or a
// reply that does not fit disconnects the client: it is told why (an error event, id 0,
// `unavailable`, the protocol's "you are disconnected") and forgotten.
//
// Flow control (core/bcast/flow_control.hpp; docs/guarantees.md, "Slow subscribers"). With the
// `block` policy (`flow_control`), every round the server reports to the node, per group, the
// free room of the group's slowest client (what its queue can still take, below a reserve kept
// for replies and for what was already on its way), so that publishers anywhere in the cluster
// are paced by it and a subscriber that keeps reading never overflows. A publish the node has
// no credit for is parked in its client's FIFO (and so is every later publish of that client,
// to keep its order) and retried every round after the node stepped and ticked; one parked
// longer than `publish_wait` is answered `busy` (with a retry-after hint), and so are those
// parked behind it. A client that stopped reading must not hold publishers back forever: one
// whose queue held data while ZeroMQ wrote nothing of it for `stalled_subscriber` is
// disconnected (told why), which releases its room.
// TODO([replay]): give that event the client's resume position (the gseq it has seen up to), so
// a client can reconnect with `--from` and lose nothing.
//
// Replay (client_server_replay.cpp): a join with `from_gseq` streams the group's total-order
// messages from the daemon's history (history_store.hpp) from there, then the live ones. The
// daemon appends every total-order delivery to the history before it fans it out, so while a
// client replays a group its live total-order deliveries of that group are skipped: the replay
// reads them from the history, in order, and goes live once it has read everything written: no
// gap and no duplicate at the switch. A position the history no longer holds yields a gap event
// up to the oldest one it holds. Replays read at most kReplayBytesPerRound from disk per event-loop
// round, all clients together, and only while the client's queue has room, so memory stays bounded
// and live delivery to other clients waits at most for one such read per round.
//
// Access (local_access.hpp): the socket file gets its mode and group whatever the umask, and a
// hello from a uid/gid outside the allow-list is answered "permission denied" and not served.
//
// The socket file is removed when the server stops (if it is still the one it bound).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bcast/result.hpp"
#include "codec/client_protocol.hpp"
#include "core/node.hpp"
#include "io/client_queue.hpp"
#include "io/group_permissions.hpp"
#include "io/history_store.hpp"
#include "io/listener_guard.hpp"
#include "io/local_access.hpp"

namespace zmq {
class context_t;
class socket_t;
class message_t;
}  // namespace zmq

namespace bcast::io {

// What the client server needs from the daemon.
class ClientHandler {
 public:
  virtual ~ClientHandler() = default;
  virtual SenderId open_sender() = 0;
  virtual void close_sender(SenderId sender) = 0;
  // A client joined or left a group (for the agreed group views; see Node::join_group).
  virtual void joined_group(SenderId sender, const std::string& group,
                            const std::string& client_name) {
    (void)sender, (void)group, (void)client_name;
  }
  virtual void left_group(SenderId sender, const std::string& group) { (void)sender, (void)group; }
  // Returns the message's seq; the receipt comes later through ClientServer::acknowledge.
  virtual Result<std::uint64_t> publish(const PublishRequest& request) = 0;
  // Whether publish() would admit the request now as far as flow control goes.
  virtual bool has_credit(const PublishRequest& request) const {
    (void)request;
    return true;
  }
  // The free room (bytes) of each group's slowest local client, every round (see Node).
  virtual void set_delivery_rooms(std::map<std::string, std::uint64_t> free_bytes_by_group) {
    (void)free_bytes_by_group;
  }
  virtual protocol::Header status() = 0;
  virtual std::vector<NodeId> members() = 0;
  virtual NodeId node_id() const = 0;
  virtual std::uint64_t max_message_bytes() const = 0;
  // The longest group name publish accepts; join and leave accept the same names.
  virtual std::size_t max_group_bytes() const = 0;
  // The total-order history replays read from; nullptr when this daemon keeps none.
  virtual HistoryStore* history() { return nullptr; }
  // `bcastctl cluster list`: the committed configuration as this daemon knows it.
  virtual protocol::Header cluster_list() = 0;
  // A run-time membership change; its outcome comes through ClientServer::answer_admin with the
  // same request id.
  virtual void admin(std::uint64_t request_id, const AdminRequest& request) = 0;
};

// For metrics and the status page (lib/io/daemon_metrics.hpp).
struct ClientServerStats {
  std::size_t clients = 0;
  std::size_t backlog_replies = 0;                   // replies waiting for room, all clients
  std::size_t max_backlog_replies = 0;               // the longest wait of one client
  std::uint64_t deliveries_dropped_total = 0;        // lost to full client queues, since start
  std::size_t parked_publishes = 0;                  // waiting for credit, all clients
  std::uint64_t stalled_disconnects_total = 0;       // clients cut off for not reading
  std::map<std::string, std::size_t> group_clients;  // group -> clients that joined it
};

struct ClientServerOptions {
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_clients = 1024;                  // clients that said hello; beyond, hello is busy
  std::size_t max_connections = 1280;              // open connections; beyond, none are accepted
  std::uint64_t client_queue_bytes = 64ULL << 20;  // per client, see ClientQueue
  // Of that, what may be handed to ZeroMQ at a time (the rest can still be dropped).
  std::uint64_t zmq_budget_bytes = 4ULL << 20;
  int send_queue = 100000;    // ZMQ_SNDHWM per client: a count bound beside the byte bound
  LocalAccessOptions access;  // the socket file's mode and group, who may say hello
  // The `block` policy: report the clients' free room to the node, park publishes without credit
  // (false, `disconnect`: no room is reported, a client that falls behind the bound on messages
  // that may not be dropped is disconnected, as before flow control).
  bool flow_control = true;
  // How long a publish may wait for credit before it is answered `busy`.
  std::chrono::milliseconds publish_wait{10000};
  // A client whose queue held data while it read nothing for this long is disconnected; 0: never.
  std::chrono::milliseconds stalled_subscriber{5000};
  std::vector<GroupPermission> group_permissions;  // who may publish to / join which groups
};

class ClientServer {
 public:
  using Log = ListenerGuard::Log;

  ClientServer(zmq::context_t& context, ClientHandler& handler, const ClientServerOptions& options,
               Log log = {});
  ~ClientServer();
  ClientServer(const ClientServer&) = delete;
  ClientServer& operator=(const ClientServer&) = delete;

  // Binds ipc://path with the mode and group of `access`, replacing a stale socket file left by
  // a daemon that died; refuses a live daemon's socket or anything that is not a socket.
  Result<void> start(const std::string& path);
  // Handles connection events and every request waiting on the socket.
  void on_readable();
  void deliver(const Delivery& delivery);
  // A group's new agreed view, to every client that joined the group and asked for views.
  void announce_view(const ViewChange& view);
  // Messages this daemon will never deliver, to every client that joined `gap.group` or, for a
  // gap that names no group (it may concern any), every client that joined any group. Queued
  // like a reply (never dropped), behind what was delivered before it and ahead of what is
  // delivered after it.
  void announce_gap(const Gap& gap);
  void acknowledge(const Receipt& receipt);
  // The outcome of a membership change a client asked for.
  void answer_admin(const AdminResult& result);
  // Hands waiting messages to ZeroMQ, reports drops, notices closed connections, disconnects
  // stalled clients and reports the free room to the handler; the daemon calls it every round.
  void flush();
  // Publishes what clients parked for lack of credit while the node has credit for it, in each
  // client's order; answers `busy` those that waited too long. The daemon calls it every round,
  // after the node has stepped and ticked (credit comes from peers).
  void retry_parked();

  // Lowers (or raises) the limits of the options, e.g. to fit the descriptor budget.
  void set_limits(std::size_t max_clients, std::size_t max_connections);

  // While set, every publish is refused with this error (e.g. the disk is full) instead of
  // reaching the handler.
  void refuse_publishes(std::optional<Error> reason) { refusal_ = std::move(reason); }
  // Answers every publish still awaiting its receipt with `error` (its fate is then unknown to
  // the client: it may still be delivered); their receipts, should they come, are dropped.
  void fail_pending_publishes(const Error& error);
  // Tells every client it is disconnected, with `reason`, after what is already queued for it,
  // and forgets them all.
  void disconnect_all(const std::string& reason);
  // Flushes until ZeroMQ has written everything queued to the connections (true), or `timeout`
  // passed (false). For a daemon about to exit without closing ZeroMQ.
  bool drain(std::chrono::milliseconds timeout);

  // For zmq::poll: the socket, and the monitor of its connections.
  zmq::socket_t& socket();
  zmq::socket_t& monitor();
  std::size_t clients() const { return clients_.size(); }
  ClientServerStats stats() const;
  std::size_t open_connections() const { return guard_ ? guard_->open_connections() : 0; }

 private:
  using Clock = std::chrono::steady_clock;
  // A publish waiting for credit.
  struct Parked {
    std::uint64_t request_id = 0;
    PublishRequest request;
    Clock::time_point since;
    std::uint64_t cost_bytes = 0;  // counted against the client's bound
  };
  struct Client {
    Client(std::uint64_t bound_bytes, std::uint64_t zmq_budget_bytes)
        : queue(bound_bytes, zmq_budget_bytes) {}
    SenderId sender = 0;
    std::string name;          // from its hello
    bool group_views = false;  // it asked for agreed group views in its hello
    int fd = -1;  // the connection's descriptor (ZMQ_SRCFD), matched against closed ones
    std::optional<PeerCredentials> credentials;  // read at its hello, for group permissions
    std::set<std::string> groups;
    std::uint64_t next_seq = 1;
    std::map<std::uint64_t, std::uint64_t> pending;  // seq -> request id awaiting its receipt
    ClientQueue queue;
    // Groups replaying from the history: the next gseq to read. Their live total-order
    // deliveries are skipped meanwhile (the history has them).
    std::map<std::string, std::uint64_t> replay_next_gseq;
    // Groups that replayed: live total-order deliveries below this gseq were replayed already.
    std::map<std::string, std::uint64_t> live_from_gseq;
    // Publishes waiting for credit, in the client's order.
    std::deque<Parked> parked;
    std::uint64_t parked_bytes = 0;
    // Stall detection: ZeroMQ's count of written messages when last seen, and when the client
    // last read (or held nothing).
    std::uint64_t released_seen = 0;
    Clock::time_point progress_at = Clock::now();
    // Payload and queue cost of the deliveries it was sent (halved now and then): the room
    // reported to the node is in payload bytes, as the node counts them.
    std::uint64_t delivered_payload_bytes = 0;
    std::uint64_t delivered_cost_bytes = 0;
  };
  static constexpr std::uint64_t kReplayBytesPerRound = 1 << 20;
  // A replaying client's queue is refilled from the history only below this.
  static constexpr std::uint64_t kReplayQueueBytes = 256 << 10;
  void handle(const std::string& identity, int fd, std::vector<zmq::message_t>& frames);
  void cluster(const std::string& identity, const protocol::Header& request);
  // Why `group` is not a name publish would accept, if it is not.
  std::optional<Error> invalid_group(const std::string& group) const;
  void handle_request(const std::string& identity, int fd, const protocol::Header& request,
                      std::vector<zmq::message_t>& frames);
  void hello(const std::string& identity, int fd, const protocol::Header& request);
  void publish(const std::string& identity, Client& client, const protocol::Header& request,
               std::vector<zmq::message_t>& frames);
  // Hands the publish to the node; registers its receipt, or answers its refusal.
  void submit(const std::string& identity, Client& client, std::uint64_t request_id,
              const PublishRequest& publish);
  // Parks a publish without credit, or answers `busy` at once when the client's parked bytes
  // would exceed its bound.
  void park(const std::string& identity, Client& client, std::uint64_t request_id,
            PublishRequest publish);
  // Answers every parked publish of the client with `error` (from the front).
  void refuse_parked(const std::string& identity, Client& client, const Error& error);
  // Disconnects clients whose queue held data while they read nothing for stalled_subscriber.
  void disconnect_stalled();
  // The free room of each group's slowest client, to the handler.
  void report_rooms();
  // A join with from_gseq (client_server_replay.cpp). False, with an error reply sent, if the
  // daemon keeps no history.
  bool start_replay(const std::string& identity, Client& client, const protocol::Header& request);
  // Reads the next part of every replay from the history; called every round.
  void pump_replays();
  // Whether a live delivery of the group goes to this client (not while it replays the group).
  static bool takes_live(const Client& client, const Delivery& delivery);
  static ClientQueue::Message delivery_message(const Delivery& delivery);
  static ClientQueue::Message gap_message(const Gap& gap);
  static ClientQueue::Message total_gap_message(const std::string& group, std::uint64_t from_gseq,
                                                std::uint64_t to_gseq, const std::string& reason);
  // Queues history items for the client; false if it was disconnected meanwhile.
  bool queue_replayed(const std::string& identity, const std::string& group,
                      const std::vector<HistoryItem>& items);
  // Ends the group's replay: live total-order deliveries from `live_from_gseq` on go to it.
  static void end_replay(Client& client, const std::string& group, std::uint64_t live_from_gseq);
  // Whether the group permissions let `client` do `action` on the request's group; answers a
  // refusal (permission_denied) itself.
  bool allowed(const std::string& identity, const Client& client, const protocol::Header& request,
               GroupAction action);
  // Queues a reply or event for a client (or, for a connection that is not a client, sends it
  // if ZeroMQ has room). A reply that does not fit disconnects the client.
  void send(const std::string& identity, const protocol::Header& header);
  void enqueue(const std::string& identity, Client& client, ClientQueue::Message message);
  enum class HandOver : std::uint8_t { kSent, kNoRoom, kGone };
  // Hands `client`'s waiting messages to ZeroMQ while its budget allows.
  HandOver pump(const std::string& identity, Client& client);
  // Sends one message, counting it in `accounting` until ZeroMQ has written it. kGone: the
  // connection is gone (the caller forgets the client).
  HandOver hand_over(const std::string& identity, ClientQueue::Message message,
                     ClientQueue& accounting);
  void report_dropped(const std::string& identity, Client& client);
  // Tells the client why it is disconnected and forgets it. Its queued messages are discarded
  // first unless `keep_queued`; the notice goes out after whatever is still queued.
  void disconnect(const std::string& identity, const std::string& reason, bool keep_queued);
  void on_connection_closed(int fd);
  void forget(const std::string& identity);
  void remove_socket_file();

  zmq::context_t& context_;
  ClientHandler& handler_;
  ClientServerOptions options_;
  Log log_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<ListenerGuard> guard_;
  std::string path_;
  std::optional<std::pair<std::uint64_t, std::uint64_t>> bound_file_;  // (device, inode)
  std::map<std::string, Client> clients_;                              // by ZeroMQ identity
  std::map<SenderId, std::string> identity_of_;
  // Membership changes under way: daemon request id -> (client identity, the client's id).
  std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> pending_admin_;
  std::uint64_t next_admin_id_ = 1;
  std::uint64_t deliveries_dropped_total_ = 0;
  std::uint64_t stalled_disconnects_total_ = 0;
  // When stalled clients were last looked for; a gap longer than kDaemonPause restarts every
  // client's stall clock.
  Clock::time_point last_stall_check_ = Clock::now();
  static constexpr std::chrono::milliseconds kDaemonPause{1000};
  // Clients told they are disconnected, kept (by identity) only until ZeroMQ has written what
  // they were sent, the notice last, or until their connection closes.
  std::map<std::string, Client> closing_;
  // Counts what is handed to ZeroMQ for connections that are not clients (errors before hello).
  ClientQueue unattached_;
  std::optional<Error> refusal_;
  std::uint64_t last_live_gseq_ = 0;        // of the latest total-order delivery fanned out
  std::uint64_t denied_hellos_ = 0;         // refused by the uid/gid allow-list
  std::uint64_t denied_group_actions_ = 0;  // publishes and joins refused by group permissions
};

}  // namespace bcast::io
