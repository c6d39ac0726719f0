#include "io/daemon_status.hpp"

#include <nlohmann/json.hpp>

namespace bcast::io {
namespace {

template <typename T>
nlohmann::json optional_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::string to_json(const DaemonStatus& s) {
  nlohmann::json peers = nlohmann::json::array();
  for (const PeerStatus& p : s.peers) {
    peers.push_back({{"id", p.id},
                     {"endpoint", p.endpoint},
                     {"role", p.role},
                     {"self", p.self},
                     {"reachable", p.reachable},
                     {"last_heard_ms", optional_json(p.last_heard_ms)},
                     {"incarnation", p.incarnation},
                     {"match_index", optional_json(p.match_index)}});
  }
  nlohmann::json groups = nlohmann::json::array();
  for (const GroupStatus& g : s.groups) {
    groups.push_back({{"name", g.name},
                      {"local_clients", g.local_clients},
                      {"published_messages", g.published_messages},
                      {"delivered_messages", g.delivered_messages}});
  }
  const nlohmann::json out = {
      {"node_id", s.node_id},
      {"version", s.version},
      {"listen", s.listen},
      {"role", s.role},
      {"term", s.term},
      {"leader", optional_json(s.leader)},
      {"commit_index", s.commit_index},
      {"applied_index", s.applied_index},
      {"last_index", s.last_index},
      {"leader_changes", s.leader_changes},
      {"peers", peers},
      {"groups", groups},
      {"clients", s.clients},
      {"published_messages", s.published_messages},
      {"delivered_messages", s.delivered_messages},
      {"published_bytes", s.published_bytes},
      {"delivered_bytes", s.delivered_bytes},
      {"held_back_messages", s.held_back_messages},
      {"uptime_seconds", s.uptime_seconds},
      {"unix_time_seconds", s.unix_time_seconds},
      {"ready", s.ready},
      {"ready_reason", s.ready_reason},
  };
  // Group names are client input: invalid UTF-8 is replaced rather than failing the dump.
  return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Readiness evaluate_readiness(const ReadinessInputs& in) {
  if (!in.serving) return {false, "not serving yet (or shutting down)"};
  if (!in.member) return {false, "not a member of the cluster configuration"};
  if (in.leader == kNoNode) return {false, "no leader known (no quorum reachable)"};
  if (in.applied_index < in.commit_index) {
    return {false, "applying committed entries: applied " + std::to_string(in.applied_index) +
                       " of " + std::to_string(in.commit_index)};
  }
  if (in.is_leader) return {true, ""};
  if (!in.leader_commit) return {false, "waiting for the leader's commit index"};
  if (!in.last_caught_up || in.now - *in.last_caught_up > in.election_timeout) {
    return {false, "behind the leader: applied " + std::to_string(in.applied_index) +
                       ", leader's commit index " + std::to_string(*in.leader_commit)};
  }
  return {true, ""};
}

void StatusBoard::publish(std::shared_ptr<const DaemonStatus> status, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  status_ = std::move(status);
  published_ = now;
}

std::pair<std::shared_ptr<const DaemonStatus>, StatusBoard::Clock::time_point> StatusBoard::latest()
    const {
  std::lock_guard lock(mutex_);
  return {status_, published_};
}

}  // namespace bcast::io
