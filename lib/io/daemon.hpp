// bcastd's event loop: the I/O shell around one core Node.
//
// One thread. Each round it waits (zmq::poll) for a peer frame, a client request or the next
// tick, feeds everything that is ready to the Node, and applies the accumulated Outbox once
// through the shared driver (send what needs no write -> persist -> send the rest -> deliver ->
// acknowledge -> observe -> report persisted). Batching a whole round into one Outbox is what makes
// "--fsync always" affordable: one fsync covers every entry the round appended.
//
// The data directory holds the Raft storage (lib/io/raft_storage.hpp) and the boot count
// (`incarnation`), incremented at every start so that a restarted daemon's senders and streams
// never collide with those of its previous life.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "bcast/result.hpp"
#include "core/node.hpp"
#include "io/group_permissions.hpp"
#include "io/history_store.hpp"
#include "io/local_access.hpp"

namespace bcast::io {

// always: every round's writes are synced before anything that depends on them is sent (one
// fsync covers the whole round, so busy rounds batch naturally); none: never synced (survives a
// process crash, not a power loss).
enum class FsyncPolicy : std::uint8_t { kAlways, kNone };

struct DaemonOptions {
  NodeId node_id = 1;
  std::string listen;  // tcp://IP:PORT for peers
  // The initial cluster (all voters, this daemon included): used once, to bootstrap a new data
  // directory; afterwards the committed configuration is the truth and these only add
  // addresses for members the registry does not know (a cluster made by an earlier version).
  std::map<NodeId, std::string> peers;
  std::string cluster_name = "bcast";  // part of the cluster id made at bootstrap
  // tcp://IP:PORT of any member: a new data directory joins the running cluster through it
  // (after `bcastctl cluster add`) instead of bootstrapping one.
  std::string join;
  std::uint32_t join_timeout_ms = 30000;
  std::string data_dir;
  std::string client_socket;         // a path; bound as ipc://PATH
  LocalAccessOptions client_access;  // the socket's mode and group, the uid/gid allow-list
  std::vector<GroupPermission> group_permissions;  // who may publish to / join which groups
  FsyncPolicy fsync = FsyncPolicy::kAlways;
  std::uint32_t tick_ms = 10;
  NodeOptions node;                // protocol tuning; node.raft.id is set from node_id
  std::size_t max_clients = 1024;  // clients that said hello
  std::uint64_t client_queue_bytes = 64ULL << 20;  // held per client (ClientQueue)
  // What a subscriber too slow for its publishers costs (docs/guarantees.md, "Slow
  // subscribers"): kBlock paces the publishers (flow control), kDisconnect cuts the subscriber
  // off once it falls client_queue_bytes behind.
  enum class SlowSubscriberPolicy : std::uint8_t { kBlock, kDisconnect };
  SlowSubscriberPolicy slow_subscriber = SlowSubscriberPolicy::kBlock;
  // How long a publish waits for credit before it is answered `busy`.
  std::uint32_t publish_wait_ms = 10000;
  // A client that reads nothing of what waits for it for this long is disconnected; 0: never.
  std::uint32_t stalled_subscriber_ms = 5000;
  bool verbose = false;  // log every leader change and membership event
  // "IP:PORT" of the HTTP endpoint (metrics, health, status page; lib/io/http_server.hpp), or
  // empty for none. Only a loopback address unless http_allow_remote.
  std::string http;
  bool http_allow_remote = false;
  // The total-order history in DATA_DIR/history (history_store.hpp); max_bytes 0: none. `dir` is
  // set by the daemon.
  HistoryOptions history;
  // CURVE on the peer links (docs/security.md): the secret key file, and the public key bound to
  // each node id. Empty file: plain TCP, which the options allow only on loopback unless
  // `insecure`.
  std::string secret_key_file;
  std::map<NodeId, std::string> peer_keys;
  bool insecure = false;
};

class Daemon {
 public:
  // Recovers storage and the boot count, binds the sockets. Errors say what to fix.
  static Result<std::unique_ptr<Daemon>> open(const DaemonOptions& options);
  virtual ~Daemon() = default;
  // Serves until `stop` becomes true (set from a signal handler), then returns cleanly.
  virtual Result<void> run(const std::atomic<bool>& stop) = 0;
};

const char* fsync_policy_name(FsyncPolicy policy);

}  // namespace bcast::io
