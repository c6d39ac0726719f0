#include "core/membership/cluster_registry.hpp"

#include <algorithm>

#include "core/byte_codec.hpp"

namespace bcast {
namespace {

constexpr std::uint8_t kRecordVersion = 1;
constexpr std::uint8_t kClusterIdKind = 1;
constexpr std::uint8_t kMemberSeenKind = 2;
// Version 2 adds each member's public key. An image without keys is still written as version 1,
// which every earlier daemon reads.
constexpr std::uint8_t kImageVersionWithoutKeys = 1;
constexpr std::uint8_t kImageVersionWithKeys = 2;

}  // namespace

std::string encode_membership_record(const ClusterIdRecord& record) {
  std::string out;
  put_le<std::uint8_t>(out, kRecordVersion);
  put_le<std::uint8_t>(out, kClusterIdKind);
  put_le<std::uint64_t>(out, record.cluster_id);
  return out;
}

std::string encode_membership_record(const MemberSeenRecord& record) {
  std::string out;
  put_le<std::uint8_t>(out, kRecordVersion);
  put_le<std::uint8_t>(out, kMemberSeenKind);
  put_le<std::uint64_t>(out, record.node);
  put_le<std::uint64_t>(out, record.identity);
  put_le<std::uint32_t>(out, record.incarnation);
  return out;
}

const MemberRecord* ClusterRegistry::member(NodeId node) const {
  auto it = members_.find(node);
  return it == members_.end() ? nullptr : &it->second;
}

bool ClusterRegistry::superseded(NodeId node, std::uint32_t incarnation) const {
  auto it = first_incarnation_.find(node);
  if (it == first_incarnation_.end()) return false;
  const auto behind = static_cast<std::uint16_t>((it->second & 0xffff) - (incarnation & 0xffff));
  return behind != 0 && behind < 0x8000;
}

std::uint32_t ClusterRegistry::incarnation_floor(NodeId node) const {
  auto it = highest_incarnation_.find(node);
  return it == highest_incarnation_.end() ? 1 : it->second + kReaddedIncarnationGap;
}

void ClusterRegistry::apply(const raft::Entry& entry) {
  if (entry.type == raft::EntryType::kConfChange) {
    if (auto change = raft::decode_conf_change(entry.data)) apply_conf_change(*change);
    return;
  }
  if (entry.type != raft::EntryType::kMembership) return;
  ByteReader in(entry.data);
  std::uint8_t version = 0;
  std::uint8_t kind = 0;
  if (!in.read(version) || version != kRecordVersion || !in.read(kind)) {
    ++anomalies_;
    return;
  }
  if (kind == kClusterIdKind) {
    ClusterIdRecord record;
    if (!in.read(record.cluster_id) || in.remaining_bytes() != 0) {
      ++anomalies_;
      return;
    }
    cluster_id_ = record.cluster_id;
  } else if (kind == kMemberSeenKind) {
    MemberSeenRecord record;
    if (!in.read(record.node) || !in.read(record.identity) || !in.read(record.incarnation) ||
        in.remaining_bytes() != 0) {
      ++anomalies_;
      return;
    }
    apply_seen(record);
  } else {
    ++anomalies_;
  }
}

void ClusterRegistry::apply_conf_change(const raft::ConfChange& change) {
  switch (change.type) {
    case raft::ConfChangeType::kAddVoter:
    case raft::ConfChangeType::kAddLearner: {
      // A promotion (AddVoter of a learner) carries no address: the member keeps its record.
      // A node id added again after its removal starts a new series of boot counts.
      if (!members_.contains(change.node) && highest_incarnation_.contains(change.node)) {
        first_incarnation_[change.node] = incarnation_floor(change.node);
      }
      MemberRecord& record = members_[change.node];
      if (!change.address.empty()) record.address = change.address;
      if (!change.public_key.empty()) record.public_key = change.public_key;
      record.promote_when_caught_up =
          change.type == raft::ConfChangeType::kAddLearner && change.promote_when_caught_up;
      break;
    }
    case raft::ConfChangeType::kRemoveNode:
      members_.erase(change.node);
      // Remembered even if no boot count of it was ever recorded (removed before its "seen"
      // record committed): added again, it must still start a new series of boot counts, or
      // its new daemon's messages pass for the removed one's (sim seed 14600 of
      // SimMembership.ThreeVoters in the long mode).
      highest_incarnation_.try_emplace(change.node, 0);
      break;
  }
}

void ClusterRegistry::apply_seen(const MemberSeenRecord& record) {
  std::uint32_t& highest = highest_incarnation_[record.node];
  highest = std::max(highest, record.incarnation);
  auto it = members_.find(record.node);
  if (it == members_.end()) return;  // removed meanwhile
  // A record about an earlier life of a node id added again (proposed before the removal, or
  // from a late message of the removed daemon) must not bind the new member to the old
  // directory: the new daemon would be refused for good (sim seed 12214 of
  // SimMembership.FiveVoters in the long mode).
  if (superseded(record.node, record.incarnation)) return;
  MemberRecord& member = it->second;
  // The first identity heard binds the member; a record for another identity (a race between
  // two daemons claiming one id) does not rebind it: only removal and a new add do.
  if (member.identity == 0) member.identity = record.identity;
  if (member.identity == record.identity) {
    member.incarnation = std::max(member.incarnation, record.incarnation);
  }
}

std::string ClusterRegistry::encode() const {
  const bool keys = std::any_of(members_.begin(), members_.end(), [](const auto& member) {
    return !member.second.public_key.empty();
  });
  std::string out;
  put_le<std::uint8_t>(out, keys ? kImageVersionWithKeys : kImageVersionWithoutKeys);
  put_le<std::uint64_t>(out, cluster_id_);
  put_le<std::uint32_t>(out, static_cast<std::uint32_t>(members_.size()));
  for (const auto& [node, m] : members_) {
    put_le<std::uint64_t>(out, node);
    put_bytes(out, m.address);
    put_le<std::uint64_t>(out, m.identity);
    put_le<std::uint32_t>(out, m.incarnation);
    put_le<std::uint8_t>(out, m.promote_when_caught_up ? 1 : 0);
    if (keys) put_bytes(out, m.public_key);
  }
  for (const auto* map : {&highest_incarnation_, &first_incarnation_}) {
    put_le<std::uint32_t>(out, static_cast<std::uint32_t>(map->size()));
    for (const auto& [node, incarnation] : *map) {
      put_le<std::uint64_t>(out, node);
      put_le<std::uint32_t>(out, incarnation);
    }
  }
  return out;
}

Result<ClusterRegistry> ClusterRegistry::decode(std::string_view image) {
  const auto bad = [] { return make_error(ErrorCode::kCorrupt, "undecodable cluster registry"); };
  ClusterRegistry r;
  ByteReader in(image);
  std::uint8_t version = 0;
  std::uint32_t count = 0;
  if (!in.read(version) ||
      (version != kImageVersionWithoutKeys && version != kImageVersionWithKeys) ||
      !in.read(r.cluster_id_) || !in.read(count)) {
    return bad();
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    NodeId node = 0;
    MemberRecord m;
    std::string_view address;
    std::uint8_t promote = 0;
    if (!in.read(node) || !in.read_bytes(address) || !in.read(m.identity) ||
        !in.read(m.incarnation) || !in.read(promote) || promote > 1) {
      return bad();
    }
    if (version == kImageVersionWithKeys) {
      std::string_view key;
      if (!in.read_bytes(key)) return bad();
      m.public_key.assign(key);
    }
    m.address.assign(address);
    m.promote_when_caught_up = promote == 1;
    r.members_.emplace(node, std::move(m));
  }
  for (auto* map : {&r.highest_incarnation_, &r.first_incarnation_}) {
    if (!in.read(count)) return bad();
    for (std::uint32_t i = 0; i < count; ++i) {
      NodeId node = 0;
      std::uint32_t incarnation = 0;
      if (!in.read(node) || !in.read(incarnation)) return bad();
      (*map)[node] = incarnation;
    }
  }
  if (in.remaining_bytes() != 0) return bad();
  return r;
}

}  // namespace bcast
