#include "core/membership/peer_table.hpp"

namespace bcast {

void PeerTable::set_members(const std::vector<NodeId>& members) {
  members_.clear();
  for (NodeId node : members) {
    if (node != self_) members_.push_back(node);
  }
}

PeerTable::Contact PeerTable::heard_from(NodeId node, OriginId origin, std::uint64_t now_tick) {
  Contact contact;
  if (node == self_ || origin == 0) return contact;
  Peer& peer = peers_[node];
  if (peer.origin != origin) {
    // Boot counts grow (modulo 2^16, compared as serial numbers): a late message from an
    // incarnation already replaced says nothing about the node's liveness.
    const auto behind = static_cast<std::uint16_t>((peer.origin & 0xffff) - (origin & 0xffff));
    if (peer.origin != 0 && behind != 0 && behind < 0x8000) return contact;
    contact.replaced = peer.origin;
    contact.replaced_counted = peer.origin != 0 && !peer.excluded;
    peer = Peer{};
    peer.origin = origin;
    contact.welcome_due = true;
  } else if (peer.excluded) {
    peer.excluded = false;
    peer.welcome_sent.reset();
    contact.welcome_due = true;
  }
  peer.last_heard_tick = now_tick;
  return contact;
}

std::uint32_t PeerTable::next_welcome_epoch(NodeId node) const {
  auto it = peers_.find(node);
  return it == peers_.end() ? 1 : it->second.welcome_epoch_sent + 1;
}

void PeerTable::record_welcome(NodeId node, const Welcome& welcome) {
  Peer& peer = peers_[node];
  peer.welcome_sent = welcome;
  peer.welcome_epoch_sent = welcome.epoch;
  peer.welcome_confirmed = welcome.epoch == 1;
}

std::vector<NodeId> PeerTable::unconfirmed_welcomes() const {
  std::vector<NodeId> out;
  // Members only: a daemon removed from the configuration is owed nothing more.
  for (NodeId node : members_) {
    auto it = peers_.find(node);
    if (it == peers_.end()) continue;
    const Peer& peer = it->second;
    if (peer.welcome_sent && !peer.welcome_confirmed && !peer.excluded) out.push_back(node);
  }
  return out;
}

void PeerTable::confirm_welcome(NodeId node) {
  if (auto it = peers_.find(node); it != peers_.end()) it->second.welcome_confirmed = true;
}

std::uint32_t PeerTable::welcomed_epoch(OriginId origin) const {
  auto it = welcomed_by_.find(origin);
  return it == welcomed_by_.end() ? 0 : it->second;
}

std::optional<Welcome> PeerTable::welcome_sent(NodeId node) const {
  auto it = peers_.find(node);
  if (it == peers_.end()) return std::nullopt;
  return it->second.welcome_sent;
}

bool PeerTable::record_welcomed_by(const Welcome& welcome) {
  std::uint32_t& epoch = welcomed_by_[welcome.from];
  if (welcome.epoch <= epoch) return false;
  epoch = welcome.epoch;
  return true;
}

std::vector<std::pair<NodeId, OriginId>> PeerTable::expire(std::uint64_t now_tick) {
  std::vector<std::pair<NodeId, OriginId>> excluded;
  if (now_tick >= peer_timeout_ticks_) {
    // Members never heard from stopped holding back garbage collection (holding_back): say so.
    for (NodeId node : members_) {
      auto [it, inserted] = peers_.try_emplace(node);
      if (inserted || (it->second.origin == 0 && !it->second.excluded)) {
        it->second.excluded = true;
        excluded.emplace_back(node, 0);
      }
    }
  }
  for (auto& [node, peer] : peers_) {
    if (peer.origin == 0 || peer.excluded) continue;
    if (now_tick - peer.last_heard_tick < peer_timeout_ticks_) continue;
    peer.excluded = true;
    excluded.emplace_back(node, peer.origin);
  }
  return excluded;
}

std::vector<NodeId> PeerTable::live() const {
  std::vector<NodeId> out;
  for (NodeId node : members_) {
    auto it = peers_.find(node);
    if (it != peers_.end() && it->second.welcome_sent && !it->second.excluded) out.push_back(node);
  }
  return out;
}

std::vector<NodeId> PeerTable::holding_back() const {
  std::vector<NodeId> out;
  for (NodeId node : members_) {
    auto it = peers_.find(node);
    if (it == peers_.end() || !it->second.excluded) out.push_back(node);
  }
  return out;
}

std::vector<NodeId> PeerTable::not_yet_welcomed_by() const {
  std::vector<NodeId> out;
  for (NodeId node : members_) {
    auto it = peers_.find(node);
    if (it == peers_.end() || it->second.origin == 0 || !welcomed_by(it->second.origin)) {
      out.push_back(node);
    }
  }
  return out;
}

std::uint64_t PeerTable::last_heard_tick(NodeId node) const {
  auto it = peers_.find(node);
  return it == peers_.end() ? 0 : it->second.last_heard_tick;
}

OriginId PeerTable::incarnation(NodeId node) const {
  auto it = peers_.find(node);
  return it == peers_.end() ? 0 : it->second.origin;
}

}  // namespace bcast
