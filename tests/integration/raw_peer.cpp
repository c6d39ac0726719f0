#include "raw_peer.hpp"

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>

#include "cluster.hpp"
#include "codec/peer_codec.hpp"
#include "core/bcast/message.hpp"

namespace bcast::integration {
namespace {

std::uint64_t hex_field(const std::string& text, const std::string& key) {
  const auto at = text.find(key + "=");
  if (at == std::string::npos) fail("no " + key + " in an identity file");
  std::uint64_t value = 0;
  std::sscanf(text.c_str() + at + key.size() + 1, "%" SCNx64, &value);
  return value;
}

}  // namespace

MemberFacts read_member_facts(const std::string& data_dir) {
  const std::string identity = read_file(data_dir + "/identity");
  MemberFacts facts;
  facts.node = static_cast<NodeId>(hex_field(identity, "node_id"));
  facts.cluster_id = hex_field(identity, "cluster_id");
  facts.identity = hex_field(identity, "identity");
  facts.incarnation = static_cast<std::uint32_t>(std::stoul(read_file(data_dir + "/incarnation")));
  return facts;
}

Envelope envelope_as(const MemberFacts& member, NodeId to, PeerMessage message) {
  Envelope envelope;
  envelope.from = member.node;
  envelope.to = to;
  envelope.message = std::move(message);
  envelope.origin = make_origin_id(member.node, member.incarnation);
  envelope.cluster_id = member.cluster_id;
  envelope.identity = member.identity;
  return envelope;
}

RawPeer::RawPeer(const std::string& endpoint, const std::optional<io::CurveKeyPair>& own,
                 const std::string& server_key)
    : socket_(context_, zmq::socket_type::dealer) {
  socket_.set(zmq::sockopt::linger, 0);
  if (own) {
    socket_.set(zmq::sockopt::curve_serverkey, server_key);
    socket_.set(zmq::sockopt::curve_publickey, own->public_key);
    socket_.set(zmq::sockopt::curve_secretkey, own->secret_key);
  }
  socket_.connect(endpoint);
}

void RawPeer::send(const Envelope& envelope) {
  const std::string frame = codec::encode_envelope(envelope);
  (void)socket_.send(zmq::buffer(frame), zmq::send_flags::dontwait);
}

bool LoopbackCapture::available() {
  const int fd = ::socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

LoopbackCapture::LoopbackCapture() {
  fd_ = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd_ < 0) fail("AF_PACKET socket: needs root");
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(::if_nametoindex("lo"));
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd_);
    fail("cannot bind a packet socket to lo");
  }
  thread_ = std::thread([this] {
    std::string buffer(1 << 16, '\0');
    while (!stop_.load()) {
      pollfd item{fd_, POLLIN, 0};
      if (::poll(&item, 1, 20) <= 0) continue;
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n > 0 && bytes_.size() < (256u << 20)) bytes_.append(buffer.data(), n);
    }
  });
}

LoopbackCapture::~LoopbackCapture() { (void)stop(); }

std::string LoopbackCapture::stop() {
  if (thread_.joinable()) {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  return bytes_;
}

}  // namespace bcast::integration
