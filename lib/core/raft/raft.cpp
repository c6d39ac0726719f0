#include "core/raft/raft.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include "core/invariant.hpp"

namespace bcast::raft {

const char* role_name(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "unknown";
}

const char* message_type_name(MessageType type) {
  switch (type) {
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResponse";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResponse";
    case MessageType::kAppend:
      return "Append";
    case MessageType::kAppendResponse:
      return "AppendResponse";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatResponse:
      return "HeartbeatResponse";
    case MessageType::kInstallSnapshot:
      return "InstallSnapshot";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "Unknown";
}

namespace {

SnapshotMeta initial_meta(const ConfState& initial_conf, const RaftState& state) {
  if (state.snapshot) return state.snapshot->meta;
  SnapshotMeta meta;
  meta.conf = initial_conf;
  return meta;
}

}  // namespace

Raft::Raft(const RaftOptions& options, Rng rng, const ConfState& initial_conf, RaftState state)
    : state_had_snapshot(state.snapshot.has_value()),
      options_(options),
      rng_(rng),
      log_(initial_meta(initial_conf, state), std::move(state.entries)),
      snapshot_(std::move(state.snapshot)) {
  BCAST_INVARIANT(options_.id != kNoNode, "a Raft node needs an id");
  BCAST_INVARIANT(options_.election_timeout_ticks > options_.heartbeat_interval_ticks,
                  "the election timeout must exceed the heartbeat interval");
  term_ = state.hard_state.term;
  vote_ = state.hard_state.vote;
  // The stored commit index may lag (it is not synced) but never lead what the log holds.
  log_.commit_to(std::min(std::max(state.hard_state.commit, log_.committed()), log_.last_index()));
  persisted_hard_state_ = hard_state();
  conf_beside_log_ = !state_had_snapshot && !initial_conf.voters.empty();
  // Term 1 is the bootstrap term (core/membership/bootstrap.hpp): no leader exists in it.
  if (term_ == 0 || (term_ == 1 && vote_ == kNoNode)) ticks_since_leader_contact_ = UINT32_MAX;
  announced_conf_ = log_.conf();
  randomize_election_timeout();
}

// --- Inputs ------------------------------------------------------------------------------------

void Raft::tick(Outbox& out) {
  ++tick_count_;
  if (role_ == Role::kLeader) {
    tick_leader(out);
  } else {
    ++election_elapsed_;
    if (ticks_since_leader_contact_ < UINT32_MAX) ++ticks_since_leader_contact_;
    if (is_voter() && election_elapsed_ >= randomized_election_timeout_) {
      election_elapsed_ = 0;
      start_campaign(options_.pre_vote, /*transfer=*/false, out);
    }
  }
  finish(out);
}

void Raft::step(const Message& m, Outbox& out) {
  if (handle_term(m, out)) {
    if (is_vote_request(m.type)) {
      handle_vote_request(m, out);
    } else if (role_ == Role::kLeader) {
      step_leader(m, out);
    } else if (role_ == Role::kFollower) {
      step_follower(m, out);
    } else {
      step_candidate(m, out);
    }
  }
  finish(out);
}

Result<LogIndex> Raft::propose(std::string data, Outbox& out) {
  return propose_entry(EntryType::kNormal, std::move(data), out);
}

Result<LogIndex> Raft::propose_entry(EntryType type, std::string data, Outbox& out) {
  if (type == EntryType::kConfChange || type == EntryType::kLeaderNoop) {
    return make_error(ErrorCode::kInvalidArgument, "configuration changes use propose_conf_change");
  }
  if (auto check = check_can_propose(data.size()); !check) return check.error();
  append_as_leader(type, std::move(data));
  finish(out, /*send_appends=*/false);
  return log_.last_index();
}

Result<LogIndex> Raft::propose_conf_change(const ConfChange& change, Outbox& out) {
  if (auto check = check_can_propose(0); !check) return check.error();
  // One change at a time, and none until this leader has committed an entry of its own term:
  // otherwise a change could commit on a quorum of a configuration a previous leader was
  // replacing (the single-server change bug found after the paper's publication).
  if (log_.committed() < leader_first_index_ || log_.last_conf_index() > log_.committed()) {
    return make_error(ErrorCode::kBusy, "a membership change is already in progress");
  }
  if (!apply_conf_change(log_.conf(), change)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "membership change not allowed in the current configuration");
  }
  // A new member replays the log from the first entry it is sent, on an empty configuration.
  // When the initial configuration is not in the log (a cluster bootstrapped beside it, by an
  // earlier version) and no snapshot has replaced the log's start, it would see only the changes
  // since, and could believe itself the only voter: it must start from a snapshot.
  const bool new_member =
      change.type != ConfChangeType::kRemoveNode && !log_.conf().contains(change.node);
  if (new_member && conf_beside_log_ && log_.snapshot_meta().index == 0) {
    return make_error(ErrorCode::kBusy,
                      "this cluster's initial configuration is not in its log: a member can be "
                      "added once the log has been compacted into a snapshot");
  }
  append_as_leader(EntryType::kConfChange, encode_conf_change(change));
  after_log_change(out);
  finish(out, /*send_appends=*/false);
  return log_.last_index();
}

Result<void> Raft::transfer_leadership(NodeId target, Outbox& out) {
  if (role_ != Role::kLeader) return make_error(ErrorCode::kNotLeader, "not the leader");
  if (target == options_.id) return {};
  if (!log_.conf().is_voter(target)) {
    return make_error(ErrorCode::kInvalidArgument, "transfer target is not a voter");
  }
  if (transfer_target_ == target) return {};
  transfer_target_ = target;
  // The transfer must finish within one election timeout, or it is abandoned.
  election_elapsed_ = 0;
  const Progress& progress = progress_.at(target);
  if (progress.match() == log_.last_index()) {
    send_timeout_now(target, out);
  } else {
    send_append(target, /*send_if_empty=*/true, out);
  }
  finish(out);
  return {};
}

void Raft::campaign(Outbox& out) {
  if (role_ != Role::kLeader && is_voter()) {
    start_campaign(options_.pre_vote, /*transfer=*/false, out);
  }
  finish(out);
}

void Raft::on_persisted(LogIndex index, Term term, Outbox& out) {
  log_.persisted_to(index, term);
  if (role_ == Role::kLeader) maybe_commit();
  finish(out);
}

void Raft::flush(Outbox& out) { finish(out); }

Result<void> Raft::compact(LogIndex index, std::shared_ptr<const std::string> data, Outbox& out) {
  if (index <= log_.snapshot_meta().index) {
    return make_error(ErrorCode::kInvalidArgument, "already compacted past this index");
  }
  if (index > log_.applied()) {
    return make_error(ErrorCode::kInvalidArgument, "cannot compact beyond the applied index");
  }
  SnapshotMeta meta{index, *log_.term_at(index), log_.conf_at(index)};
  const std::uint64_t retained = std::min(options_.retained_entries_behind_snapshot, index);
  // Within the entry count, the newest entries whose data fits the byte bound.
  LogIndex retain_from = index + 1;
  std::uint64_t retained_bytes = 0;
  while (retain_from > index + 1 - retained && retain_from > log_.first_index()) {
    const std::uint64_t bytes = log_.at(retain_from - 1).data.size();
    if (retained_bytes + bytes > options_.retained_bytes_behind_snapshot) break;
    retained_bytes += bytes;
    --retain_from;
  }
  log_.compact(meta, retain_from);
  snapshot_ = Snapshot{std::move(meta), std::move(data)};
  out.persist.set_snapshot(*snapshot_, /*resets_log=*/false);
  finish(out);
  return {};
}

CommittedWork Raft::take_committed() {
  CommittedWork work;
  work.restore = std::exchange(pending_restore_, std::nullopt);
  const LogIndex first = log_.applied() + 1;
  const LogIndex last = log_.committed();
  if (first <= last) {
    work.entries.reserve(last - first + 1);
    for (LogIndex i = first; i <= last; ++i) work.entries.push_back(log_.at(i));
    log_.applied_to(last);
  }
  return work;
}

std::uint64_t Raft::lease_remaining_ticks(std::uint64_t ticks_owed) const {
  if (role_ != Role::kLeader || transfer_target_ != kNoNode || timeout_now_sent_in_term_ ||
      !options_.check_quorum) {
    return 0;
  }
  // The lease starts at the newest tick that a quorum of voters (this node counting with the
  // current tick) has confirmed by echoing a heartbeat sent then. Each of them refuses to vote
  // for an election timeout after hearing that heartbeat, so no other leader can be elected
  // before start + election timeout.
  std::vector<std::uint64_t> acks;
  for (NodeId voter : log_.conf().voters) {
    if (voter == options_.id) {
      acks.push_back(tick_count_);
    } else if (auto it = progress_.find(voter); it != progress_.end()) {
      acks.push_back(it->second.lease_ack_tick);
    }
  }
  if (acks.size() < quorum()) return 0;
  std::sort(acks.begin(), acks.end(), std::greater<>());
  const std::uint64_t start = options_.bugs.lease_without_quorum ? tick_count_ : acks[quorum() - 1];
  if (start == 0) return 0;
  const std::uint64_t length = options_.election_timeout_ticks > options_.lease_drift_ticks
                                   ? options_.election_timeout_ticks - options_.lease_drift_ticks
                                   : 0;
  const std::uint64_t expiry = start + length;
  const std::uint64_t now = tick_count_ + ticks_owed;
  return expiry > now ? expiry - now : 0;
}

// --- Role transitions --------------------------------------------------------------------------

void Raft::reset(Term term) {
  if (term_ != term) {
    term_ = term;
    vote_ = kNoNode;
    timeout_now_sent_in_term_ = false;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  randomize_election_timeout();
  transfer_target_ = kNoNode;
  votes_.clear();
  progress_.clear();
  uncommitted_bytes_ = 0;
}

void Raft::become_follower(Term term, NodeId leader, Outbox& out) {
  const Role previous = role_;
  reset(term);
  role_ = Role::kFollower;
  leader_ = leader;
  if (previous != Role::kFollower) emit_event(Event::Kind::kBecameFollower, out);
}

void Raft::become_pre_candidate() {
  // A pre-candidate changes neither its term nor its vote: if the poll fails, nothing happened.
  votes_.clear();
  leader_ = kNoNode;
  role_ = Role::kPreCandidate;
  randomize_election_timeout();
}

void Raft::become_candidate(Outbox& out) {
  reset(term_ + 1);
  vote_ = options_.id;
  role_ = Role::kCandidate;
  emit_event(Event::Kind::kBecameCandidate, out);
}

void Raft::become_leader(Outbox& out) {
  reset(term_);
  role_ = Role::kLeader;
  leader_ = options_.id;
  ticks_since_leader_contact_ = 0;
  sync_progress_with_conf();
  // A no-op entry of the new term: committing it commits every earlier entry (§5.4.2), and
  // membership changes wait for it.
  append_as_leader(EntryType::kLeaderNoop, {});
  leader_first_index_ = log_.last_index();
  emit_event(Event::Kind::kBecameLeader, out);
}

void Raft::start_campaign(bool pre_vote, bool transfer, Outbox& out) {
  Term campaign_term;
  MessageType request;
  if (pre_vote) {
    become_pre_candidate();
    campaign_term = term_ + 1;
    request = MessageType::kPreVote;
  } else {
    become_candidate(out);
    campaign_term = term_;
    request = MessageType::kVote;
  }
  // A candidate always votes for itself; a single-voter cluster wins at once.
  votes_[options_.id] = true;
  if (quorum() <= 1) {
    if (pre_vote) {
      start_campaign(false, transfer, out);
    } else {
      become_leader(out);
    }
    return;
  }
  for (NodeId voter : log_.conf().voters) {
    if (voter == options_.id) continue;
    Message m;
    m.type = request;
    m.to = voter;
    m.term = campaign_term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    m.context = transfer ? kCampaignTransfer : 0;
    send(std::move(m), out);
  }
}

// --- Message handling --------------------------------------------------------------------------

bool Raft::handle_term(const Message& m, Outbox& out) {
  if (m.term > term_) {
    if (is_vote_request(m.type)) {
      // Leader stickiness: while we hear from a leader, a vote request can only come from a
      // node that lost contact with it; ignoring it keeps that node from disrupting the cluster
      // and is what makes the leader's lease sound. A transfer is the leader's own wish.
      const bool in_lease = options_.check_quorum && m.context != kCampaignTransfer &&
                            ticks_since_leader_contact_ < options_.election_timeout_ticks;
      if (in_lease) return false;
    }
    if (m.type == MessageType::kPreVote) return true;  // a poll; our term stays
    if (m.type == MessageType::kPreVoteResponse && !m.reject) return true;  // granted poll
    const bool from_leader = m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
                             m.type == MessageType::kInstallSnapshot;
    become_follower(m.term, from_leader ? m.from : kNoNode, out);
    return true;
  }
  if (m.term < term_) {
    if (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat) {
      // A stale leader, perhaps cut off while we elected another: answer with our term so it
      // steps down (the paper's "reply false if term < currentTerm").
      Message reply;
      reply.type = MessageType::kAppendResponse;
      reply.to = m.from;
      send(std::move(reply), out);
    } else if (m.type == MessageType::kPreVote) {
      Message reply;
      reply.type = MessageType::kPreVoteResponse;
      reply.to = m.from;
      reply.reject = true;
      send(std::move(reply), out);
    }
    return false;
  }
  return true;
}

void Raft::handle_vote_request(const Message& m, Outbox& out) {
  const bool pre_vote = m.type == MessageType::kPreVote;
  // We may vote for m.from if we already did in this term, if we have neither voted nor seen a
  // leader in this term, or if this is a poll for a later term.
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) ||
                        (pre_vote && m.term > term_) ||
                        (options_.bugs.vote_twice_in_term && role_ == Role::kFollower);
  const bool up_to_date =
      log_.is_up_to_date(m.index, m.log_term) || options_.bugs.ignore_log_up_to_date;
  // Leader stickiness holds in every term: having adopted a newer term from some stale message
  // does not release the promise made to the leader heard within the election timeout.
  const bool in_lease = options_.check_quorum && m.context != kCampaignTransfer &&
                        vote_ != m.from &&
                        ticks_since_leader_contact_ < options_.election_timeout_ticks;
  Message reply;
  reply.type = pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  reply.to = m.from;
  if (can_vote && up_to_date && !in_lease) {
    // A granted poll answers in the poll's term, so the pre-candidate counts it.
    reply.term = m.term;
    if (!pre_vote) {
      vote_ = m.from;
      election_elapsed_ = 0;
    }
  } else {
    reply.reject = true;
  }
  send(std::move(reply), out);
}

void Raft::step_leader(const Message& m, Outbox& out) {
  switch (m.type) {
    case MessageType::kAppendResponse:
      handle_append_response(m, out);
      break;
    case MessageType::kHeartbeatResponse:
      handle_heartbeat_response(m, out);
      break;
    default:
      // Another leader in our own term would break election safety; a late vote response or a
      // PreVoteResponse needs nothing from a leader.
      break;
  }
}

void Raft::step_candidate(const Message& m, Outbox& out) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kInstallSnapshot:
      // Someone won this term; follow it.
      become_follower(m.term, m.from, out);
      step_follower(m, out);
      break;
    case MessageType::kPreVoteResponse:
      if (role_ == Role::kPreCandidate) record_vote(m, out);
      break;
    case MessageType::kVoteResponse:
      if (role_ == Role::kCandidate) record_vote(m, out);
      break;
    default:
      break;
  }
}

void Raft::step_follower(const Message& m, Outbox& out) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kInstallSnapshot:
      leader_ = m.from;
      election_elapsed_ = 0;
      ticks_since_leader_contact_ = 0;
      if (m.type == MessageType::kAppend) handle_append(m, out);
      if (m.type == MessageType::kHeartbeat) handle_heartbeat(m, out);
      if (m.type == MessageType::kInstallSnapshot) handle_snapshot(m, out);
      break;
    case MessageType::kTimeoutNow:
      // The leader hands over: campaign at once, skipping PreVote (the leader wants this).
      if (is_voter()) start_campaign(/*pre_vote=*/false, /*transfer=*/true, out);
      break;
    default:
      break;
  }
}

void Raft::handle_append(const Message& m, Outbox& out) {
  Message reply;
  reply.type = MessageType::kAppendResponse;
  reply.to = m.from;
  if (m.index < log_.committed()) {
    // Everything up to our commit index already matches the leader.
    reply.index = log_.committed();
    send(std::move(reply), out);
    return;
  }
  if (log_.matches(m.index, m.log_term)) {
    if (auto first_written = log_.append_after(m.index, m.entries)) {
      unpersisted_from_ =
          unpersisted_from_ == 0 ? *first_written : std::min(unpersisted_from_, *first_written);
      after_log_change(out);
    }
    const LogIndex last_new = m.index + m.entries.size();
    log_.commit_to(std::min(m.commit, last_new));
    reply.index = last_new;
    send(std::move(reply), out);
    return;
  }
  // Reject with a hint: the last index at or below the probed one whose term is no newer than
  // the probed term. The leader can then skip a whole term of conflicting entries per round trip.
  reply.reject = true;
  reply.index = m.index;
  reply.reject_hint = log_.find_conflict_by_term(m.index, m.log_term);
  reply.reject_hint_term = log_.term_at(reply.reject_hint).value_or(0);
  send(std::move(reply), out);
}

void Raft::handle_heartbeat(const Message& m, Outbox& out) {
  // The leader sends min(our match, its commit), so this never commits what we lack.
  log_.commit_to(std::min(m.commit, log_.last_index()));
  Message reply;
  reply.type = MessageType::kHeartbeatResponse;
  reply.to = m.from;
  reply.context = m.context;
  send(std::move(reply), out);
}

void Raft::handle_snapshot(const Message& m, Outbox& out) {
  Message reply;
  reply.type = MessageType::kAppendResponse;
  reply.to = m.from;
  if (!m.snapshot) return;
  const SnapshotMeta& meta = m.snapshot->meta;
  if (meta.index <= log_.committed()) {
    reply.index = log_.committed();
  } else if (log_.matches(meta.index, meta.term)) {
    // We already hold the snapshot's last entry, hence (log matching) everything before it.
    log_.commit_to(meta.index);
    reply.index = log_.committed();
  } else {
    log_.reset_to(meta);
    unpersisted_from_ = 0;
    snapshot_ = *m.snapshot;
    pending_restore_ = *m.snapshot;
    out.persist.set_snapshot(*m.snapshot, /*resets_log=*/true);
    out.persist.sync = true;
    after_log_change(out);
    emit_event(Event::Kind::kSnapshotRestored, out);
    reply.index = meta.index;
  }
  send(std::move(reply), out);
}

void Raft::handle_append_response(const Message& m, Outbox& out) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.recent_active = true;
  if (m.reject) {
    // Fast backtracking: find the last index we have with a term no newer than the follower's
    // hint, and probe right after it.
    LogIndex next_probe = m.reject_hint;
    if (m.reject_hint_term > 0) {
      next_probe = log_.find_conflict_by_term(m.reject_hint, m.reject_hint_term);
    }
    if (progress.on_reject(m.index, next_probe)) {
      if (progress.state() == Progress::State::kReplicate) progress.become_probe();
      send_append(m.from, /*send_if_empty=*/true, out);
    }
    return;
  }
  // Freed pipeline slots are refilled by finish(); only a new match needs more here.
  if (!progress.on_ack(m.index)) return;
  if (progress.state() == Progress::State::kProbe) {
    progress.become_replicate();
  } else if (progress.state() == Progress::State::kSnapshot &&
             progress.match() >= progress.pending_snapshot()) {
    progress.become_probe();
    progress.become_replicate();
  }
  maybe_commit();
  if (m.from == transfer_target_ && progress.match() == log_.last_index()) {
    send_timeout_now(m.from, out);
  }
}

void Raft::handle_heartbeat_response(const Message& m, Outbox& out) {
  auto it = progress_.find(m.from);
  if (it == progress_.end()) return;
  Progress& progress = it->second;
  progress.recent_active = true;
  progress.lease_ack_tick = std::max(progress.lease_ack_tick, m.context);
  progress.on_heartbeat_response();
  if (progress.state() == Progress::State::kSnapshot &&
      tick_count_ - progress.snapshot_sent_tick >= 2ULL * options_.election_timeout_ticks) {
    // The InstallSnapshot (or its answer) was presumably lost: start over.
    progress.become_probe();
  }
  if (progress.match() < log_.last_index()) send_append(m.from, /*send_if_empty=*/true, out);
}

void Raft::record_vote(const Message& m, Outbox& out) {
  if (!log_.conf().is_voter(m.from)) return;
  votes_.emplace(m.from, !m.reject);  // the first answer from each voter counts
  std::size_t granted = 0;
  std::size_t rejected = 0;
  for (const auto& [voter, vote] : votes_) (vote ? granted : rejected)++;
  if (granted >= quorum()) {
    if (role_ == Role::kPreCandidate) {
      start_campaign(/*pre_vote=*/false, /*transfer=*/false, out);
    } else {
      become_leader(out);
    }
  } else if (rejected >= quorum()) {
    become_follower(term_, kNoNode, out);
  }
}

// --- Leader duties -----------------------------------------------------------------------------

void Raft::tick_leader(Outbox& out) {
  ticks_since_leader_contact_ = 0;
  ++heartbeat_elapsed_;
  if (++election_elapsed_ >= options_.election_timeout_ticks) {
    election_elapsed_ = 0;
    if (options_.check_quorum) {
      if (!quorum_active()) {
        become_follower(term_, kNoNode, out);
        return;
      }
      for (auto& [id, progress] : progress_) progress.recent_active = false;
    }
    transfer_target_ = kNoNode;  // a transfer that took a whole election timeout failed
  }
  if (heartbeat_elapsed_ >= options_.heartbeat_interval_ticks) {
    heartbeat_elapsed_ = 0;
    broadcast_heartbeat(out);
  }
}

void Raft::broadcast_heartbeat(Outbox& out) {
  for (auto& [id, progress] : progress_) {
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = id;
    // Never more than the follower is known to hold, so a heartbeat cannot make it commit an
    // entry it has not received from this leader.
    m.commit = std::min(progress.match(), log_.committed());
    m.context = tick_count_;
    send(std::move(m), out);
  }
}

void Raft::send_pending_appends(Outbox& out) {
  for (auto& [id, progress] : progress_) {
    // Keep sending while the window allows and entries remain (large backlogs span messages).
    bool sent = send_append(id, progress.commit_sent < log_.committed(), out);
    while (sent && progress.state() == Progress::State::kReplicate &&
           progress.next() <= log_.last_index()) {
      sent = send_append(id, false, out);
    }
  }
}

bool Raft::send_append(NodeId to, bool send_if_empty, Outbox& out) {
  Progress& progress = progress_.at(to);
  if (progress.is_paused()) return false;
  const LogIndex prev_index = progress.next() - 1;
  const auto prev_term = log_.term_at(prev_index);
  // Entries retained behind the snapshot would reach a follower without the configuration they
  // build on when that configuration is beside the log: such a follower starts from the snapshot.
  const bool before_conf = conf_beside_log_ && prev_index < log_.snapshot_meta().index;
  if (!prev_term || before_conf) {
    send_snapshot(to, progress, out);
    return false;
  }
  Message m;
  m.type = MessageType::kAppend;
  m.to = to;
  m.index = prev_index;
  m.log_term = *prev_term;
  m.entries = log_.slice(progress.next(), log_.last_index(), options_.max_append_bytes);
  if (m.entries.empty() && !send_if_empty) return false;
  m.commit = log_.committed();
  const LogIndex last = m.entries.empty() ? prev_index : m.entries.back().index;
  progress.on_append_sent(last, !m.entries.empty());
  progress.commit_sent = m.commit;
  send(std::move(m), out);
  return true;
}

void Raft::send_timeout_now(NodeId to, Outbox& out) {
  // A TimeoutNow can arrive long after the transfer was abandoned, and its campaign is granted
  // even by voters inside this leader's lease: from now on, this term has no lease.
  timeout_now_sent_in_term_ = true;
  Message m;
  m.type = MessageType::kTimeoutNow;
  m.to = to;
  send(std::move(m), out);
}

void Raft::send_snapshot(NodeId to, Progress& progress, Outbox& out) {
  if (!snapshot_) return;  // cannot happen: entries are only dropped by taking a snapshot
  Message m;
  m.type = MessageType::kInstallSnapshot;
  m.to = to;
  m.snapshot = snapshot_;
  progress.become_snapshot(snapshot_->meta.index);
  progress.snapshot_sent_tick = tick_count_;
  send(std::move(m), out);
}

bool Raft::maybe_commit() {
  LogIndex candidate;
  if (options_.bugs.commit_without_quorum) {
    candidate = log_.persisted();
  } else {
    std::vector<LogIndex> matches;
    for (NodeId voter : log_.conf().voters) {
      if (voter == options_.id) {
        matches.push_back(log_.persisted());
      } else if (auto it = progress_.find(voter); it != progress_.end()) {
        matches.push_back(it->second.match());
      }
    }
    if (matches.size() < quorum()) return false;
    std::sort(matches.begin(), matches.end(), std::greater<>());
    candidate = matches[quorum() - 1];
  }
  if (candidate <= log_.committed()) return false;
  // §5.4.2: only an entry of the current term commits by counting replicas; earlier entries
  // commit with it. (Figure 8 shows an old-term entry on a majority being overwritten.)
  if (log_.term_at(candidate) != term_ && !options_.bugs.commit_old_term_by_count) return false;
  for (LogIndex i = log_.committed() + 1; i <= candidate; ++i) {
    // Entries from earlier terms were never counted by this leader; saturate at zero.
    uncommitted_bytes_ -= std::min<std::uint64_t>(uncommitted_bytes_, log_.at(i).data.size());
  }
  log_.commit_to(candidate);
  return true;
}

bool Raft::quorum_active() const {
  std::size_t active = 0;
  for (NodeId voter : log_.conf().voters) {
    if (voter == options_.id) {
      ++active;
    } else if (auto it = progress_.find(voter); it != progress_.end() && it->second.recent_active) {
      ++active;
    }
  }
  return active >= quorum();
}

void Raft::sync_progress_with_conf() {
  const ConfState& conf = log_.conf();
  std::erase_if(progress_, [&](const auto& item) { return !conf.contains(item.first); });
  auto add = [&](NodeId id) {
    if (id == options_.id || progress_.contains(id)) return;
    Progress progress(log_.last_index() + 1, options_.max_inflight_appends);
    // Counted as active for the first CheckQuorum window, so that a new leader (or a leader that
    // just added a member) is not deposed before it could hear back.
    progress.recent_active = true;
    progress_.emplace(id, progress);
  };
  for (NodeId id : conf.voters) add(id);
  for (NodeId id : conf.learners) add(id);
}

void Raft::append_as_leader(EntryType type, std::string data) {
  Entry entry;
  entry.term = term_;
  entry.index = log_.last_index() + 1;
  entry.type = type;
  entry.data = std::move(data);
  uncommitted_bytes_ += entry.data.size();
  if (unpersisted_from_ == 0) unpersisted_from_ = entry.index;
  log_.append(std::move(entry));
}

Result<void> Raft::check_can_propose(std::uint64_t bytes) const {
  if (role_ != Role::kLeader) return make_error(ErrorCode::kNotLeader, "not the leader");
  if (transfer_target_ != kNoNode) {
    return make_error(ErrorCode::kBusy, "leadership transfer in progress");
  }
  // Always admit one proposal into an empty pipeline, however large, so progress is possible.
  if (uncommitted_bytes_ > 0 && uncommitted_bytes_ + bytes > options_.max_uncommitted_bytes) {
    return make_error(ErrorCode::kBusy, "too much uncommitted data; the quorum is behind");
  }
  return {};
}

// --- Bookkeeping -------------------------------------------------------------------------------

void Raft::after_log_change(Outbox& out) {
  if (log_.conf() == announced_conf_) return;
  announced_conf_ = log_.conf();
  if (role_ == Role::kLeader) sync_progress_with_conf();
  emit_event(Event::Kind::kConfigurationChanged, out);
}

void Raft::finish(Outbox& out, bool send_appends) {
  if (role_ == Role::kLeader) {
    // A leader that removed itself leads until the removal commits, then steps aside.
    if (!is_voter() && log_.committed() >= log_.last_conf_index() && log_.last_conf_index() > 0) {
      become_follower(term_, kNoNode, out);
    } else if (send_appends) {
      send_pending_appends(out);
    }
  }
  if (unpersisted_from_ != 0) {
    out.persist.append_entries(log_.slice(unpersisted_from_, log_.last_index(), UINT64_MAX));
    out.persist.sync = out.persist.sync || !options_.bugs.ack_before_sync;
    unpersisted_from_ = 0;
  }
  const HardState current = hard_state();
  if (current != persisted_hard_state_) {
    // The term and vote must be durable before any message that depends on them leaves; the
    // commit index may be recovered from the log and need not be synced.
    if (current.term != persisted_hard_state_.term || current.vote != persisted_hard_state_.vote) {
      out.persist.sync = true;
    }
    out.persist.hard_state = current;
    persisted_hard_state_ = current;
  }
}

void Raft::send(Message m, Outbox& out) {
  m.from = options_.id;
  if (m.term == 0) m.term = term_;
  const NodeId to = m.to;
  out.messages.push_back(Envelope{options_.id, to, PeerMessage{std::move(m)}});
}

void Raft::emit_event(Event::Kind kind, Outbox& out) {
  out.events.push_back(Event{kind, term_, leader_});
}

void Raft::randomize_election_timeout() {
  const std::uint32_t timeout = options_.election_timeout_ticks;
  randomized_election_timeout_ = static_cast<std::uint32_t>(rng_.uniform(timeout, 2 * timeout - 1));
}

std::string Raft::check_invariants() const {
  if (auto problem = log_.check_invariants(); !problem.empty()) return "log: " + problem;
  if (role_ == Role::kLeader && leader_ != options_.id) return "leader does not name itself";
  if (role_ == Role::kCandidate && vote_ != options_.id) return "candidate did not vote for itself";
  if (role_ != Role::kLeader && !progress_.empty()) return "non-leader tracks progress";
  if (role_ != Role::kLeader && transfer_target_ != kNoNode) return "non-leader transfers";
  for (const auto& [id, progress] : progress_) {
    if (progress.match() > log_.last_index()) return "a follower matches beyond our log";
    if (progress.next() <= progress.match()) return "next index not beyond match index";
    if (!log_.conf().contains(id)) return "progress tracked for a non-member";
  }
  const LogIndex snapshot_index = log_.snapshot_meta().index;
  if (snapshot_index != 0 && (!snapshot_ || snapshot_->meta.index != snapshot_index)) {
    return "stored snapshot differs from the log's snapshot point";
  }
  return {};
}

}  // namespace bcast::raft
