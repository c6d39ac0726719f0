#include "core/views/group_views.hpp"

#include <algorithm>

#include "core/byte_codec.hpp"

namespace bcast {
namespace {

constexpr std::string_view kImagePrefix = "GV1";

void put_member(std::string& out, const GroupMember& member) {
  put_le<std::uint64_t>(out, member.sender);
  put_le<std::uint32_t>(out, member.node);
  put_bytes(out, member.name);
}

bool read_member(ByteReader& in, GroupMember& member) {
  std::uint32_t node = 0;
  std::string_view name;
  if (!in.read(member.sender) || !in.read(node) || !in.read_bytes(name)) return false;
  member.node = static_cast<NodeId>(node);
  member.name = std::string(name);
  return true;
}

}  // namespace

const char* view_cause_name(ViewCause cause) {
  switch (cause) {
    case ViewCause::kJoin:
      return "join";
    case ViewCause::kLeave:
      return "leave";
    case ViewCause::kDisconnect:
      return "disconnect";
    case ViewCause::kDaemonFailed:
      return "daemon-failed";
    case ViewCause::kDaemonReturned:
      return "daemon-returned";
  }
  return "unknown";
}

std::string encode_group_record(const GroupRecord& record) {
  std::string out;
  put_le<std::uint8_t>(out, static_cast<std::uint8_t>(record.kind));
  put_bytes(out, record.group);
  put_member(out, record.member);
  put_le<std::uint32_t>(out, record.node);
  put_le<std::uint32_t>(out, record.origin);
  return out;
}

std::optional<GroupRecord> decode_group_record(std::string_view bytes) {
  ByteReader in(bytes);
  GroupRecord record;
  std::uint8_t kind = 0;
  std::string_view group;
  std::uint32_t node = 0;
  if (!in.read(kind) || kind > static_cast<std::uint8_t>(GroupRecord::Kind::kNodeUp) ||
      !in.read_bytes(group) || !read_member(in, record.member) || !in.read(node) ||
      !in.read(record.origin) || in.remaining_bytes() != 0) {
    return std::nullopt;
  }
  record.kind = static_cast<GroupRecord::Kind>(kind);
  record.group = std::string(group);
  record.node = static_cast<NodeId>(node);
  return record;
}

void GroupViews::apply(const GroupRecord& record, std::uint64_t gseq,
                       std::vector<ViewChange>& views) {
  switch (record.kind) {
    case GroupRecord::Kind::kJoin:
      // A member of a daemon taken as failed joins once the daemon is heard again.
      if (down_.contains(record.member.node)) return;
      change(record.group, {record.member}, {}, ViewCause::kJoin, gseq, views);
      return;
    case GroupRecord::Kind::kLeave:
      change(record.group, {}, {record.member.sender}, ViewCause::kLeave, gseq, views);
      return;
    case GroupRecord::Kind::kDisconnect: {
      for (const auto& [group, state] : groups_) {
        if (state.members.contains(record.member.sender)) {
          change(group, {}, {record.member.sender}, ViewCause::kDisconnect, gseq, views);
        }
      }
      // A suspended member that disconnected is not restored.
      auto& suspended = suspended_[record.member.node];
      std::erase_if(suspended,
                    [&](const Suspended& s) { return s.member.sender == record.member.sender; });
      if (suspended.empty()) suspended_.erase(record.member.node);
      return;
    }
    case GroupRecord::Kind::kNodeDown:
      node_down(record.node, gseq, views);
      return;
    case GroupRecord::Kind::kNodeUp:
      node_up(record.node, record.origin, gseq, views);
      return;
  }
}

void GroupViews::change(const std::string& group, const std::vector<GroupMember>& joined,
                        const std::vector<SenderId>& leaving, ViewCause cause, std::uint64_t gseq,
                        std::vector<ViewChange>& views) {
  Group& state = groups_[group];
  ViewChange view;
  for (const GroupMember& member : joined) {
    if (state.members.emplace(member.sender, member).second) view.joined.push_back(member);
  }
  for (SenderId sender : leaving) {
    auto it = state.members.find(sender);
    if (it == state.members.end()) continue;
    view.left.push_back(it->second);
    state.members.erase(it);
  }
  if (view.joined.empty() && view.left.empty()) {
    if (state.members.empty() && state.view_id == 0) groups_.erase(group);
    return;
  }
  view.group = group;
  view.view_id = ++state.view_id;
  for (const auto& [sender, member] : state.members) view.members.push_back(member);
  view.cause = cause;
  view.gseq = gseq;
  views.push_back(std::move(view));
}

void GroupViews::node_down(NodeId node, std::uint64_t gseq, std::vector<ViewChange>& views) {
  if (!down_.insert(node).second) return;
  for (auto& [group, state] : groups_) {
    std::vector<SenderId> leaving;
    for (const auto& [sender, member] : state.members) {
      if (member.node != node) continue;
      leaving.push_back(sender);
      suspended_[node].push_back(Suspended{group, member});
    }
    if (!leaving.empty()) change(group, {}, leaving, ViewCause::kDaemonFailed, gseq, views);
  }
}

void GroupViews::node_up(NodeId node, OriginId origin, std::uint64_t gseq,
                         std::vector<ViewChange>& views) {
  down_.erase(node);
  // Members of an older incarnation died with it: never restored, and dropped if still in.
  for (auto& [group, state] : groups_) {
    std::vector<SenderId> stale;
    for (const auto& [sender, member] : state.members) {
      if (member.node == node && sender_origin(sender) != origin) stale.push_back(sender);
    }
    if (!stale.empty()) change(group, {}, stale, ViewCause::kDaemonFailed, gseq, views);
  }
  auto it = suspended_.find(node);
  if (it == suspended_.end()) return;
  std::map<std::string, std::vector<GroupMember>> restored;
  for (Suspended& s : it->second) {
    if (sender_origin(s.member.sender) == origin) restored[s.group].push_back(std::move(s.member));
  }
  suspended_.erase(it);
  for (const auto& [group, members] : restored) {
    change(group, members, {}, ViewCause::kDaemonReturned, gseq, views);
  }
}

bool GroupViews::is_member(const std::string& group, SenderId sender) const {
  auto it = groups_.find(group);
  return it != groups_.end() && it->second.members.contains(sender);
}

std::map<SenderId, std::set<std::string>> GroupViews::members_on(NodeId node) const {
  std::map<SenderId, std::set<std::string>> found;
  for (const auto& [group, state] : groups_) {
    for (const auto& [sender, member] : state.members) {
      if (member.node == node) found[sender].insert(group);
    }
  }
  return found;
}

std::set<NodeId> GroupViews::hosting_nodes() const {
  std::set<NodeId> found;
  for (const auto& [group, state] : groups_) {
    for (const auto& [sender, member] : state.members) found.insert(member.node);
  }
  return found;
}

std::vector<GroupMember> GroupViews::members(const std::string& group) const {
  std::vector<GroupMember> found;
  if (auto it = groups_.find(group); it != groups_.end()) {
    for (const auto& [sender, member] : it->second.members) found.push_back(member);
  }
  return found;
}

std::uint64_t GroupViews::view_id(const std::string& group) const {
  auto it = groups_.find(group);
  return it == groups_.end() ? 0 : it->second.view_id;
}

std::string GroupViews::encode() const {
  std::string out(kImagePrefix);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(groups_.size()));
  for (const auto& [group, state] : groups_) {
    put_bytes(out, group);
    put_le<std::uint64_t>(out, state.view_id);
    put_le<std::uint32_t>(out, static_cast<std::uint32_t>(state.members.size()));
    for (const auto& [sender, member] : state.members) put_member(out, member);
  }
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(down_.size()));
  for (NodeId node : down_) put_le<std::uint32_t>(out, node);
  std::size_t suspended = 0;
  for (const auto& [node, list] : suspended_) suspended += list.size();
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(suspended));
  for (const auto& [node, list] : suspended_) {
    for (const Suspended& s : list) {
      put_bytes(out, s.group);
      put_member(out, s.member);
    }
  }
  return out;
}

Result<GroupViews> GroupViews::decode(std::string_view image) {
  const auto corrupt = make_error(ErrorCode::kCorrupt, "group views image is truncated");
  if (image.substr(0, kImagePrefix.size()) != kImagePrefix) return corrupt;
  ByteReader in(image.substr(kImagePrefix.size()));
  GroupViews views;
  std::uint32_t groups = 0;
  if (!in.read(groups)) return corrupt;
  for (std::uint32_t g = 0; g < groups; ++g) {
    std::string_view name;
    Group state;
    std::uint32_t members = 0;
    if (!in.read_bytes(name) || !in.read(state.view_id) || !in.read(members)) return corrupt;
    for (std::uint32_t m = 0; m < members; ++m) {
      GroupMember member;
      if (!read_member(in, member)) return corrupt;
      state.members.emplace(member.sender, std::move(member));
    }
    views.groups_.emplace(std::string(name), std::move(state));
  }
  std::uint32_t down = 0;
  if (!in.read(down)) return corrupt;
  for (std::uint32_t i = 0; i < down; ++i) {
    std::uint32_t node = 0;
    if (!in.read(node)) return corrupt;
    views.down_.insert(static_cast<NodeId>(node));
  }
  std::uint32_t suspended = 0;
  if (!in.read(suspended)) return corrupt;
  for (std::uint32_t i = 0; i < suspended; ++i) {
    std::string_view group;
    Suspended s;
    if (!in.read_bytes(group) || !read_member(in, s.member)) return corrupt;
    s.group = std::string(group);
    views.suspended_[s.member.node].push_back(std::move(s));
  }
  if (in.remaining_bytes() != 0) return corrupt;
  return views;
}

}  // namespace bcast
