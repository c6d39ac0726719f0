// One Raft node as a pure state machine.
//
// Inputs: ticks (tick), messages from peers (step), proposals (propose, propose_conf_change),
// administrative requests (transfer_leadership, campaign, compact) and storage's report of what
// is durable (on_persisted). Every input appends its effects to an Outbox; nothing here touches a
// socket, a file, a clock or a thread. The same object runs in the daemon and in the simulator.
//
// Implemented (names from the Raft paper and Ongaro's thesis):
//  * leader election with randomized timeouts drawn from the injected Rng;
//  * PreVote (§9.6): a node first asks whether it could win, without raising its term, so a node
//    returning from a partition cannot depose a healthy leader;
//  * CheckQuorum (§6.2): a leader that has not heard from a quorum within an election timeout
//    steps down, and a follower that heard from its leader within an election timeout ignores
//    vote requests (leader stickiness);
//  * log replication with batching (entries proposed between flushes travel in one Append),
//    pipelining with a bounded window per follower, and fast backtracking by term;
//  * commitment on a quorum of voters, counting replicas only for entries of the current term
//    (§5.4.2, the Figure 8 rule);
//  * learners (non-voting members), single-server membership changes (§4.1, configurations take
//    effect when appended; one change at a time; none before the leader commits in its term);
//  * leadership transfer (§3.10) with TimeoutNow;
//  * a leader lease: how many more ticks no other leader can exist;
//  * snapshots: compaction of the log and InstallSnapshot for lagging or new members.
//
// The caller's duties (the driver does them): after every input, persist out.persist before
// sending out.messages, then call on_persisted with the last entry written; apply the entries
// take_committed() returns, in order.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bcast/result.hpp"
#include "core/outbox.hpp"
#include "core/raft/message.hpp"
#include "core/raft/progress.hpp"
#include "core/raft/raft_log.hpp"
#include "core/raft/types.hpp"
#include "core/rng.hpp"

namespace bcast::raft {

// Deliberately broken behaviours, used only by tests that prove the simulator's checkers catch
// real bugs. The daemon never sets any of them.
struct DeliberateBugs {
  bool vote_twice_in_term = false;        // a follower votes again after voting for another
  bool commit_without_quorum = false;     // a leader commits whatever it has persisted itself
  bool ack_before_sync = false;           // entries are acknowledged without being synced
  bool commit_old_term_by_count = false;  // ignore §5.4.2: commit old-term entries by counting
  bool ignore_log_up_to_date = false;     // vote for candidates whose logs are behind
  bool lease_without_quorum = false;      // a leader counts its lease from its own clock only
};

struct RaftOptions {
  NodeId id = kNoNode;
  // A follower that hears nothing from a leader for a random time in [T, 2T) ticks campaigns.
  // At the daemon's default 10 ms tick: 200-400 ms to detect a dead leader, heartbeats every
  // 20 ms.
  std::uint32_t election_timeout_ticks = 20;
  std::uint32_t heartbeat_interval_ticks = 2;
  // Pipelining window: Appends in flight to one follower before waiting for acknowledgements.
  std::uint32_t max_inflight_appends = 64;
  // Entry data per Append message (at least one entry is always sent).
  std::uint64_t max_append_bytes = 1 << 20;
  // Flow control: a leader refuses proposals (busy) while this much data is uncommitted.
  std::uint64_t max_uncommitted_bytes = 64 << 20;
  // Entries kept in memory behind a snapshot, so that a follower a little behind catches up
  // from the log instead of receiving the whole snapshot; at most this many, holding at most
  // this much data (large messages would otherwise keep gigabytes).
  std::uint64_t retained_entries_behind_snapshot = 5000;
  std::uint64_t retained_bytes_behind_snapshot = 32 << 20;
  bool pre_vote = true;
  bool check_quorum = true;
  // The lease is shortened by this much to absorb tick-rate differences between nodes.
  std::uint32_t lease_drift_ticks = 2;
  DeliberateBugs bugs;
};

// What storage recovered at startup (all empty for a new node).
struct RaftState {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;  // contiguous, following the snapshot (or index 0)
};

enum class Role : std::uint8_t { kFollower, kPreCandidate, kCandidate, kLeader };
const char* role_name(Role role);

// What the state machine must do next: first restore a snapshot (if any), then apply entries.
struct CommittedWork {
  std::optional<Snapshot> restore;
  std::vector<Entry> entries;
  bool empty() const { return !restore && entries.empty(); }
};

class Raft {
 public:
  // `initial_conf` is the bootstrap configuration, used only when `state` holds no snapshot
  // (every node of the initial cluster must be given the same one; a node joining later is
  // given an empty one and learns the configuration from the leader's snapshot).
  Raft(const RaftOptions& options, Rng rng, const ConfState& initial_conf, RaftState state);

  // --- Inputs --------------------------------------------------------------------------------
  void tick(Outbox& out);
  void step(const Message& message, Outbox& out);
  // Appends a command to the leader's log; it is sent at the next flush (or step or tick), so
  // proposals made together travel together. Returns its index; the command is acknowledged
  // once an entry with this index and the current term is committed.
  Result<LogIndex> propose(std::string data, Outbox& out);
  // The same for an entry of another type that Raft treats as opaque (kMembership).
  Result<LogIndex> propose_entry(EntryType type, std::string data, Outbox& out);
  Result<LogIndex> propose_conf_change(const ConfChange& change, Outbox& out);
  Result<void> transfer_leadership(NodeId target, Outbox& out);
  // Starts an election now (PreVote first when enabled), as if the election timer fired.
  void campaign(Outbox& out);
  // Storage made entries up to (index, term) durable.
  void on_persisted(LogIndex index, Term term, Outbox& out);
  // Sends what is pending: new entries and commit-index updates to every follower.
  void flush(Outbox& out);
  // The state machine has a snapshot covering everything up to `index` (<= applied index):
  // entries up to it are dropped and the snapshot is stored for lagging followers.
  Result<void> compact(LogIndex index, std::shared_ptr<const std::string> data, Outbox& out);

  // Committed entries not yet handed out, and a snapshot to restore first if the leader sent one.
  CommittedWork take_committed();

  // --- Observations --------------------------------------------------------------------------
  NodeId id() const { return options_.id; }
  Role role() const { return role_; }
  Term term() const { return term_; }
  NodeId vote() const { return vote_; }
  NodeId leader() const { return leader_; }
  // A leader that has committed an entry of its own term: everything committed before it is
  // known committed here (what it applies is the cluster's truth, not a stale view).
  bool leader_committed_in_term() const {
    return role_ == Role::kLeader && log_.committed() >= leader_first_index_;
  }
  const RaftLog& log() const { return log_; }
  const ConfState& conf() const { return log_.conf(); }
  bool is_voter() const { return log_.conf().is_voter(options_.id); }
  bool is_learner() const { return log_.conf().is_learner(options_.id); }
  const std::map<NodeId, Progress>& progress() const { return progress_; }
  NodeId transfer_target() const { return transfer_target_; }
  const std::optional<Snapshot>& snapshot() const { return snapshot_; }
  const RaftOptions& options() const { return options_; }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  // Ticks for which no other node can become leader (0 when this node holds no lease).
  // `ticks_owed`: ticks of real time that have passed but not been fed to tick() yet (a shell
  // that handles input before catching up on a stall owes them); they are taken off the lease,
  // which is measured on this node's tick count.
  std::uint64_t lease_remaining_ticks(std::uint64_t ticks_owed = 0) const;

  // Empty string if every invariant holds, else a description of the first broken one.
  std::string check_invariants() const;

 private:
  // Role transitions.
  void become_follower(Term term, NodeId leader, Outbox& out);
  void become_pre_candidate();
  void become_candidate(Outbox& out);
  void become_leader(Outbox& out);
  void reset(Term term);
  void start_campaign(bool pre_vote, bool transfer, Outbox& out);

  // Message handling.
  bool handle_term(const Message& m, Outbox& out);  // false: drop the message
  void handle_vote_request(const Message& m, Outbox& out);
  void step_leader(const Message& m, Outbox& out);
  void step_candidate(const Message& m, Outbox& out);
  void step_follower(const Message& m, Outbox& out);
  void handle_append(const Message& m, Outbox& out);
  void handle_heartbeat(const Message& m, Outbox& out);
  void handle_snapshot(const Message& m, Outbox& out);
  void handle_append_response(const Message& m, Outbox& out);
  void handle_heartbeat_response(const Message& m, Outbox& out);
  void record_vote(const Message& m, Outbox& out);

  // Leader duties.
  void tick_leader(Outbox& out);
  void broadcast_heartbeat(Outbox& out);
  void send_pending_appends(Outbox& out);
  bool send_append(NodeId to, bool send_if_empty, Outbox& out);
  void send_snapshot(NodeId to, Progress& progress, Outbox& out);
  void send_timeout_now(NodeId to, Outbox& out);
  bool maybe_commit();
  bool quorum_active() const;
  void sync_progress_with_conf();
  void append_as_leader(EntryType type, std::string data);
  Result<void> check_can_propose(std::uint64_t bytes) const;

  // Bookkeeping shared by every input.
  void after_log_change(Outbox& out);
  // Ends every input: sends pending appends (unless the input was a proposal, which waits for
  // the next flush so that proposals batch), and queues what must be persisted.
  void finish(Outbox& out, bool send_appends = true);
  void send(Message m, Outbox& out);
  std::size_t quorum() const { return log_.conf().voters.size() / 2 + 1; }
  void emit_event(Event::Kind kind, Outbox& out);
  void randomize_election_timeout();

  bool state_had_snapshot;  // constructor input, before the members below are built
  RaftOptions options_;
  Rng rng_;
  RaftLog log_;
  std::optional<Snapshot> snapshot_;         // latest snapshot, sent to lagging followers
  std::optional<Snapshot> pending_restore_;  // leader's snapshot for the state machine
  Role role_ = Role::kFollower;
  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;

  std::uint64_t tick_count_ = 1;  // local clock for the lease; never reset
  std::uint32_t election_elapsed_ = 0;
  std::uint32_t heartbeat_elapsed_ = 0;
  std::uint32_t randomized_election_timeout_ = 0;
  // Ticks since the leader was last heard from. A restarted node starts at 0 and so waits an
  // election timeout before voting: it may have acknowledged a heartbeat that a leader's lease
  // counts on. A brand-new node (term 0, or the bootstrap term 1 without a vote) has
  // acknowledged nothing and starts out of contact.
  std::uint32_t ticks_since_leader_contact_ = 0;

  std::map<NodeId, bool> votes_;         // candidate: responses received this campaign
  std::map<NodeId, Progress> progress_;  // leader: every member but itself
  NodeId transfer_target_ = kNoNode;
  bool timeout_now_sent_in_term_ = false;  // leader: no lease for the rest of the term
  // The initial configuration was given beside the log (a cluster bootstrapped by an earlier
  // version), not as its first entries: a new member must start from a snapshot.
  bool conf_beside_log_ = false;
  LogIndex leader_first_index_ = 0;      // leader: index of its no-op entry in this term
  std::uint64_t uncommitted_bytes_ = 0;  // leader: data proposed in this term, not yet committed

  HardState persisted_hard_state_;  // the last hard state handed to storage
  LogIndex unpersisted_from_ = 0;   // lowest index written since the last persist request
  ConfState announced_conf_;        // to notice configuration changes
};

}  // namespace bcast::raft
