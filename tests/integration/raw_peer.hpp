// What the peer-security tests play the attacker with: a hand-made peer connection that sends
// envelopes of its own making to a daemon's peer port (with or without a CURVE key), the facts an
// attacker would need to make them convincing (a member's cluster id, identity and boot count,
// read from its data directory), and a capture of everything that crosses the loopback
// interface, to look for plaintext.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "core/outbox.hpp"
#include "io/curve_keys.hpp"

namespace bcast::integration {

// A member as its data directory describes it.
struct MemberFacts {
  NodeId node = kNoNode;
  std::uint64_t cluster_id = 0;
  std::uint64_t identity = 0;
  std::uint32_t incarnation = 0;
};
MemberFacts read_member_facts(const std::string& data_dir);

// An envelope stamped as `member` would stamp it, to `to`.
Envelope envelope_as(const MemberFacts& member, NodeId to, PeerMessage message);

class RawPeer {
 public:
  // Plain TCP when `own` is nullopt; otherwise a CURVE client with `own` to `server_key`.
  RawPeer(const std::string& endpoint, const std::optional<io::CurveKeyPair>& own = std::nullopt,
          const std::string& server_key = "");
  void send(const Envelope& envelope);

 private:
  zmq::context_t context_{1};
  zmq::socket_t socket_;
};

// Records every packet on the loopback interface (AF_PACKET; needs root) until destroyed or
// stop() is called.
class LoopbackCapture {
 public:
  static bool available();  // false without the privilege
  LoopbackCapture();
  ~LoopbackCapture();
  // Stops recording and returns every byte seen, headers included.
  std::string stop();

 private:
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::string bytes_;
  std::thread thread_;
};

}  // namespace bcast::integration
