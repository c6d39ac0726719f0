#include "io/peer_authenticator.hpp"

#include <vector>
#include <zmq.hpp>

#include "io/curve_keys.hpp"

namespace bcast::io {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";

std::string hex_prefix(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < 8; ++i) {
    const auto byte = static_cast<unsigned char>(bytes[i]);
    out += kDigits[byte >> 4];
    out += kDigits[byte & 15];
  }
  return out;
}

}  // namespace

PeerAuthenticator::PeerAuthenticator(zmq::context_t& context,
                                     const std::map<NodeId, std::string>& keys, Log log)
    : socket_(std::make_unique<zmq::socket_t>(context, zmq::socket_type::rep)),
      log_(std::move(log)) {
  set_keys(keys);
}

void PeerAuthenticator::set_keys(const std::map<NodeId, std::string>& keys) {
  node_by_key_.clear();
  for (const auto& [node, key] : keys) node_by_key_[decode_key(key)] = node;
}

PeerAuthenticator::~PeerAuthenticator() = default;

Result<void> PeerAuthenticator::start() {
  try {
    socket_->set(zmq::sockopt::linger, 0);
    socket_->bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    return make_error(ErrorCode::kIo,
                      std::string("cannot start the peer authenticator: ") + e.what());
  }
  return {};
}

zmq::socket_t& PeerAuthenticator::socket() { return *socket_; }

NodeId PeerAuthenticator::node_of(const std::string& key_bytes) const {
  auto it = node_by_key_.find(key_bytes);
  return it == node_by_key_.end() ? kNoNode : it->second;
}

void PeerAuthenticator::handle() {
  for (;;) {
    // Request: version, request id, domain, address, routing id, mechanism, credentials...
    std::vector<std::string> frames;
    zmq::message_t frame;
    if (!socket_->recv(frame, zmq::recv_flags::dontwait)) return;
    frames.push_back(frame.to_string());
    while (frame.more()) {
      (void)socket_->recv(frame, zmq::recv_flags::none);
      frames.push_back(frame.to_string());
    }
    NodeId node = kNoNode;
    std::string why = "malformed ZAP request";
    if (frames.size() >= 7 && frames[0] == "1.0" && frames[5] == "CURVE") {
      node = node_of(frames[6]);
      why = "unknown key " + hex_prefix(frames[6]) + "… from " + frames[3];
    } else if (frames.size() >= 6) {
      why = "mechanism " + frames[5] + " from " + frames[3] + " (only CURVE is accepted)";
    }
    if (node != kNoNode) {
      ++accepted_;
    } else if (++refused_ <= 10 || refused_ % 1000 == 0) {
      log_("refused a peer-port connection: " + why + " (" + std::to_string(refused_) +
           " refused so far)");
    }
    // Reply: version, request id, status code, status text, user id, metadata.
    const std::string request_id = frames.size() >= 2 ? frames[1] : std::string();
    const std::vector<std::string> reply = {"1.0",
                                            request_id,
                                            node != kNoNode ? "200" : "400",
                                            node != kNoNode ? "OK" : "not a member's key",
                                            node != kNoNode ? std::to_string(node) : "",
                                            ""};
    for (std::size_t i = 0; i < reply.size(); ++i) {
      const auto flags = i + 1 < reply.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      (void)socket_->send(zmq::buffer(reply[i]), flags);
    }
  }
}

}  // namespace bcast::io
