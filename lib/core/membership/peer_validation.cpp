#include "core/membership/peer_validation.hpp"

#include <variant>

namespace bcast {
namespace {

using Reason = std::optional<std::string>;

std::string node_text(NodeId node) { return "node " + std::to_string(node); }

Reason not_self(const char* what, OriginId origin, NodeId from) {
  if (origin == 0 || origin_node(origin) == from) return std::nullopt;
  return std::string(what) + " names " + node_text(origin_node(origin)) + ", not its sender " +
         node_text(from);
}

Reason out_of_range(const char* what, std::uint64_t value) {
  if (value < kMaxTermOrIndex) return std::nullopt;
  return std::string(what) + " " + std::to_string(value) + " is beyond any real cluster's";
}

bool is_leader_traffic(raft::MessageType type) {
  return type == raft::MessageType::kAppend || type == raft::MessageType::kHeartbeat ||
         type == raft::MessageType::kInstallSnapshot;
}

Reason check_numbers(const raft::Message& m, const ValidationContext& context) {
  if (auto bad = out_of_range("term", m.term)) return bad;
  if (auto bad = out_of_range("index", m.index)) return bad;
  if (auto bad = out_of_range("log term", m.log_term)) return bad;
  if (auto bad = out_of_range("commit index", m.commit)) return bad;
  if (auto bad = out_of_range("reject hint", m.reject_hint)) return bad;
  if (auto bad = out_of_range("reject hint term", m.reject_hint_term)) return bad;
  for (const raft::Entry& entry : m.entries) {
    if (auto bad = out_of_range("entry term", entry.term)) return bad;
    if (auto bad = out_of_range("entry index", entry.index)) return bad;
  }
  if (m.snapshot) {
    if (auto bad = out_of_range("snapshot index", m.snapshot->meta.index)) return bad;
    if (auto bad = out_of_range("snapshot term", m.snapshot->meta.term)) return bad;
  }
  if (m.term > context.term + kMaxTermsAhead) {
    return "term " + std::to_string(m.term) + " is far beyond this node's term " +
           std::to_string(context.term);
  }
  return std::nullopt;
}

Reason check_raft(const Envelope& envelope, const raft::Message& m,
                  const ValidationContext& context) {
  if (m.from != envelope.from || m.to != envelope.to) {
    return "a Raft message from " + node_text(m.from) + " to " + node_text(m.to) +
           " in an envelope from " + node_text(envelope.from) + " to " + node_text(envelope.to);
  }
  if (auto bad = check_numbers(m, context)) return bad;
  if (is_leader_traffic(m.type) && m.term == context.term && context.leader != kNoNode &&
      context.leader != m.from) {
    return "replication traffic of term " + std::to_string(m.term) + " from " + node_text(m.from) +
           ", whose leader is " + node_text(context.leader) + " (one leader per term)";
  }
  const bool transfer_vote = raft::is_vote_request(m.type) && m.context == raft::kCampaignTransfer;
  if (transfer_vote && context.leader == context.self && context.transfer_target != m.from) {
    return "a leadership-transfer vote request from " + node_text(m.from) +
           ", to which this leader is not handing over";
  }
  return std::nullopt;
}

Reason check_message(const Envelope& envelope, const PeerMessage& message,
                     const ValidationContext& context) {
  const NodeId from = envelope.from;
  if (const auto* raft = std::get_if<raft::Message>(&message)) {
    return check_raft(envelope, *raft, context);
  }
  if (const auto* push = std::get_if<DataPush>(&message)) {
    if (push->message.mode != Mode::kBestEffort) return std::nullopt;  // relayed by design
    return not_self("a best-effort message's origin", push->message.origin(), from);
  }
  if (const auto* digest = std::get_if<Digest>(&message)) {
    return not_self("a digest's origin", digest->from, from);
  }
  if (const auto* hello = std::get_if<Hello>(&message)) {
    return not_self("a hello's origin", hello->from, from);
  }
  if (const auto* credit = std::get_if<Credit>(&message)) {
    return not_self("a credit's origin", credit->from, from);
  }
  if (const auto* forward = std::get_if<TotalForward>(&message)) {
    for (const BroadcastMessage& m : forward->messages) {
      if (auto bad = not_self("a forwarded total-order message's origin", m.origin(), from)) {
        return bad;
      }
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> invalid_for_sender(const Envelope& envelope,
                                              const ValidationContext& context) {
  if (auto bad = not_self("the envelope's stamp", envelope.origin, envelope.from)) return bad;
  return check_message(envelope, envelope.message, context);
}

}  // namespace bcast
