#include "core/membership/member_keys.hpp"

namespace bcast {
namespace {

std::string describe_node(NodeId node) { return "node " + std::to_string(node); }

}  // namespace

MemberKeys member_keys(const std::map<NodeId, std::string>& configured,
                       const ClusterRegistry& registry, NodeId self) {
  MemberKeys out;
  for (const auto& [node, key] : configured) {
    if (node != self && registry.removed(node)) continue;
    out.keys.emplace(node, key);
  }
  for (const auto& [node, record] : registry.members()) {
    if (record.public_key.empty()) continue;
    auto it = out.keys.find(node);
    if (node == self) {
      if (it != out.keys.end() && it->second != record.public_key) {
        out.conflicts.push_back(
            "the cluster configuration holds key " + record.public_key + " for this daemon (" +
            describe_node(node) + "), but --secret-key is the pair of " + it->second +
            ": the other members refuse this daemon; start it with the secret key of the key "
            "given to `cluster add`");
      }
      continue;
    }
    if (it != out.keys.end() && it->second != record.public_key) {
      out.conflicts.push_back("--peer-key " + std::to_string(node) + "=" + it->second +
                              " differs from the key the cluster configuration holds for " +
                              describe_node(node) + " (" + record.public_key +
                              "): using the configuration's; remove or fix that --peer-key");
    }
    out.keys[node] = record.public_key;
  }
  for (auto it = out.keys.begin(); it != out.keys.end();) {
    const auto* record = registry.member(it->first);
    const bool from_registry = record != nullptr && record->public_key == it->second;
    NodeId holder = kNoNode;
    if (!from_registry) {
      for (const auto& [member, member_record] : registry.members()) {
        if (member != it->first && member_record.public_key == it->second) holder = member;
      }
    }
    if (holder == kNoNode) {
      ++it;
      continue;
    }
    out.conflicts.push_back("--peer-key " + std::to_string(it->first) + "=" + it->second +
                            " is the key the cluster configuration holds for " +
                            describe_node(holder) + ": ignored for " + describe_node(it->first));
    it = out.keys.erase(it);
  }
  return out;
}

}  // namespace bcast
