#include "core/membership/peer_admission.hpp"

#include <variant>

namespace bcast {

bool incarnation_newer(std::uint32_t a, std::uint32_t b) {
  const auto ahead = static_cast<std::uint16_t>((a & 0xffff) - (b & 0xffff));
  return ahead != 0 && ahead < 0x8000;
}

bool is_leader_traffic(const Envelope& envelope) {
  const auto* raft = std::get_if<raft::Message>(&envelope.message);
  if (raft == nullptr) return false;
  return raft->type == raft::MessageType::kAppend || raft->type == raft::MessageType::kHeartbeat ||
         raft->type == raft::MessageType::kInstallSnapshot;
}

bool PeerAdmission::admit(const Envelope& envelope, const ClusterRegistry& registry,
                          const raft::ConfState& conf, std::uint64_t now_tick, Outbox& out) {
  if (std::holds_alternative<Refusal>(envelope.message)) return true;  // always worth hearing
  if (envelope.cluster_id != cluster_id_) {
    refuse(envelope, Refusal{RefusalReason::kClusterMismatch, cluster_id_, 0}, now_tick, out);
    return false;
  }
  // What this daemon knows of the configuration and the identities may lag behind the cluster:
  // a member added (or removed and added again with a new data directory) since is unknown to
  // it, or bound to an identity it has not yet seen replaced. A leader's replication traffic is
  // what brings it up to date, so that is never refused here: Raft itself ignores a stale
  // leader, and a daemon that is not who it claims cannot become leader, since every vote
  // request and vote from it is refused.
  const bool leader_traffic = is_leader_traffic(envelope);
  // The answer to a membership change may come from a leader that has just removed itself.
  const bool from_former_leader = std::holds_alternative<AdminResult>(envelope.message);
  const bool knows_conf = !conf.voters.empty();
  if (knows_conf && !conf.contains(envelope.from) && !from_former_leader && !leader_traffic) {
    refuse(envelope, Refusal{RefusalReason::kNotMember, cluster_id_, 0}, now_tick, out);
    return false;
  }
  const MemberRecord* member = registry.member(envelope.from);
  if (member != nullptr && member->identity != 0 && member->identity != envelope.identity &&
      !leader_traffic) {
    refuse(envelope, Refusal{RefusalReason::kIdentityMismatch, cluster_id_, member->identity},
           now_tick, out);
    return false;
  }
  refusing_.erase(envelope.from);
  if (member != nullptr && member->identity != 0 && member->identity != envelope.identity) {
    return true;  // leader traffic from an identity we have not seen bound yet: nothing to record
  }
  if (member != nullptr) {
    const std::uint32_t incarnation = envelope.origin & 0xffff;
    if (member->identity == 0 || incarnation_newer(incarnation, member->incarnation)) {
      note_sighting(envelope.from, envelope.identity, incarnation);
    }
  }
  return true;
}

void PeerAdmission::refuse(const Envelope& envelope, Refusal refusal, std::uint64_t now_tick,
                           Outbox& out) {
  const NodeId from = envelope.from;
  refusal.refused_identity = envelope.identity;
  refusing_[from] = Refused{refusal, now_tick};
  // Said once, and again only if the reason changes or a long while has passed: a duplicate id
  // alternates with the true member, and the log should not repeat itself every second.
  auto logged = logged_.find(from);
  const bool first = logged == logged_.end() || logged->second.refusal.reason != refusal.reason ||
                     now_tick - logged->second.last_tick >= 60 * refusal_interval_ticks_;
  if (first) logged_[from] = Refused{refusal, now_tick};
  auto [last, inserted] = last_refusal_tick_.try_emplace(from, now_tick);
  if (!inserted && now_tick - last->second < refusal_interval_ticks_) return;
  last->second = now_tick;
  if (from != kNoNode && from != self_) send_to(out, self_, from, refusal);
  if (first) {
    Event event{Event::Kind::kRefusedPeer};
    event.node = from;
    event.refusal = refusal;
    out.events.push_back(event);
  }
}

void PeerAdmission::on_refusal(NodeId from, const Refusal& refusal, std::uint64_t now_tick,
                               Outbox& out) {
  auto [it, inserted] = refused_by_.try_emplace(from, Refused{refusal, now_tick});
  const bool changed =
      inserted || it->second.refusal.reason != refusal.reason || !recent(it->second, now_tick);
  it->second = Refused{refusal, now_tick};
  if (changed) {
    Event event{Event::Kind::kRefusedByPeer};
    event.node = from;
    event.refusal = refusal;
    out.events.push_back(event);
  }
}

namespace {

template <typename Map>
std::map<NodeId, Refusal> recent_only(const Map& refusals, const auto& is_recent) {
  std::map<NodeId, Refusal> out;
  for (const auto& [node, refused] : refusals) {
    if (is_recent(refused)) out.emplace(node, refused.refusal);
  }
  return out;
}

}  // namespace

std::map<NodeId, Refusal> PeerAdmission::refused_by(std::uint64_t now_tick) const {
  return recent_only(refused_by_, [&](const Refused& r) { return recent(r, now_tick); });
}

std::map<NodeId, Refusal> PeerAdmission::refusing(std::uint64_t now_tick) const {
  return recent_only(refusing_, [&](const Refused& r) { return recent(r, now_tick); });
}

void PeerAdmission::note_sighting(NodeId node, std::uint64_t identity, std::uint32_t incarnation) {
  Sighting& s = sightings_[node];
  if (s.identity != identity || incarnation_newer(incarnation, s.incarnation)) {
    s = Sighting{identity, incarnation, 0, false};
  }
}

void PeerAdmission::saw_self(std::uint64_t identity, std::uint32_t incarnation) {
  note_sighting(self_, identity, incarnation);
}

std::vector<MemberSeenRecord> PeerAdmission::take_sightings(const ClusterRegistry& registry,
                                                            std::uint64_t now_tick) {
  std::vector<MemberSeenRecord> out;
  for (auto it = sightings_.begin(); it != sightings_.end();) {
    const auto& [node, s] = *it;
    const MemberRecord* member = registry.member(node);
    const bool recorded =
        member == nullptr || (member->identity != 0 && member->identity != s.identity) ||
        (member->identity == s.identity && !incarnation_newer(s.incarnation, member->incarnation));
    if (recorded) {
      it = sightings_.erase(it);
      continue;
    }
    if (!it->second.proposed || now_tick - it->second.proposed_tick >= refusal_interval_ticks_) {
      it->second.proposed = true;
      it->second.proposed_tick = now_tick;
      out.push_back(MemberSeenRecord{node, s.identity, s.incarnation});
    }
    ++it;
  }
  return out;
}

}  // namespace bcast
