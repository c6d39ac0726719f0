// The one object the daemon and the simulator drive: one daemon's whole protocol stack.
//
//   publish ──► best-effort / reliable / gossip engine ──► peers      (core/bcast)
//          └──► total pipeline ──► leader ──► Raft log                (core/order, core/raft)
//   peers ──► engines ──► delivery manager (none, fifo, causal) ──► deliveries
//   Raft log ──► TotalOrder (the sequencer's state machine) ──► deliveries with gseq
//
// What this daemon will never deliver it announces as a Gap in the outbox, before any delivery
// that follows it (see Gap in core/bcast/message.hpp): a rejoin's skip, a dead origin's lost
// messages, total-order positions under an installed snapshot, best-effort FIFO skips.
//
// Every input appends effects to an Outbox that the caller hands to apply_outbox
// (core/driver.hpp). Call flush() after a batch of inputs: proposals and forwards wait for it so
// that those of one batch travel together.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "bcast/result.hpp"
#include "core/bcast/best_effort.hpp"
#include "core/bcast/engine_options.hpp"
#include "core/bcast/flow_control.hpp"
#include "core/bcast/gossip.hpp"
#include "core/bcast/reliable.hpp"
#include "core/membership/cluster_admin.hpp"
#include "core/membership/peer_admission.hpp"
#include "core/membership/peer_table.hpp"
#include "core/node_state.hpp"
#include "core/order/delivery_manager.hpp"
#include "core/order/total_order.hpp"
#include "core/order/total_pipeline.hpp"
#include "core/outbox.hpp"
#include "core/raft/raft.hpp"
#include "core/rng.hpp"
#include "core/views/view_keeper.hpp"

namespace bcast {

struct NodeOptions {
  raft::RaftOptions raft;  // raft.id is the daemon's node id (1..65535)
  // The cluster this daemon belongs to (core/membership/bootstrap.hpp) and the identity of its
  // data directory, both kept by the shell in the data directory; stamped on every message, and
  // checked on every message received (core/membership/peer_admission.hpp). 0 and 0 for a
  // cluster bootstrapped before cluster ids existed.
  std::uint64_t cluster_id = 0;
  std::uint64_t identity = 0;
  // A peer we refuse is told why at most this often.
  std::uint64_t refusal_interval_ticks = 100;
  // A membership request forwarded to the leader fails if unanswered for this long.
  std::uint64_t admin_timeout_ticks = 1000;
  // The daemon's boot count, kept by the shell in its data directory: it makes sender ids and
  // streams of a restarted daemon distinct from those of its previous life.
  std::uint32_t incarnation = 1;
  // The sequencer's state is captured and the log compacted after this many applied entries
  // (some stay behind the snapshot: RaftOptions::retained_entries_behind_snapshot).
  std::uint64_t snapshot_interval_entries = 10000;
  // ... or once the entries applied since hold this much data: the log lives in memory, and
  // large messages must not make it grow by gigabytes before a snapshot.
  std::uint64_t snapshot_interval_bytes = 64 << 20;
  DisseminationOptions dissemination;
  TotalOptions total;
  // Best-effort FIFO skips a gap once the message after it waited this long.
  std::uint32_t best_effort_hold_ticks = 3;
  // A peer silent this long stops counting as a member (see PeerTable).
  std::uint64_t peer_timeout_ticks = 1000;
  // Until every peer has welcomed it (and while messages wait for some origin's welcome), a
  // daemon says Hello this often; peers answer with welcomes they hold for it.
  std::uint32_t hello_interval_ticks = 10;
  // An origin that messages wait on, replaced by a newer incarnation of its node, whose
  // welcome has not reached us within this many ticks, is taken never to have met us; and a
  // dead origin's messages still missing this long, with every member reporting no more of
  // them, are taken as lost. It must exceed how long a message can stay in flight.
  std::uint32_t retire_grace_ticks = 100;
  // Besides the newcomer, this many other members get a copy of each welcome and pass it on,
  // so the newcomer still learns it should ours be lost or should we die first. A few suffice:
  // sending it to every member would cost n^3 messages when n daemons meet.
  std::uint32_t welcome_witnesses = 3;
  std::uint64_t max_message_bytes = 1 << 20;
  std::uint32_t max_group_bytes = 255;
  // Reliable and gossip messages this daemon keeps for repair; beyond it, publishing is busy.
  std::uint64_t max_stored_bytes = 256ULL << 20;
  // While this daemon has local subscribers, it advertises its room to its peers at most this
  // often (and only when it changed); every hello interval regardless (FlowControl).
  std::uint32_t credit_interval_ticks = 1;
  // A member not heard from yet may take this much of each group from this daemon until its
  // first advert or its exclusion (FlowControl).
  std::uint64_t unheard_share_bytes = 1ULL << 20;
};

struct PublishRequest {
  SenderId sender = 0;
  std::string group;
  Mode mode = Mode::kReliable;
  Order order = Order::kNone;
  std::shared_ptr<const std::string> payload;
};

// Sees every entry the sequencer applies; for checkers and metrics, never needed to run.
class ApplyObserver {
 public:
  virtual ~ApplyObserver() = default;
  virtual void on_apply(const raft::Entry& entry) = 0;
  virtual void on_restore(const raft::SnapshotMeta& meta) = 0;
};

class Node {
 public:
  Node(const NodeOptions& options, Rng rng, const raft::ConfState& initial_conf,
       raft::RaftState recovered);

  // Local clients. A sender is one client connection; its messages carry seq 1, 2, 3, ...
  SenderId open_sender();
  void close_sender(SenderId sender);
  // Group membership of a local client, for the agreed group views (core/views/group_views.hpp):
  // the change goes into the total-order stream at the next tick; every daemon then announces
  // the group's new view (Outbox::views). Closing a sender is its disconnect from every group.
  void join_group(SenderId sender, const std::string& group, const std::string& client_name);
  void leave_group(SenderId sender, const std::string& group);
  // Publishes a message and returns its seq. The receipt follows in the outbox: at once for
  // best-effort, reliable and gossip (accepted locally), once positioned for total order.
  Result<std::uint64_t> publish(const PublishRequest& request, Outbox& out);
  // End-to-end flow control (core/bcast/flow_control.hpp). The free room, in bytes, of each
  // group's slowest local subscriber, replacing the last report; a group with no local
  // subscriber is absent. The shell reports every round.
  void set_delivery_rooms(std::map<std::string, std::uint64_t> free_bytes_by_group);
  // Whether publish() would admit the request as far as flow control goes (always, for
  // best-effort). Peers' credit arrives through step(); publish() refuses a request without
  // credit as `busy`, its message starting "no credit".
  bool has_credit(const PublishRequest& request) const;

  void tick(Outbox& out);
  void step(const Envelope& envelope, Outbox& out);
  void on_persisted(LogIndex index, Term term, Outbox& out);
  void flush(Outbox& out);
  Result<LogIndex> propose_conf_change(const raft::ConfChange& change, Outbox& out);
  Result<void> transfer_leadership(NodeId target, Outbox& out);
  // A run-time membership request from a local client (core/membership/cluster_admin.hpp); its
  // answer comes in out.admin_results with the same request id, once committed or refused.
  void admin(std::uint64_t request_id, const AdminRequest& request, Outbox& out);

  const raft::Raft& raft() const { return raft_; }
  NodeId id() const { return raft_.id(); }
  OriginId origin() const { return origin_; }
  const TotalOrder& sequencer() const { return state_.sequencer(); }
  const GroupViews& views() const { return state_.views(); }
  const ClusterRegistry& registry() const { return state_.registry(); }
  const PeerAdmission& admission() const { return admission_; }
  std::uint64_t now_tick() const { return now_tick_; }
  const PeerTable& peers() const { return peers_; }
  const ReliableEngine& reliable() const { return reliable_; }
  const GossipEngine& gossip() const { return gossip_; }
  const DeliveryManager& delivery() const { return delivery_; }
  const TotalPipeline& total() const { return total_; }
  const FlowControl& flow() const { return flow_; }
  void set_apply_observer(ApplyObserver* observer) { observer_ = observer; }
  std::string check_invariants() const;

 private:
  Result<void> validate(const PublishRequest& request) const;
  void on_data(const Envelope& envelope, const DataPush& push, Outbox& out);
  void on_welcome(const Welcome& welcome, Outbox& out);
  // A welcome after an exclusion, taken (or already taken): shows the welcomer our positions,
  // which confirm it (see PeerTable), and asks for its own.
  void confirm_rejoin(OriginId welcomer, Outbox& out);
  // Sends again the welcomes after an exclusion that the newcomer has not confirmed.
  void resend_unconfirmed_welcomes(Outbox& out);
  void on_hello(NodeId from, const Hello& hello, Outbox& out);
  // An incarnation of some node older than the one we know.
  bool is_replaced(OriginId origin) const;
  // Replaced, or of a node removed from the cluster: its missing messages may be lost for good.
  bool is_dead(OriginId origin) const;
  // Takes an origin never to have met us: none of its messages are ours.
  void retire(OriginId origin, Outbox& out);
  // Origins that messages wait on; retires replaced ones after the grace period.
  void track_unknown_origins(Outbox& out);
  // A replaced (dead) origin's messages that no live member holds are lost: the origin's
  // streams and causal sequence continue after them. Decided after `retire_grace_ticks` without
  // progress, on recent digests from every member.
  void skip_lost_messages(Outbox& out);
  // Gives up what a dead origin's streams lack that no member in `holders` can give us: the
  // holes, else a tail peers ahead no longer store, else (causal messages need more of it) its
  // whole tail. Every skip is announced before what it lets through.
  void give_up_lost(OriginId origin, const std::vector<NodeId>& holders, Outbox& out);
  void on_contact(const Envelope& envelope, Outbox& out);
  void on_join_request(const Envelope& envelope, const JoinRequest& request, Outbox& out);
  // Leader: writes down the identities and boot counts heard that the registry lacks.
  void record_sightings(Outbox& out);
  // `resume`: cuts where a restarted peer's previous incarnation had got to (resume_cut.hpp).
  void welcome(NodeId node, OriginId incarnation, const std::optional<ResumeCuts>& resume,
               Outbox& out);
  // Cuts for the successor of an incarnation we counted until it was replaced; call before its
  // positions are forgotten.
  ResumeCuts resume_cuts_for(NodeId node) const;
  void say_hello(Outbox& out);
  // Advertises this daemon's room to its peers (and to itself) when due.
  void advertise_credit(bool hello_round, Outbox& out);
  // Announces what the streams skipped; call before anything that may deliver after it.
  void announce_stream_skips(Outbox& out);
  void to_delivery(std::vector<BroadcastMessage> ready, Outbox& out);
  // Ends every input: applies committed entries, moves total-order messages along, sends what
  // Raft has pending, stamps our incarnation on everything outgoing.
  void finish(Outbox& out);
  void apply_committed(Outbox& out);
  void sync_members();
  // Puts the group records the agreed views need into the total-order stream (ViewKeeper).
  void submit_view_records();

  NodeOptions options_;
  OriginId origin_;
  std::uint64_t now_tick_ = 0;
  PeerTable peers_;
  BestEffortEngine best_effort_;
  ReliableEngine reliable_;
  GossipEngine gossip_;
  DeliveryManager delivery_;
  NodeState state_;  // sequencer and cluster registry, from the committed log
  PeerAdmission admission_;
  ClusterAdmin admin_;
  TotalPipeline total_;
  raft::Raft raft_;
  ApplyObserver* observer_ = nullptr;
  std::uint64_t applied_since_snapshot_ = 0;
  std::uint64_t applied_bytes_since_snapshot_ = 0;
  LogIndex early_applied_ = 0;  // only with the deliver-before-commit bug
  std::uint32_t next_client_ = 0;
  std::map<SenderId, std::uint64_t> last_seq_;  // open senders
  raft::ConfState members_conf_;
  LogIndex members_committed_index_ = 0;  // while a configuration change is pending
  // The configuration in force plus, while a change is pending, the members of the committed
  // one (as learners): whom this daemon hears from and keeps messages for.
  raft::ConfState admitted_conf_;
  // Welcomes addressed to other incarnations, kept to pass on: newcomer -> welcomer -> welcome.
  std::map<OriginId, std::map<OriginId, Welcome>> relayed_welcomes_;
  std::set<OriginId> retired_;
  std::map<OriginId, std::uint64_t> unknown_since_tick_;
  struct Stall {
    std::pair<std::uint64_t, std::uint64_t> position;  // reliable, gossip arrivals
    std::uint64_t since_tick;
  };
  std::map<OriginId, Stall> stall_;  // dead origins whose messages we wait on
  // When each peer's latest digest of each mode (reliable, gossip) arrived: a stall is judged
  // only on positions reported after it began.
  struct DigestTicks {
    std::uint64_t reliable = 0;
    std::uint64_t gossip = 0;
  };
  std::map<NodeId, DigestTicks> digest_heard_tick_;
  ViewKeeper view_keeper_;
  FlowControl flow_;
  Credit last_credit_sent_;
  // The sender of this daemon's group records (connection number 0, never a client's).
  SenderId views_sender_;
  std::uint64_t views_seq_ = 0;
  Term views_leading_term_ = 0;  // the term this daemon leads, as last seen for the views
  std::uint64_t views_leading_since_tick_ = 0;
};

}  // namespace bcast
