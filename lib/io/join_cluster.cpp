#include "io/join_cluster.hpp"

#include <variant>
#include <zmq.hpp>

namespace bcast::io {

Result<JoinResponse> join_cluster(PeerTransport& transport, NodeId self, std::uint64_t identity,
                                  const std::string& own_address, const std::string& member,
                                  std::chrono::milliseconds timeout,
                                  const std::function<void()>& serve_between_polls) {
  using Clock = std::chrono::steady_clock;
  const auto deadline = Clock::now() + timeout;
  Envelope request;
  request.from = self;
  request.to = kNoNode;  // whichever member answers at that address
  request.identity = identity;
  request.message = JoinRequest{identity, own_address};
  auto next_ask = Clock::now();
  std::string target = member;
  while (Clock::now() < deadline) {
    if (Clock::now() >= next_ask) {
      transport.send_to_endpoint(target, request);
      next_ask = Clock::now() + std::chrono::seconds(1);
    }
    zmq::pollitem_t item{transport.listening_socket().handle(), 0, ZMQ_POLLIN, 0};
    zmq::poll(&item, 1, std::chrono::milliseconds(serve_between_polls ? 20 : 100));
    if (serve_between_polls) serve_between_polls();
    while (auto received = transport.receive()) {
      if (!received->ok()) continue;
      const auto* response = std::get_if<JoinResponse>(&received->value().message);
      if (response == nullptr) continue;  // members may already talk to us; Raft repeats
      if (!response->accepted && response->cluster_id != 0) {
        // Not the leader (only the leader answers, from the cluster's committed state): it
        // names the leader it knows, asked at once; without one, ask again shortly. With CURVE,
        // the leader's address must be among --peer (with its --peer-key) to be reached.
        if (!response->members.empty()) {
          target = response->members.front().second;
          next_ask = Clock::now();
        }
        continue;
      }
      if (!response->accepted) {
        return make_error(ErrorCode::kInvalidArgument,
                          "node " + std::to_string(received->value().from) +
                              " refused to let this daemon join: " + response->reason);
      }
      return *response;
    }
  }
  return make_error(ErrorCode::kTimeout,
                    "no member answered the join request at " + member + " within " +
                        std::to_string(timeout.count()) +
                        " ms: is the address right, and does a daemon run there?");
}

}  // namespace bcast::io
