#include "core/raft/types.hpp"

#include <algorithm>

namespace bcast::raft {
namespace {

bool sorted_contains(const std::vector<NodeId>& ids, NodeId id) {
  return std::binary_search(ids.begin(), ids.end(), id);
}

void sorted_insert(std::vector<NodeId>& ids, NodeId id) {
  ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
}

void sorted_erase(std::vector<NodeId>& ids, NodeId id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it != ids.end() && *it == id) ids.erase(it);
}

constexpr int kPromoteFlag = 1;
constexpr int kPublicKeyFlag = 2;

}  // namespace

bool ConfState::is_voter(NodeId id) const { return sorted_contains(voters, id); }
bool ConfState::is_learner(NodeId id) const { return sorted_contains(learners, id); }

std::string encode_conf_change(const ConfChange& change) {
  std::string out(9, '\0');
  out[0] = static_cast<char>(change.type);
  for (int i = 0; i < 8; ++i) out[1 + i] = static_cast<char>((change.node >> (8 * i)) & 0xff);
  if (!change.address.empty() || change.promote_when_caught_up || !change.public_key.empty()) {
    const int flags = (change.promote_when_caught_up ? kPromoteFlag : 0) |
                      (change.public_key.empty() ? 0 : kPublicKeyFlag);
    out.push_back(static_cast<char>(flags));
    out.append(change.public_key);
    out.append(change.address);
  }
  return out;
}

std::optional<ConfChange> decode_conf_change(std::string_view data) {
  if (data.size() < 9) return std::nullopt;
  const auto type = static_cast<std::uint8_t>(data[0]);
  if (type > static_cast<std::uint8_t>(ConfChangeType::kRemoveNode)) return std::nullopt;
  ConfChange change;
  change.type = static_cast<ConfChangeType>(type);
  for (int i = 0; i < 8; ++i) {
    change.node |= static_cast<NodeId>(static_cast<std::uint8_t>(data[1 + i])) << (8 * i);
  }
  if (change.node == kNoNode) return std::nullopt;
  if (data.size() > 9) {
    const auto flags = static_cast<std::uint8_t>(data[9]);
    // The encoder writes the extension only when it says something: a flag byte of 0 with no
    // address would be a second encoding of the plain change (found by fuzz_conf_change).
    if (flags > (kPromoteFlag | kPublicKeyFlag) || (flags == 0 && data.size() == 10)) {
      return std::nullopt;
    }
    change.promote_when_caught_up = (flags & kPromoteFlag) != 0;
    std::size_t address_at = 10;
    if ((flags & kPublicKeyFlag) != 0) {
      if (data.size() < 10 + ConfChange::kPublicKeyChars) return std::nullopt;
      change.public_key.assign(data.substr(10, ConfChange::kPublicKeyChars));
      address_at += ConfChange::kPublicKeyChars;
    }
    change.address.assign(data.substr(address_at));
  }
  return change;
}

std::optional<ConfState> apply_conf_change(const ConfState& conf, const ConfChange& change) {
  ConfState next = conf;
  switch (change.type) {
    case ConfChangeType::kAddVoter:
      if (conf.is_voter(change.node)) return std::nullopt;
      sorted_erase(next.learners, change.node);
      sorted_insert(next.voters, change.node);
      return next;
    case ConfChangeType::kAddLearner:
      if (conf.contains(change.node)) return std::nullopt;
      sorted_insert(next.learners, change.node);
      return next;
    case ConfChangeType::kRemoveNode:
      if (!conf.contains(change.node)) return std::nullopt;
      sorted_erase(next.voters, change.node);
      sorted_erase(next.learners, change.node);
      if (next.voters.empty()) return std::nullopt;  // a cluster must keep one voter
      return next;
  }
  return std::nullopt;
}

}  // namespace bcast::raft
