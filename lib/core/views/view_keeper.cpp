#include "core/views/view_keeper.hpp"

namespace bcast {

void ViewKeeper::joined(SenderId sender, const std::string& group, const std::string& client_name) {
  LocalClient& client = clients_[sender];
  client.name = client_name;
  client.groups.insert(group);
  dirty_ = true;
}

void ViewKeeper::left(SenderId sender, const std::string& group) {
  if (auto it = clients_.find(sender); it != clients_.end()) it->second.groups.erase(group);
  dirty_ = true;
}

std::vector<GroupRecord> ViewKeeper::due(const GroupViews& agreed,
                                         const std::optional<DaemonReachability>& daemons,
                                         std::uint64_t now_tick) {
  dirty_ = false;
  std::vector<GroupRecord> wanted;
  for_own_clients(agreed, wanted);
  if (daemons) for_daemons(agreed, *daemons, wanted);
  // Ask again only after resend_ticks: the first request may still be on its way.
  std::map<std::string, std::uint64_t> asked;
  std::vector<GroupRecord> due;
  for (GroupRecord& record : wanted) {
    std::string key = encode_group_record(record);
    auto it = asked_tick_.find(key);
    if (it != asked_tick_.end() && now_tick - it->second < resend_ticks_) {
      asked.emplace(std::move(key), it->second);
      continue;
    }
    asked.emplace(std::move(key), now_tick);
    due.push_back(std::move(record));
  }
  asked_tick_ = std::move(asked);  // differences that ended are forgotten
  return due;
}

void ViewKeeper::for_own_clients(const GroupViews& agreed, std::vector<GroupRecord>& wanted) const {
  // While the leader takes this daemon as failed, its members come back with it (node up).
  const bool taken_as_down = agreed.down_nodes().contains(self_);
  for (const auto& [sender, client] : clients_) {
    for (const std::string& group : client.groups) {
      if (taken_as_down || agreed.is_member(group, sender)) continue;
      GroupRecord join;
      join.kind = GroupRecord::Kind::kJoin;
      join.group = group;
      join.member = GroupMember{sender, self_, client.name};
      wanted.push_back(std::move(join));
    }
  }
  bool older_incarnation = false;
  for (const auto& [sender, groups] : agreed.members_on(self_)) {
    if (sender_origin(sender) != origin_) {
      older_incarnation = true;
      continue;
    }
    auto client = clients_.find(sender);
    if (client == clients_.end()) {
      GroupRecord disconnect;
      disconnect.kind = GroupRecord::Kind::kDisconnect;
      disconnect.member = GroupMember{sender, self_, {}};
      wanted.push_back(std::move(disconnect));
      continue;
    }
    for (const std::string& group : groups) {
      if (client->second.groups.contains(group)) continue;
      GroupRecord leave;
      leave.kind = GroupRecord::Kind::kLeave;
      leave.group = group;
      leave.member = GroupMember{sender, self_, {}};
      wanted.push_back(std::move(leave));
    }
  }
  if (older_incarnation && !taken_as_down) {
    GroupRecord up;
    up.kind = GroupRecord::Kind::kNodeUp;
    up.node = self_;
    up.origin = origin_;
    wanted.push_back(std::move(up));
  }
}

void ViewKeeper::for_daemons(const GroupViews& agreed, const DaemonReachability& daemons,
                             std::vector<GroupRecord>& wanted) const {
  const std::set<NodeId> hosting = agreed.hosting_nodes();
  for (NodeId node : daemons.configured) {
    if (node == self_) continue;
    auto heard = daemons.reachable.find(node);
    const bool down = agreed.down_nodes().contains(node);
    if (!down && !hosting.contains(node)) continue;  // no member: nothing to change
    if (heard == daemons.reachable.end()) {
      if (!down) {
        GroupRecord record;
        record.kind = GroupRecord::Kind::kNodeDown;
        record.node = node;
        wanted.push_back(std::move(record));
      }
      continue;
    }
    const OriginId incarnation = heard->second;
    if (incarnation == 0) continue;  // not heard yet: nothing to say
    bool stale = false;
    if (hosting.contains(node)) {
      for (const auto& [sender, groups] : agreed.members_on(node)) {
        stale = stale || sender_origin(sender) != incarnation;
      }
    }
    if (down || stale) {
      GroupRecord record;
      record.kind = GroupRecord::Kind::kNodeUp;
      record.node = node;
      record.origin = incarnation;
      wanted.push_back(std::move(record));
    }
  }
  // Daemons removed from the configuration: their members are gone.
  for (NodeId node : agreed.hosting_nodes()) {
    if (daemons.configured.contains(node) || agreed.down_nodes().contains(node)) continue;
    GroupRecord record;
    record.kind = GroupRecord::Kind::kNodeDown;
    record.node = node;
    wanted.push_back(std::move(record));
  }
}

}  // namespace bcast
