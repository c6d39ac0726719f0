// How a new cluster starts: its initial configuration written as the first entries of the log.
//
// Every daemon of the initial cluster writes the same entries, in the same order, at term 1, and
// takes them as committed: one ConfChange per member (voters, then learners, each with its
// address) and a registry record naming the cluster. Because the configuration is in the log
// rather than beside it, a daemon added later replays it from index 1 like everything else and
// ends up with the same configuration as everyone: it can never believe itself the only voter
// (on 83aa5b9, a member added before the leader's first snapshot replayed the ConfChanges on an
// empty base and elected itself alone).
//
// The cluster id is a hash of the cluster's name and its initial members with their addresses,
// so daemons given different --peer lists make different ids and refuse each other instead of
// forming two clusters that believe they are one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/raft/raft.hpp"

namespace bcast {

struct InitialMember {
  NodeId node = kNoNode;
  std::string address;
  bool learner = false;
};

// FNV-1a over "name\n" and "id=address" lines in node order: stable across versions and hosts.
std::uint64_t make_cluster_id(std::string_view cluster_name, std::vector<InitialMember> members);

// The Raft state a daemon of the initial cluster starts from (to be written to its storage
// before the node is built): the bootstrap entries, committed, at term 1.
raft::RaftState bootstrap_state(std::string_view cluster_name, std::vector<InitialMember> members);

}  // namespace bcast
