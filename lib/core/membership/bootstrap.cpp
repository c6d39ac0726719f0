#include "core/membership/bootstrap.hpp"

#include <algorithm>

#include "core/membership/cluster_registry.hpp"

namespace bcast {
namespace {

void sort_by_node(std::vector<InitialMember>& members) {
  std::sort(members.begin(), members.end(),
            [](const InitialMember& a, const InitialMember& b) { return a.node < b.node; });
}

}  // namespace

std::uint64_t make_cluster_id(std::string_view cluster_name, std::vector<InitialMember> members) {
  sort_by_node(members);
  std::string text(cluster_name);
  text += '\n';
  for (const InitialMember& m : members) {
    text += std::to_string(m.node) + (m.learner ? "~" : "=") + m.address + '\n';
  }
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash == 0 ? 1 : hash;  // 0 means "no registry"
}

raft::RaftState bootstrap_state(std::string_view cluster_name, std::vector<InitialMember> members) {
  sort_by_node(members);
  raft::RaftState state;
  const auto append = [&](raft::EntryType type, std::string data) {
    const LogIndex index = state.entries.size() + 1;
    state.entries.push_back(raft::Entry{1, index, type, std::move(data)});
  };
  for (bool learners : {false, true}) {
    for (const InitialMember& m : members) {
      if (m.learner != learners) continue;
      raft::ConfChange change;
      change.type = learners ? raft::ConfChangeType::kAddLearner : raft::ConfChangeType::kAddVoter;
      change.node = m.node;
      change.address = m.address;
      append(raft::EntryType::kConfChange, raft::encode_conf_change(change));
    }
  }
  append(raft::EntryType::kMembership,
         encode_membership_record(ClusterIdRecord{make_cluster_id(cluster_name, members)}));
  state.hard_state.term = 1;
  state.hard_state.commit = state.entries.size();
  return state;
}

}  // namespace bcast
