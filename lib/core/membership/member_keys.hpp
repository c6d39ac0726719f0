// Which CURVE public key each node id may connect with (docs/security.md): the keys given at
// start (--peer-key, and the daemon's own) merged with the keys the committed configuration
// carries for members added at run time (`bcastctl cluster add ID=ADDRESS --key KEY`).
//
// The rules, in order:
//   1. start from the configured keys;
//   2. a node id the registry says was removed (and is not a member again) loses its key, so a
//      removed daemon cannot even complete a handshake;
//   3. a member with a key in the registry gets that key: the committed registry is the truth
//      for members added at run time, the same on every daemon. A different configured key for
//      it is a conflict (reported; the registry's wins), except for this daemon's own id: its
//      own key is what its secret key proves, and a different registry key is reported only;
//   4. one key, one node id: a configured key that the registry gives to another member is
//      dropped (reported), since the key is what tells which node a connection speaks for.
// Pure: the shell (io/daemon.cpp) hands the result to its authenticator and transport whenever
// the registry changes, and logs the conflicts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "bcast/types.hpp"
#include "core/membership/cluster_registry.hpp"

namespace bcast {

struct MemberKeys {
  std::map<NodeId, std::string> keys;  // node id -> Z85 public key
  std::vector<std::string> conflicts;  // one line each, for the log
};

MemberKeys member_keys(const std::map<NodeId, std::string>& configured,
                       const ClusterRegistry& registry, NodeId self);

}  // namespace bcast
