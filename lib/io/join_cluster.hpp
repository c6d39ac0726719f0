// A new daemon's first conversation with a running cluster (bcastd --join tcp://IP:PORT).
//
// The operator has added the node to the configuration (bcastctl cluster add ID=ADDRESS) on any
// member. The new daemon, with an empty data directory and its transport listening, asks the
// member named by --join; the member answers (to this daemon's node id, or to the address it
// asked from) with the cluster's id, the boot count to start above, and the members' addresses,
// or with why not. From then on the daemon is an ordinary learner: the leader sends it a
// snapshot and the log, and promotes it once it has caught up (unless added with --learner).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "bcast/result.hpp"
#include "core/membership/membership_messages.hpp"
#include "io/peer_transport.hpp"

namespace bcast::io {

// Asks every second until an answer arrives or `timeout` passes. An accepted answer is returned;
// a refusal, or silence, is an error that says what to do. `serve_between_polls`, when given,
// runs after every wait (the daemon answers CURVE handshakes there: members connect to a joiner
// too).
Result<JoinResponse> join_cluster(PeerTransport& transport, NodeId self, std::uint64_t identity,
                                  const std::string& own_address, const std::string& member,
                                  std::chrono::milliseconds timeout,
                                  const std::function<void()>& serve_between_polls = {});

}  // namespace bcast::io
