// Daemon-to-daemon messaging over ZeroMQ/TCP.
//
// Each daemon binds one ROUTER socket on its --listen endpoint for everything it receives, and
// connects two DEALER sockets (two TCP connections, two lanes) to every other daemon's endpoint
// for what it sends: the control lane carries Raft's small messages (heartbeats, votes,
// responses), the bulk lane everything that can be large (appends, snapshots, payloads) and the
// dissemination protocols. A heartbeat thus never waits behind a 16 MiB append on the wire or in
// a queue, which would let followers time out and start an election. Raft tolerates the
// reordering between lanes; each lane keeps its own order. ZeroMQ reconnects by itself. Sends never
// block: each DEALER has a bounded queue (`send_queue` messages) and delivers only to a connected
// peer (ZMQ_IMMEDIATE); when a peer is unreachable or its queue is full the message is dropped and
// counted. The protocols above tolerate loss (Raft retries, dissemination repairs), so dropping is
// the bounded-memory answer to a dead or slow peer. Frames larger than `max_frame_bytes` are
// refused by the socket (ZMQ_MAXMSGSIZE).
//
// With CURVE (TransportOptions::curve) every link is authenticated and encrypted: a connection
// goes only to a peer whose public key is known (to no one else, whatever the address says), and
// the listening socket accepts only members' keys (PeerAuthenticator). A message is then taken
// only from the node its key belongs to: on the listening socket the claimed sender must be the
// connection's ZAP user id, on our own connections the peer we connected to. So no daemon can
// speak for another member, whatever its frames say.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bcast/result.hpp"
#include "codec/peer_codec.hpp"
#include "core/outbox.hpp"
#include "io/curve_keys.hpp"

namespace zmq {
class context_t;
class socket_t;
class message_t;
}  // namespace zmq

namespace bcast::io {

struct TransportOptions {
  std::size_t max_frame_bytes = 64u << 20;
  int send_queue = 10000;      // ZMQ_SNDHWM per peer
  int receive_queue = 100000;  // ZMQ_RCVHWM of the listening socket
  // CURVE on every link (docs/security.md): the listening socket is a CURVE server whose clients
  // a PeerAuthenticator checks, and every connection is made to the key bound to the peer's node
  // id. nullopt: plain TCP.
  std::optional<CurveSecurity> curve;
  // Addresses known from the command line (--peer), to find the key for an endpoint that is not
  // (yet) a peer: the member a joiner asks through --join.
  std::map<NodeId, std::string> known_endpoints;
};

enum class Lane : std::uint8_t { kControl, kBulk };
Lane lane_of(const Envelope& envelope);

struct TransportCounters {
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;  // peer unreachable or its queue full
  std::uint64_t received = 0;
  std::uint64_t malformed = 0;  // frames that did not decode; logged and ignored
  // With CURVE: messages whose claimed sender is not the node their key belongs to (dropped, and
  // also counted as malformed).
  std::uint64_t impersonations = 0;
  std::uint64_t invalid = 0;       // decoded, but refused by peer validation (refuse_last)
  std::uint64_t disconnected = 0;  // connections closed for sending either
};

class PeerTransport {
 public:
  PeerTransport(zmq::context_t& context, NodeId self, std::map<NodeId, std::string> peers,
                const TransportOptions& options);
  ~PeerTransport();
  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // Binds the listening socket and connects to every peer.
  Result<void> start(const std::string& listen_endpoint);
  // The members changed (the committed configuration is the truth): connects to new peers and
  // to moved ones, and drops connections to peers that are gone.
  void set_peers(const std::map<NodeId, std::string>& peers);
  const std::map<NodeId, std::string>& peers() const { return peer_endpoints_; }
  // With CURVE: the members' keys changed (a member added with a key, or removed). Connections
  // made to a node under another key are dropped (the next set_peers makes them again), and
  // from then on a message on the listening socket from a node without a key closes its
  // connection: a removed member's established links end too.
  void set_peer_keys(const std::map<NodeId, std::string>& keys);
  bool has_peer(NodeId node) const { return outgoing_.contains(node); }
  void send(const Envelope& envelope);
  // To an endpoint that is not (yet) a peer: a join request to the member named by --join, or
  // the answer to a daemon that asked to join. A few such connections are kept.
  void send_to_endpoint(const std::string& endpoint, const Envelope& envelope);
  // The next frame if one is waiting: an envelope, or an error for a malformed frame (the
  // caller logs it; the frame is gone and the socket keeps serving). Frames peers send back on
  // our own connections to them (refusals, below) are read too.
  std::optional<Result<Envelope>> receive();
  // The last message received was garbage (malformed, or invalid for its sender): closes the
  // connection it came on if it came on the listening socket (the peer's ZeroMQ reconnects, so a
  // member that erred once loses nothing but what it sent), and counts it.
  void refuse_last(bool decoded);
  // A refusal goes back on the connection the refused message came from: the refused daemon
  // may not be the one this daemon knows under its node id (a duplicate id, a wiped directory).
  // Falls back to the node's own connection when none is known.
  void send_refusal(const Envelope& envelope, const Refusal& refusal);
  // For zmq::poll.
  zmq::socket_t& listening_socket();
  const TransportCounters& counters() const { return counters_; }
  // Whether our connection to each peer is up, by node id, as ZeroMQ's socket monitor last
  // reported it (drains the pending monitor events; for metrics and the status page).
  const std::map<NodeId, bool>& connections();

 private:
  zmq::context_t& context_;
  NodeId self_;
  std::map<NodeId, std::string> peer_endpoints_;
  TransportOptions options_;
  codec::DecodeLimits limits_;
  std::unique_ptr<zmq::socket_t> listener_;
  struct Outgoing {
    std::unique_ptr<zmq::socket_t> control;
    std::unique_ptr<zmq::socket_t> bulk;
  };
  // A DEALER connected to `endpoint`; if `monitored` names a node, its connection events feed
  // connections().
  std::unique_ptr<zmq::socket_t> connect_lane(const std::string& endpoint, NodeId monitored,
                                              NodeId keyed_to);
  // With CURVE: makes `socket` a client of `node`'s key (false if no key is known for it).
  bool use_key_of(zmq::socket_t& socket, NodeId node) const;
  // With CURVE: the node an endpoint belongs to, by the addresses known.
  NodeId node_at(const std::string& endpoint) const;
  // With CURVE: whether a message claiming `claimed` may come from `speaker` (the node whose key
  // the connection carries); counts and reports it otherwise.
  std::optional<Result<Envelope>> check_speaker(std::optional<Result<Envelope>> envelope,
                                                NodeId speaker);
  void connect_peer(NodeId node, const std::string& endpoint);
  // Closes the connection to a peer and forgets its endpoint (set_peers makes it again);
  // returns the next endpoint.
  std::map<NodeId, std::string>::iterator drop_link(std::map<NodeId, std::string>::iterator peer);
  void send_on(zmq::socket_t& socket, const Envelope& envelope);

  std::map<NodeId, Outgoing> outgoing_;
  std::map<NodeId, std::unique_ptr<zmq::socket_t>> monitors_;  // connect/disconnect events
  std::map<NodeId, bool> connected_;
  std::optional<Result<Envelope>> take_frame(const zmq::message_t& frame,
                                             const std::vector<codec::Attachment>& attachments);
  // The most recent incoming connection (ROUTER routing id) of each (node id, identity) seen;
  // bounded, oldest forgotten first.
  std::map<std::pair<NodeId, std::uint64_t>, std::string> routes_;
  std::vector<std::pair<NodeId, std::uint64_t>> route_order_;
  std::uint64_t monitor_generation_ = 0;  // keeps a reconnected peer's monitor endpoint unique
  struct AdHoc {
    std::string endpoint;
    NodeId node = kNoNode;  // with CURVE, whose key the connection was made to
    std::unique_ptr<zmq::socket_t> socket;
  };
  std::vector<AdHoc> ad_hoc_;  // oldest first
  TransportCounters counters_;
  int last_fd_ = -1;  // the connection the last message came on, if on the listening socket
};

}  // namespace bcast::io
