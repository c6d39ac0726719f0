#include "core/membership/cluster_admin.hpp"

#include <algorithm>
#include <string_view>

namespace bcast {
namespace {

AdminResult failure(std::uint64_t request_id, ErrorCode code, std::string message) {
  return AdminResult{request_id, false, code, std::move(message)};
}

bool valid_address(const std::string& address) {
  // tcp://HOST:PORT with a non-empty host and a numeric port.
  if (address.rfind("tcp://", 0) != 0) return false;
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon <= 6 || colon + 1 >= address.size()) return false;
  return std::all_of(address.begin() + static_cast<std::ptrdiff_t>(colon) + 1, address.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// A Z85 text of a 32-byte key (ZeroMQ RFC 32): 40 characters of its alphabet.
bool valid_public_key(const std::string& key) {
  static constexpr std::string_view kZ85 =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
  return key.size() == raft::ConfChange::kPublicKeyChars &&
         std::all_of(key.begin(), key.end(),
                     [](char c) { return kZ85.find(c) != std::string_view::npos; });
}

// The member other than `node` whose registry record holds `key`, or kNoNode.
NodeId holder_of_key(const ClusterRegistry& registry, const std::string& key, NodeId node) {
  for (const auto& [member, record] : registry.members()) {
    if (member != node && record.public_key == key) return member;
  }
  return kNoNode;
}

}  // namespace

void ClusterAdmin::submit(std::uint64_t request_id, const AdminRequest& request, raft::Raft& raft,
                          const ClusterRegistry& registry, std::uint64_t now_tick, Outbox& out) {
  if (raft.role() == raft::Role::kLeader) {
    if (auto error = execute(self_, request_id, request, raft, registry, out)) {
      answer(self_, failure(request_id, error->code, error->message), out);
    }
    return;
  }
  if (raft.leader() == kNoNode) {
    answer(self_,
           failure(request_id, ErrorCode::kUnavailable,
                   "no leader is known: the cluster has no quorum or is electing one; retry"),
           out);
    return;
  }
  forwarded_[request_id] = now_tick;
  send_to(out, self_, raft.leader(), AdminForward{request_id, request});
}

void ClusterAdmin::on_forward(NodeId from, const AdminForward& forward, raft::Raft& raft,
                              const ClusterRegistry& registry, Outbox& out) {
  if (raft.role() != raft::Role::kLeader) {
    answer(from,
           failure(forward.request_id, ErrorCode::kNotLeader,
                   "the request reached a daemon that no longer leads; retry"),
           out);
    return;
  }
  // A forward repeated by the network (or by a retrying transport) is carried out once.
  if (!executed_.insert({from, forward.request_id}).second) return;
  if (executed_.size() > 4096) executed_.erase(executed_.begin());
  if (auto error = execute(from, forward.request_id, forward.request, raft, registry, out)) {
    answer(from, failure(forward.request_id, error->code, error->message), out);
  }
}

void ClusterAdmin::on_result(const AdminResult& result, Outbox& out) {
  if (forwarded_.erase(result.request_id) == 0) return;  // timed out already
  out.admin_results.push_back(result);
}

std::optional<Error> ClusterAdmin::execute(NodeId asker, std::uint64_t request_id,
                                           const AdminRequest& request, raft::Raft& raft,
                                           const ClusterRegistry& registry, Outbox& out) {
  const NodeId node = request.node;
  if (node == kNoNode || node > kMaxNodeId) {
    return Error{ErrorCode::kInvalidArgument,
                 "node ids are 1.." + std::to_string(kMaxNodeId) + ", not " + std::to_string(node)};
  }
  if (registry.cluster_id() == 0 && request.kind != AdminRequest::Kind::kTransferLeader) {
    return Error{ErrorCode::kInvalidArgument,
                 "this cluster was bootstrapped by a bcastd without a cluster registry; run-time "
                 "membership needs a cluster bootstrapped by this version"};
  }
  const raft::ConfState& conf = raft.conf();
  raft::ConfChange change;
  change.node = node;
  switch (request.kind) {
    case AdminRequest::Kind::kAdd:
      if (conf.contains(node)) {
        return Error{ErrorCode::kInvalidArgument,
                     "node " + std::to_string(node) + " is already a member"};
      }
      if (!valid_address(request.address)) {
        return Error{ErrorCode::kInvalidArgument,
                     "the address must be tcp://HOST:PORT, not '" + request.address + "'"};
      }
      if (!request.public_key.empty() && !valid_public_key(request.public_key)) {
        return Error{ErrorCode::kInvalidArgument,
                     "the key must be a public key in Z85 (40 characters, as bcastctl keygen "
                     "prints it)"};
      }
      if (!request.public_key.empty()) {
        // One key, one node: the key is what says which node id a connection speaks for.
        if (NodeId holder = holder_of_key(registry, request.public_key, node); holder != kNoNode) {
          return Error{ErrorCode::kInvalidArgument,
                       "that key is already node " + std::to_string(holder) + "'s"};
        }
      }
      // Always a learner first: it catches up (snapshot and log) without counting towards the
      // quorum, then the leader promotes it unless it was asked to stay a learner.
      change.type = raft::ConfChangeType::kAddLearner;
      change.address = request.address;
      change.public_key = request.public_key;
      change.promote_when_caught_up = !request.learner;
      break;
    case AdminRequest::Kind::kPromote:
      if (!conf.is_learner(node)) {
        return Error{ErrorCode::kInvalidArgument,
                     "node " + std::to_string(node) + " is not a learner"};
      }
      if (!caught_up(raft, node)) {
        // As etcd refuses a learner not in sync: a voter far behind could leave the cluster
        // without a quorum that can commit until it catches up.
        return Error{ErrorCode::kUnavailable,
                     "node " + std::to_string(node) +
                         " has not caught up with the leader's log yet; retry once `bcastctl "
                         "cluster list` shows it caught up"};
      }
      change.type = raft::ConfChangeType::kAddVoter;
      break;
    case AdminRequest::Kind::kRemove:
      if (!conf.contains(node)) {
        return Error{ErrorCode::kNotFound, "node " + std::to_string(node) + " is not a member"};
      }
      change.type = raft::ConfChangeType::kRemoveNode;
      break;
    case AdminRequest::Kind::kTransferLeader: {
      auto started = raft.transfer_leadership(node, out);
      if (!started) return started.error();
      answer(asker, AdminResult{request_id}, out);
      return std::nullopt;
    }
  }
  auto proposed = raft.propose_conf_change(change, out);
  if (!proposed) return proposed.error();
  pending_.push_back(Pending{asker, request_id, proposed.value(), raft.term()});
  return std::nullopt;
}

void ClusterAdmin::answer(NodeId asker, AdminResult result, Outbox& out) {
  if (asker == self_) {
    out.admin_results.push_back(std::move(result));
  } else {
    send_to(out, self_, asker, std::move(result));
  }
}

void ClusterAdmin::after_input(raft::Raft& raft, const ClusterRegistry& registry,
                               std::uint64_t now_tick, Outbox& out) {
  const bool leading = raft.role() == raft::Role::kLeader;
  std::erase_if(pending_, [&](const Pending& p) {
    // Committed counts even if this node stopped leading meanwhile (a leader that removed itself
    // steps down as soon as the removal commits).
    const auto term_at = raft.log().term_at(p.index);
    if (raft.log().committed() >= p.index && term_at.value_or(p.term) == p.term) {
      answer(p.asker, AdminResult{p.request_id}, out);
      return true;
    }
    if (!leading || raft.term() != p.term || term_at.value_or(p.term) != p.term) {
      answer(p.asker,
             failure(p.request_id, ErrorCode::kNotLeader,
                     "the leader changed before the change committed; see `bcastctl cluster "
                     "list` and retry if it is not in effect"),
             out);
      return true;
    }
    return false;
  });
  for (auto it = forwarded_.begin(); it != forwarded_.end();) {
    if (now_tick - it->second < forward_timeout_ticks_) {
      ++it;
      continue;
    }
    out.admin_results.push_back(failure(it->first, ErrorCode::kTimeout,
                                        "the leader did not answer in time; see `bcastctl "
                                        "cluster list` and retry if the change is not in effect"));
    it = forwarded_.erase(it);
  }
  if (leading) promote_caught_up(raft, registry, out);
}

bool ClusterAdmin::caught_up(const raft::Raft& raft, NodeId learner) {
  auto progress = raft.progress().find(learner);
  return progress != raft.progress().end() &&
         progress->second.match() + kPromotableLagEntries >= raft.log().committed();
}

void ClusterAdmin::promote_caught_up(raft::Raft& raft, const ClusterRegistry& registry,
                                     Outbox& out) {
  const raft::RaftLog& log = raft.log();
  if (log.last_conf_index() > log.committed()) return;  // one change at a time
  for (NodeId learner : raft.conf().learners) {
    const MemberRecord* record = registry.member(learner);
    if (record == nullptr || !record->promote_when_caught_up) continue;
    if (!caught_up(raft, learner)) continue;
    raft::ConfChange change{raft::ConfChangeType::kAddVoter, learner};
    if (raft.propose_conf_change(change, out).ok()) return;
  }
}

}  // namespace bcast
