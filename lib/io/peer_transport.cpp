#include "io/peer_transport.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <iterator>
#include <zmq.hpp>

namespace bcast::io {

PeerTransport::PeerTransport(zmq::context_t& context, NodeId self,
                             std::map<NodeId, std::string> peers, const TransportOptions& options)
    : context_(context), self_(self), peer_endpoints_(std::move(peers)), options_(options) {
  limits_.max_frame_bytes = options.max_frame_bytes;
}

PeerTransport::~PeerTransport() = default;

Result<void> PeerTransport::start(const std::string& listen_endpoint) {
  try {
    listener_ = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::router);
    listener_->set(zmq::sockopt::linger, 0);
    listener_->set(zmq::sockopt::rcvhwm, options_.receive_queue);
    listener_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options_.max_frame_bytes));
    if (options_.curve) {
      listener_->set(zmq::sockopt::curve_server, true);
      listener_->set(zmq::sockopt::curve_secretkey, options_.curve->own.secret_key);
      listener_->set(zmq::sockopt::zap_domain, "bcast");
      // Refuse every handshake when no ZAP handler answers (libzmq's default lets CURVE clients
      // in unchecked). The option is a draft in libzmq 4.3, so it may be unknown: the
      // PeerAuthenticator is then what guarantees it, by being bound before this socket.
      constexpr int kZapEnforceDomain = 93;  // ZMQ_ZAP_ENFORCE_DOMAIN
      const int enforce = 1;
      (void)zmq_setsockopt(listener_->handle(), kZapEnforceDomain, &enforce, sizeof enforce);
    }
    listener_->bind(listen_endpoint);
    for (const auto& [node, endpoint] : peer_endpoints_) connect_peer(node, endpoint);
  } catch (const zmq::error_t& e) {
    return make_error(ErrorCode::kIo,
                      "cannot listen on " + listen_endpoint + " or connect to peers: " + e.what());
  }
  return {};
}

void PeerTransport::connect_peer(NodeId node, const std::string& endpoint) {
  if (node == self_) return;
  // Without its key a peer cannot be reached: messages to it are dropped (and counted).
  if (options_.curve && !options_.curve->peer_keys.contains(node)) return;
  // The control lane's connection stands for the peer's reachability.
  outgoing_[node] =
      Outgoing{connect_lane(endpoint, node, node), connect_lane(endpoint, kNoNode, node)};
  connected_[node] = false;
}

bool PeerTransport::use_key_of(zmq::socket_t& socket, NodeId node) const {
  if (!options_.curve) return true;
  auto key = options_.curve->peer_keys.find(node);
  if (key == options_.curve->peer_keys.end()) return false;
  socket.set(zmq::sockopt::curve_serverkey, key->second);
  socket.set(zmq::sockopt::curve_publickey, options_.curve->own.public_key);
  socket.set(zmq::sockopt::curve_secretkey, options_.curve->own.secret_key);
  return true;
}

NodeId PeerTransport::node_at(const std::string& endpoint) const {
  for (const auto* addresses : {&peer_endpoints_, &options_.known_endpoints}) {
    for (const auto& [node, address] : *addresses) {
      if (address == endpoint) return node;
    }
  }
  return kNoNode;
}

std::optional<Result<Envelope>> PeerTransport::check_speaker(
    std::optional<Result<Envelope>> envelope, NodeId speaker) {
  if (!options_.curve || !envelope || !envelope->ok() || envelope->value().from == speaker) {
    return envelope;
  }
  ++counters_.impersonations;
  ++counters_.malformed;
  --counters_.received;
  return Result<Envelope>(
      make_error(ErrorCode::kProtocol, "a message claiming to be from node " +
                                           std::to_string(envelope->value().from) +
                                           " came with the key of node " + std::to_string(speaker) +
                                           " (dropped: a node speaks only for itself)"));
}

std::map<NodeId, std::string>::iterator PeerTransport::drop_link(
    std::map<NodeId, std::string>::iterator peer) {
  outgoing_.erase(peer->first);
  monitors_.erase(peer->first);
  connected_.erase(peer->first);
  return peer_endpoints_.erase(peer);
}

void PeerTransport::set_peers(const std::map<NodeId, std::string>& peers) {
  for (auto it = peer_endpoints_.begin(); it != peer_endpoints_.end();) {
    auto wanted = peers.find(it->first);
    if (wanted != peers.end() && wanted->second == it->second) {
      ++it;
      continue;
    }
    it = drop_link(it);
  }
  for (const auto& [node, endpoint] : peers) {
    if (peer_endpoints_.contains(node)) continue;
    peer_endpoints_[node] = endpoint;
    try {
      connect_peer(node, endpoint);
    } catch (const zmq::error_t&) {
      // A malformed address in the registry: the member stays unreachable (and counted).
      outgoing_.erase(node);
    }
  }
}

void PeerTransport::set_peer_keys(const std::map<NodeId, std::string>& keys) {
  if (!options_.curve) return;
  std::map<NodeId, std::string>& current = options_.curve->peer_keys;
  for (auto it = peer_endpoints_.begin(); it != peer_endpoints_.end();) {
    auto before = current.find(it->first);
    auto after = keys.find(it->first);
    const bool same = (before == current.end()) == (after == keys.end()) &&
                      (after == keys.end() || before->second == after->second);
    if (same) {
      ++it;
      continue;
    }
    it = drop_link(it);
  }
  std::erase_if(ad_hoc_, [&](const AdHoc& entry) {
    auto before = current.find(entry.node);
    auto after = keys.find(entry.node);
    return entry.node != kNoNode &&
           (after == keys.end() || before == current.end() || before->second != after->second);
  });
  current = keys;
}

Lane lane_of(const Envelope& envelope) {
  const auto* raft = std::get_if<raft::Message>(&envelope.message);
  if (raft == nullptr) return Lane::kBulk;
  const bool bulk =
      raft->type == raft::MessageType::kAppend || raft->type == raft::MessageType::kInstallSnapshot;
  return bulk ? Lane::kBulk : Lane::kControl;
}

std::unique_ptr<zmq::socket_t> PeerTransport::connect_lane(const std::string& endpoint,
                                                           NodeId monitored, NodeId keyed_to) {
  auto socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
  use_key_of(*socket, keyed_to);  // connect_peer checked that the key exists
  if (options_.curve && context_.get(zmq::ctxopt::io_threads) >= 2) {
    // Encryption runs on ZeroMQ's I/O threads: the control lane gets one of its own.
    socket->set(zmq::sockopt::affinity, std::uint64_t{monitored != kNoNode ? 1u : 2u});
  }
  socket->set(zmq::sockopt::linger, 0);
  socket->set(zmq::sockopt::sndhwm, options_.send_queue);
  socket->set(zmq::sockopt::immediate, 1);
  socket->set(zmq::sockopt::reconnect_ivl, 100);
  socket->set(zmq::sockopt::reconnect_ivl_max, 1000);
  if (monitored != kNoNode) {
    // The monitor must be attached before connecting, or the first event is missed.
    const std::string monitor = "inproc://bcast-peer-monitor-" + std::to_string(monitored) + "-" +
                                std::to_string(++monitor_generation_);
    if (zmq_socket_monitor(socket->handle(), monitor.c_str(),
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) != 0) {
      throw zmq::error_t();
    }
    auto events = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::pair);
    events->set(zmq::sockopt::linger, 0);
    events->connect(monitor);
    monitors_[monitored] = std::move(events);
  }
  socket->connect(endpoint);
  return socket;
}

void PeerTransport::send(const Envelope& envelope) {
  auto it = outgoing_.find(envelope.to);
  if (it == outgoing_.end()) {
    ++counters_.dropped;  // not a configured peer (e.g. removed from the cluster)
    return;
  }
  send_on(lane_of(envelope) == Lane::kControl ? *it->second.control : *it->second.bulk, envelope);
}

void PeerTransport::send_to_endpoint(const std::string& endpoint, const Envelope& envelope) {
  auto it = std::find_if(ad_hoc_.begin(), ad_hoc_.end(),
                         [&](const AdHoc& entry) { return entry.endpoint == endpoint; });
  if (it == ad_hoc_.end()) {
    constexpr std::size_t kMaxAdHoc = 8;
    if (ad_hoc_.size() >= kMaxAdHoc) ad_hoc_.erase(ad_hoc_.begin());
    // With CURVE only a known member's address is reached, with that member's key.
    const NodeId node = options_.curve ? node_at(endpoint) : kNoNode;
    try {
      auto socket = std::make_unique<zmq::socket_t>(context_, zmq::socket_type::dealer);
      socket->set(zmq::sockopt::linger, 0);
      socket->set(zmq::sockopt::sndhwm, 16);
      if (!use_key_of(*socket, node)) {
        ++counters_.dropped;  // no key known for that address
        return;
      }
      socket->connect(endpoint);
      ad_hoc_.push_back(AdHoc{endpoint, node, std::move(socket)});
    } catch (const zmq::error_t&) {
      ++counters_.dropped;  // a malformed address from a join request
      return;
    }
    it = std::prev(ad_hoc_.end());
  }
  send_on(*it->socket, envelope);
}

void PeerTransport::send_refusal(const Envelope& envelope, const Refusal& refusal) {
  auto route = routes_.find({envelope.to, refusal.refused_identity});
  if (route == routes_.end()) {
    send(envelope);
    return;
  }
  try {
    zmq::message_t frame(codec::encode_envelope(envelope));
    const bool sent = listener_->send(zmq::buffer(route->second),
                                      zmq::send_flags::sndmore | zmq::send_flags::dontwait) &&
                      listener_->send(frame, zmq::send_flags::dontwait);
    ++(sent ? counters_.sent : counters_.dropped);
  } catch (const zmq::error_t&) {
    ++counters_.dropped;
  }
}

void PeerTransport::send_on(zmq::socket_t& socket, const Envelope& envelope) {
  // Nothing is copied on the way out: the frame moves into its ZeroMQ message, and large fields
  // go as attachments made from the buffers that already hold them (codec/peer_codec.hpp): a
  // push or append can hold a 16 MiB payload, and every copy of it stalls the event loop.
  codec::EncodedFrames frames = codec::encode_envelope_frames(envelope);
  auto* head = new std::string(std::move(frames.envelope));
  zmq::message_t message(
      head->data(), head->size(),
      [](void*, void* owner) { delete static_cast<std::string*>(owner); }, head);
  try {
    const bool more = !frames.attachments.empty();
    auto sent = socket.send(message, more ? zmq::send_flags::sndmore | zmq::send_flags::dontwait
                                          : zmq::send_flags::dontwait);
    // Once the first part is queued, ZeroMQ takes the rest of the message with it.
    for (std::size_t i = 0; sent && i < frames.attachments.size(); ++i) {
      const codec::Attachment& attachment = frames.attachments[i];
      auto* owner = new std::shared_ptr<const void>(attachment.owner);
      zmq::message_t part(
          const_cast<char*>(attachment.bytes.data()), attachment.bytes.size(),
          [](void*, void* held) { delete static_cast<std::shared_ptr<const void>*>(held); }, owner);
      const bool last = i + 1 == frames.attachments.size();
      sent = socket.send(part, last ? zmq::send_flags::dontwait
                                    : zmq::send_flags::sndmore | zmq::send_flags::dontwait);
    }
    ++(sent ? counters_.sent : counters_.dropped);
  } catch (const zmq::error_t&) {
    ++counters_.dropped;
  }
}

namespace {

// The parts after a message's first: its attachments, each kept in the ZeroMQ message it came
// in (a received entry's data points into it). Beyond kMaxAttachments the rest are read and
// dropped, and one too many are returned (empty) so that decoding refuses the message.
std::vector<codec::Attachment> receive_attachments(zmq::socket_t& socket, bool more) {
  std::vector<codec::Attachment> attachments;
  bool too_many = false;
  while (more) {
    auto part = std::make_shared<zmq::message_t>();
    (void)socket.recv(*part, zmq::recv_flags::none);
    more = part->more();
    if (attachments.size() == codec::kMaxAttachments) too_many = true;
    if (too_many) continue;
    const std::string_view bytes(static_cast<const char*>(part->data()), part->size());
    attachments.push_back(codec::Attachment{std::move(part), bytes});
  }
  if (too_many) attachments.assign(codec::kMaxAttachments + 1, codec::Attachment{});
  return attachments;
}

}  // namespace

std::optional<Result<Envelope>> PeerTransport::receive() {
  zmq::message_t identity;
  zmq::message_t frame;
  last_fd_ = -1;
  // A ROUTER message is [peer identity][frame]; anything else is skipped whole.
  if (!listener_->recv(identity, zmq::recv_flags::dontwait)) {
    // Nothing on the listener: what peers answered on our own connections to them.
    for (auto& [node, lanes] : outgoing_) {
      for (zmq::socket_t* lane : {lanes.control.get(), lanes.bulk.get()}) {
        if (lane->recv(frame, zmq::recv_flags::dontwait)) {
          return check_speaker(take_frame(frame, receive_attachments(*lane, frame.more())), node);
        }
      }
    }
    for (AdHoc& ad_hoc : ad_hoc_) {
      if (ad_hoc.socket->recv(frame, zmq::recv_flags::dontwait)) {
        return check_speaker(take_frame(frame, receive_attachments(*ad_hoc.socket, frame.more())),
                             ad_hoc.node);
      }
    }
    return std::nullopt;
  }
  if (!identity.more()) {
    ++counters_.malformed;
    return Result<Envelope>(make_error(ErrorCode::kProtocol, "a message without a body"));
  }
  (void)listener_->recv(frame, zmq::recv_flags::none);
  last_fd_ = frame.get(ZMQ_SRCFD);
  auto envelope = take_frame(frame, receive_attachments(*listener_, frame.more()));
  if (options_.curve) {
    // The node id the PeerAuthenticator bound to the connection's key.
    const char* user = zmq_msg_gets(frame.handle(), "User-Id");
    unsigned long speaker = 0;
    if (user != nullptr) speaker = std::strtoul(user, nullptr, 10);
    if (!options_.curve->peer_keys.contains(static_cast<NodeId>(speaker))) {
      // Its key was dropped since the handshake (the node was removed).
      if (envelope && envelope->ok()) {  // else take_frame counted it already
        ++counters_.malformed;
        --counters_.received;
      }
      return Result<Envelope>(make_error(
          ErrorCode::kProtocol, "a message on a connection made with node " +
                                    std::to_string(speaker) +
                                    "'s key, which is no longer a member's (connection closed)"));
    }
    envelope = check_speaker(std::move(envelope), static_cast<NodeId>(speaker));
  }
  if (envelope && envelope->ok()) {
    const auto key = std::make_pair(envelope->value().from, envelope->value().identity);
    auto [route, inserted] = routes_.insert_or_assign(key, identity.to_string());
    if (inserted) {
      route_order_.push_back(key);
      constexpr std::size_t kMaxRoutes = 1024;
      if (route_order_.size() > kMaxRoutes) {
        routes_.erase(route_order_.front());
        route_order_.erase(route_order_.begin());
      }
    }
  }
  return envelope;
}

std::optional<Result<Envelope>> PeerTransport::take_frame(
    const zmq::message_t& frame, const std::vector<codec::Attachment>& attachments) {
  auto envelope = codec::decode_envelope(frame.to_string_view(), limits_, attachments);
  if (!envelope.ok()) {
    ++counters_.malformed;
  } else if (envelope.value().to != self_ &&
             !(envelope.value().to == kNoNode &&
               std::holds_alternative<JoinRequest>(envelope.value().message))) {
    ++counters_.malformed;
    return Result<Envelope>(make_error(ErrorCode::kProtocol,
                                       "a message for node " + std::to_string(envelope.value().to) +
                                           " reached node " + std::to_string(self_)));
  } else {
    ++counters_.received;
  }
  return envelope;
}

void PeerTransport::refuse_last(bool decoded) {
  if (decoded) {
    ++counters_.invalid;
    --counters_.received;
  }
  if (last_fd_ < 0) return;
  // The descriptor stays ZeroMQ's: shutdown(2) only makes it see the connection end.
  ::shutdown(last_fd_, SHUT_RDWR);
  last_fd_ = -1;
  ++counters_.disconnected;
}

zmq::socket_t& PeerTransport::listening_socket() { return *listener_; }

const std::map<NodeId, bool>& PeerTransport::connections() {
  for (auto& [node, monitor] : monitors_) {
    // Each event is two frames: 6 bytes (uint16 event, uint32 value), then the endpoint.
    zmq::message_t event;
    while (monitor->recv(event, zmq::recv_flags::dontwait)) {
      std::uint16_t id = 0;
      if (event.size() >= sizeof id) std::memcpy(&id, event.data(), sizeof id);
      while (event.more()) (void)monitor->recv(event, zmq::recv_flags::none);
      if (id == ZMQ_EVENT_CONNECTED) connected_[node] = true;
      if (id == ZMQ_EVENT_DISCONNECTED) connected_[node] = false;
    }
  }
  return connected_;
}

}  // namespace bcast::io
