// Basic identifiers shared by every layer of bcastd.
#pragma once

#include <cstdint>

namespace bcast {

// A daemon's identity in the cluster. 0 means "no node" (no leader known, no vote cast).
using NodeId = std::uint64_t;
inline constexpr NodeId kNoNode = 0;

// Raft's term and log position, named as in the Raft paper.
using Term = std::uint64_t;
using LogIndex = std::uint64_t;

}  // namespace bcast
