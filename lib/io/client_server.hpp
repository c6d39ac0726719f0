// The daemon's side of the local client protocol (docs/protocol.md): a ZeroMQ ROUTER bound to
// ipc://<client socket>, one entry per connected client.
//
// A client says hello (protocol version), receives its sender id, joins groups and publishes.
// Requests are handled as they arrive; a publish's receipt follows once the core acknowledges
// it (at once for best-effort, reliable and gossip; at commit for total order). Deliveries go to
// every client that joined the message's group.
//
// Bad input costs only the sender: a malformed header, an unknown type, a request before hello,
// an oversized payload each get an error reply, and the daemon goes on serving everyone. Sends
// to clients never block: a client whose queue (ZMQ_SNDHWM) is full loses deliveries, which are
// counted and reported to it as an error event once it reads again, while replies (receipts,
// errors, acknowledgements) wait in a per-client backlog and are never lost; a client that went
// away is forgotten at the first send that finds it gone.
#pragma once

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
  // Returns the message's seq; the receipt comes later through ClientServer::acknowledge.
  virtual Result<std::uint64_t> publish(const PublishRequest& request) = 0;
  virtual protocol::Header status() = 0;
  virtual std::vector<NodeId> members() = 0;
  virtual NodeId node_id() const = 0;
  virtual std::uint64_t max_message_bytes() const = 0;
  // The longest group name publish accepts; join and leave accept the same names.
  virtual std::size_t max_group_bytes() const = 0;
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
  std::map<std::string, std::size_t> group_clients;  // group -> clients that joined it
};

struct ClientServerOptions {
  int send_queue = 100000;  // ZMQ_SNDHWM per client
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_clients = 1024;
  // A client with this many replies waiting has stopped reading: it is disconnected.
  std::size_t max_backlog = 1000000;
};

class ClientServer {
 public:
  ClientServer(zmq::context_t& context, ClientHandler& handler, const ClientServerOptions& options);
  ~ClientServer();
  ClientServer(const ClientServer&) = delete;
  ClientServer& operator=(const ClientServer&) = delete;

  // Binds ipc://path, replacing a stale socket file left by a daemon that died.
  Result<void> start(const std::string& path);
  // Handles every request waiting on the socket.
  void on_readable();
  void deliver(const Delivery& delivery);
  void acknowledge(const Receipt& receipt);
  // The outcome of a membership change a client asked for.
  void answer_admin(const AdminResult& result);
  // Sends replies that waited for room, and reports deliveries a full queue cost a client once
  // there is room for the report; the daemon calls it every round.
  void flush_backlogs();
  zmq::socket_t& socket();
  std::size_t clients() const { return clients_.size(); }
  ClientServerStats stats() const;

 private:
  struct Reply {
    std::string header;  // encoded
    std::optional<std::string> payload;
  };
  struct Client {
    SenderId sender = 0;
    std::set<std::string> groups;
    std::uint64_t next_seq = 1;
    std::map<std::uint64_t, std::uint64_t> pending;  // seq -> request id awaiting its receipt
    std::uint64_t dropped = 0;  // deliveries lost to a full queue, not yet reported
    std::deque<Reply> backlog;  // replies waiting for room in the client's queue
  };

  void handle(const std::string& identity, std::vector<zmq::message_t>& frames);
  void cluster(const std::string& identity, const protocol::Header& request);
  // Why `group` is not a name publish would accept, if it is not.
  std::optional<Error> invalid_group(const std::string& group) const;
  void handle_request(const std::string& identity, const protocol::Header& request,
                      std::vector<zmq::message_t>& frames);
  void publish(const std::string& identity, Client& client, const protocol::Header& request,
               std::vector<zmq::message_t>& frames);
  // Deliveries and error events are dropped when the client's queue is full (false); replies
  // wait in the client's backlog instead. False also if the client is gone (it is forgotten).
  bool send(const std::string& identity, const protocol::Header& header,
            const std::string* payload = nullptr);
  bool try_send(const std::string& identity, const std::string& encoded,
                const std::string* payload);
  // Tells a client how many deliveries its full queue cost it; false if that could not be sent.
  bool report_dropped(const std::string& identity);
  void forget(const std::string& identity);

  zmq::context_t& context_;
  ClientHandler& handler_;
  ClientServerOptions options_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::map<std::string, Client> clients_;  // by ZeroMQ identity
  std::map<SenderId, std::string> identity_of_;
  // Membership changes under way: daemon request id -> (client identity, the client's id).
  std::map<std::uint64_t, std::pair<std::string, std::uint64_t>> pending_admin_;
  std::uint64_t next_admin_id_ = 1;
  std::uint64_t deliveries_dropped_total_ = 0;
};

}  // namespace bcast::io
