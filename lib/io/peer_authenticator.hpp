// The ZAP handler of the peer port (RFC 27, ZeroMQ Authentication Protocol): decides, for every
// CURVE handshake on the listening socket, whether the client's public key belongs to a member.
//
// A known key is accepted and its node id becomes the connection's ZAP user id, which every
// message on that connection carries ("User-Id" property); PeerTransport then drops a message
// whose claimed sender is not that node. Anything else is refused: an unknown key, another
// mechanism, a malformed request. It fails closed: the handler is bound before the peer port
// (libzmq would let CURVE clients in unchecked without a handler), the peer port requires the
// ZAP domain to be handled, and while the event loop does not answer, handshakes wait and time
// out instead of passing.
//
// It runs on the event loop's thread: `socket()` goes into the poll, `handle()` answers what
// waits. Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "bcast/result.hpp"
#include "bcast/types.hpp"

namespace zmq {
class context_t;
class socket_t;
}  // namespace zmq

namespace bcast::io {

class PeerAuthenticator {
 public:
  using Log = std::function<void(const std::string& line)>;

  // `keys`: node id -> Z85 public key.
  PeerAuthenticator(zmq::context_t& context, const std::map<NodeId, std::string>& keys, Log log);
  ~PeerAuthenticator();
  PeerAuthenticator(const PeerAuthenticator&) = delete;
  PeerAuthenticator& operator=(const PeerAuthenticator&) = delete;

  // Replaces the allow-list (the committed configuration added or removed a member's key).
  // Applies to handshakes from now on; PeerTransport closes connections made with a key that is
  // gone.
  void set_keys(const std::map<NodeId, std::string>& keys);
  // Binds inproc://zeromq.zap.01 in the context; before the peer port is bound.
  Result<void> start();
  // Answers every waiting request.
  void handle();
  zmq::socket_t& socket();
  std::uint64_t refused() const { return refused_; }
  std::uint64_t accepted() const { return accepted_; }

 private:
  // The node id bound to a 32-byte key, or kNoNode.
  NodeId node_of(const std::string& key_bytes) const;

  std::unique_ptr<zmq::socket_t> socket_;
  std::map<std::string, NodeId> node_by_key_;  // 32-byte key -> node id
  Log log_;
  std::uint64_t refused_ = 0;
  std::uint64_t accepted_ = 0;
};

}  // namespace bcast::io
