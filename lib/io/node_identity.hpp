// Who a data directory is: the cluster it belongs to, the node id it serves as, and a random
// identity made when the directory was created. Kept in DIR/identity (text, replaced
// atomically), written once: when the directory bootstraps a cluster or joins one.
//
// The identity is what tells a member apart from a daemon that merely uses its node id: the
// cluster registry binds each member's node id to the identity it first heard, so a wiped (or
// copied, or misconfigured) data directory is refused instead of passing for the member.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "bcast/result.hpp"
#include "bcast/types.hpp"
#include "io/file_system.hpp"

namespace bcast::io {

struct NodeIdentity {
  std::uint64_t cluster_id = 0;
  NodeId node_id = kNoNode;
  std::uint64_t identity = 0;
};

// nullopt when the directory has no identity file (new, or made by an earlier version).
Result<std::optional<NodeIdentity>> read_node_identity(FileSystem& fs, const std::string& dir);
Result<void> write_node_identity(FileSystem& fs, const std::string& dir,
                                 const NodeIdentity& identity);
// A fresh random identity (never 0), from the platform's entropy.
std::uint64_t make_identity();

}  // namespace bcast::io
