#include "core/bcast/flow_control.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace bcast {

std::optional<FlowStream> flow_stream(Mode mode, Order order) {
  if (order == Order::kTotal) return FlowStream::kTotal;
  switch (mode) {
    case Mode::kBestEffort:
      return std::nullopt;
    case Mode::kReliable:
      return FlowStream::kReliable;
    case Mode::kGossip:
      return FlowStream::kGossip;
  }
  return std::nullopt;
}

FlowControl::FlowControl(NodeId self, OriginId origin, std::uint64_t unheard_share_bytes)
    : self_(self), origin_(origin), unheard_share_bytes_(unheard_share_bytes) {}

// --- As a member -------------------------------------------------------------------------------

void FlowControl::set_rooms(std::map<std::string, std::uint64_t> free_bytes_by_group) {
  rooms_ = std::move(free_bytes_by_group);
  delivered_at_rooms_ = delivered_;
}

void FlowControl::on_delivered(const Delivery& delivery) {
  const auto stream = flow_stream(delivery.mode, delivery.order);
  if (!stream) return;
  const std::uint64_t position =
      *stream == FlowStream::kTotal ? delivery.total_stream_seq : delivery.stream_seq;
  std::uint64_t& delivered =
      delivered_[sender_origin(delivery.sender)][static_cast<std::size_t>(*stream)];
  delivered = std::max(delivered, position);
}

void FlowControl::forget_origin(OriginId origin) {
  delivered_.erase(origin);
  delivered_at_rooms_.erase(origin);
}

std::vector<OriginId> FlowControl::delivered_origins() const {
  std::vector<OriginId> origins;
  origins.reserve(delivered_.size());
  for (const auto& [origin, positions] : delivered_) origins.push_back(origin);
  return origins;
}

Credit FlowControl::advert(std::size_t members, const SettledUpto& settled_upto) {
  Credit credit;
  credit.from = origin_;
  credit.sequence = ++adverts_;
  credit.delivered.reserve(delivered_at_rooms_.size());
  for (const auto& [origin, p] : delivered_at_rooms_) {
    credit.delivered.push_back(
        CreditPosition{origin, std::min(p[0], settled_upto(StreamKey{origin, Mode::kReliable})),
                       std::min(p[1], settled_upto(StreamKey{origin, Mode::kGossip})), p[2]});
  }
  const std::uint64_t sharers = std::max<std::size_t>(members, 1);
  credit.rooms.reserve(rooms_.size());
  for (const auto& [group, free_bytes] : rooms_) {
    credit.rooms.push_back(GroupRoom{group, free_bytes / sharers});
  }
  return credit;
}

// --- As a publisher ----------------------------------------------------------------------------

void FlowControl::on_credit(NodeId from, OriginId incarnation, const Credit& credit) {
  Member& member = members_[from];
  const bool fresh = member.incarnation != incarnation;
  if (fresh) {
    // A new incarnation (or the first we hear of): what we sent before now was below its
    // welcome or is already on its way; counting it could hold us back for messages it will
    // never deliver.
    member = Member{};
    member.incarnation = incarnation;
    member.delivered = published_;
  }
  if (credit.sequence <= member.advert_sequence) return;  // reordered: a newer one was taken
  member.advert_sequence = credit.sequence;
  const Positions before = member.delivered;
  for (const CreditPosition& p : credit.delivered) {
    if (p.origin != origin_) continue;
    const Positions reported{p.reliable, p.gossip, p.total};
    for (std::size_t s = 0; s < kFlowStreams; ++s) {
      member.delivered[s] = std::max(member.delivered[s], reported[s]);
    }
  }
  std::map<std::string, std::uint64_t> shares;
  for (const GroupRoom& room : credit.rooms)
    shares.emplace_hint(shares.end(), room.group, room.share_bytes);
  const bool same_groups =
      !fresh &&
      std::equal(shares.begin(), shares.end(), member.share_bytes.begin(), member.share_bytes.end(),
                 [](const auto& a, const auto& b) { return a.first == b.first; });
  member.share_bytes = std::move(shares);
  if (same_groups) {
    // Most adverts only move positions: take off what they cover instead of counting afresh
    // (a slow member may have a long tail outstanding).
    for (std::size_t s = 0; s < kFlowStreams; ++s) {
      settle(member, s, before[s], member.delivered[s]);
    }
  } else {
    recount(member);
  }
  trim();
}

void FlowControl::settle(Member& member, std::size_t stream, std::uint64_t from,
                         std::uint64_t to) const {
  const auto& sent = sent_[stream];
  auto it = std::upper_bound(sent.begin(), sent.end(), from,
                             [](std::uint64_t seq, const Sent& s) { return seq < s.stream_seq; });
  for (; it != sent.end() && it->stream_seq <= to; ++it) {
    const auto outstanding = member.outstanding.find(it->group);
    if (outstanding == member.outstanding.end()) continue;
    outstanding->second -= std::min(outstanding->second, it->bytes);
  }
}

void FlowControl::forget_peer(NodeId node) {
  if (node == self_) return;
  members_.erase(node);
  trim();
}

void FlowControl::set_members(const std::vector<NodeId>& members) {
  std::erase_if(members_, [&](const auto& entry) {
    return entry.first != self_ &&
           std::find(members.begin(), members.end(), entry.first) == members.end();
  });
  for (NodeId node : members) {
    if (node != self_) members_.try_emplace(node);
  }
  trim();
}

void FlowControl::heard_from(NodeId node, OriginId incarnation) {
  const auto it = members_.find(node);
  if (node == self_ || it == members_.end()) return;
  Member& member = it->second;
  const OriginId known = member.incarnation != 0 ? member.incarnation : member.unheard_incarnation;
  if (known != 0 && known != incarnation) {
    // Restarted: its predecessor's adverts say nothing of it.
    member = Member{};
    trim();
  }
  if (member.incarnation == 0) member.unheard_incarnation = incarnation;
}

bool FlowControl::member_admits(const Member& member, const std::string& group,
                                std::uint64_t bytes) const {
  const auto outstanding = member.outstanding.find(group);
  const std::uint64_t held = outstanding == member.outstanding.end() ? 0 : outstanding->second;
  if (member.incarnation == 0) {
    return unheard_share_bytes_ > 0 && (held == 0 || held + bytes <= unheard_share_bytes_);
  }
  const auto share = member.share_bytes.find(group);
  if (share == member.share_bytes.end()) return true;  // no subscriber there
  // No room at all holds even a single message back; some room admits one message larger than
  // it when nothing is outstanding, or it could never go.
  if (share->second == 0) return false;
  return held == 0 || held + bytes <= share->second;
}

bool FlowControl::admits(const std::string& group, std::uint64_t bytes) const {
  return blocking_member(group, bytes) == kNoNode;
}

NodeId FlowControl::blocking_member(const std::string& group, std::uint64_t bytes) const {
  for (const auto& [node, member] : members_) {
    if (!member_admits(member, group, bytes)) return node;
  }
  return kNoNode;
}

void FlowControl::on_published(FlowStream stream, std::uint64_t stream_seq,
                               const std::string& group, std::uint64_t bytes) {
  const auto s = static_cast<std::size_t>(stream);
  published_[s] = std::max(published_[s], stream_seq);
  bool counted = false;
  for (auto& [node, member] : members_) {
    if (member.incarnation == 0) {
      member.outstanding[group] += bytes;  // forgotten at its first advert
      continue;
    }
    if (member.share_bytes.empty()) continue;
    counted = true;
    if (member.share_bytes.contains(group)) member.outstanding[group] += bytes;
  }
  // Kept while some member advertises at all: a group it takes up later counts from its next
  // advert on.
  if (counted) sent_[s].push_back(Sent{stream_seq, group, bytes});
}

std::uint64_t FlowControl::outstanding_bytes(NodeId member, const std::string& group) const {
  const auto it = members_.find(member);
  if (it == members_.end()) return 0;
  const auto outstanding = it->second.outstanding.find(group);
  return outstanding == it->second.outstanding.end() ? 0 : outstanding->second;
}

std::size_t FlowControl::recorded_messages() const {
  std::size_t count = 0;
  for (const auto& sent : sent_) count += sent.size();
  return count;
}

void FlowControl::recount(Member& member) const {
  member.outstanding.clear();
  if (member.share_bytes.empty()) return;
  for (std::size_t s = 0; s < kFlowStreams; ++s) {
    const std::uint64_t delivered = member.delivered[s];
    // Records are in stream order: the undelivered ones are a suffix.
    for (auto it = sent_[s].rbegin(); it != sent_[s].rend() && it->stream_seq > delivered; ++it) {
      if (member.share_bytes.contains(it->group)) member.outstanding[it->group] += it->bytes;
    }
  }
}

void FlowControl::trim() {
  for (std::size_t s = 0; s < kFlowStreams; ++s) {
    std::uint64_t everyone = std::numeric_limits<std::uint64_t>::max();
    for (const auto& [node, member] : members_) {
      if (member.incarnation != 0 && !member.share_bytes.empty()) {
        everyone = std::min(everyone, member.delivered[s]);
      }
    }
    auto& sent = sent_[s];
    while (!sent.empty() && sent.front().stream_seq <= everyone) sent.pop_front();
  }
}

}  // namespace bcast
