// The effects of one or more calls into the core, collected for the I/O shell to carry out.
//
// Core objects never perform I/O: every input method appends what must happen to an Outbox,
// and the driver (core/driver.hpp) applies it in one fixed order: send what does not depend on
// this round's writes, persist, send the rest, deliver, then report what was persisted back to
// the core. Persisting before sending is what makes a vote or an append acknowledgement safe to
// send: it is on disk before anyone hears of it.
#pragma once

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "bcast/result.hpp"
#include "bcast/types.hpp"
#include "core/bcast/message.hpp"
#include "core/bcast/peer_messages.hpp"
#include "core/bcast/resume_cut.hpp"
#include "core/membership/membership_messages.hpp"
#include "core/raft/message.hpp"
#include "core/raft/types.hpp"
#include "core/views/group_views.hpp"

namespace bcast {

// State to make durable. Storage applies the parts in the order declared: snapshot, entries,
// hard state; then, if `sync`, makes all of it durable before returning.
struct PersistRequest {
  // A snapshot to store. Stored entries at or below its index are dropped; if
  // `snapshot_resets_log`, every stored entry is dropped (the leader's snapshot replaced a log
  // that disagreed with it).
  std::optional<raft::Snapshot> snapshot;
  bool snapshot_resets_log = false;

  // Contiguous entries to append. If the first index is at or below the last stored index, the
  // stored entries from that index on are replaced (Raft truncates a conflicting suffix).
  std::vector<raft::Entry> entries;

  std::optional<raft::HardState> hard_state;

  // True when the request holds something Raft's safety depends on (a new term or vote, or
  // entries that will be acknowledged); false for commit-index-only updates.
  bool sync = false;

  bool empty() const { return !snapshot && entries.empty() && !hard_state; }

  // Adds entries so that `entries` stays contiguous: a new batch starting at or below the last
  // pending index replaces the pending tail from there.
  void append_entries(std::vector<raft::Entry> batch);
  void set_snapshot(raft::Snapshot snap, bool resets_log);
};

// Every message between daemons.
using PeerMessage =
    std::variant<raft::Message, DataPush, Digest, Hello, Welcome, TotalForward, Refusal,
                 JoinRequest, JoinResponse, AdminForward, AdminResult, Credit>;

struct Envelope {
  NodeId from = kNoNode;
  NodeId to = kNoNode;  // kNoNode only for a JoinRequest: "whichever member you are"
  PeerMessage message;
  // The sending daemon's incarnation; the node stamps it on everything it sends, so a peer
  // notices a restart from any message.
  OriginId origin = 0;
  // The sender's cluster and the identity of its data directory, also stamped on everything:
  // a peer refuses a message from another cluster or from a node id bound to another identity.
  std::uint64_t cluster_id = 0;
  std::uint64_t identity = 0;
};

// Something an operator or test may want to observe; never needed for correctness.
struct Event {
  enum class Kind : std::uint8_t {
    kBecameLeader,
    kBecameFollower,
    kBecameCandidate,
    kConfigurationChanged,
    kSnapshotRestored,
    kPeerWelcomed,  // `peer`: an incarnation this daemon now counts as a member (`epoch`)
    // `node`: a member this daemon stopped counting (silent too long); `peer` its incarnation,
    // or 0 if the member was never heard from since this daemon started.
    kPeerExcluded,
    // `peer`: an origin's first welcome reached us (`epoch`: 1 unless earlier ones were lost);
    // its messages after the welcome's cuts are ours.
    kJoinedOrigin,
    kGaveUp,         // `peer`: a dead origin's missing messages were given up as lost
    kRetired,        // `peer`: a dead origin taken never to have met us
    kRefusedPeer,    // `node`: we refused its messages (`refusal` says why)
    kRefusedByPeer,  // `node`: it refused ours (`refusal` says why)
  };
  Kind kind;
  Term term = 0;
  NodeId leader = kNoNode;
  OriginId peer = 0;
  NodeId node = kNoNode;    // kPeerExcluded, kRefusedPeer, kRefusedByPeer
  std::uint32_t epoch = 0;  // kPeerWelcomed, kJoinedOrigin
  // kPeerWelcomed: the welcome's cuts are at our streams' start, so what we published before
  // it is the peer's too.
  bool from_start = false;
  // kPeerWelcomed: where our streams start for the peer (what we owe it is above them).
  ResumeCuts cuts;
  std::optional<Refusal> refusal;
};

// The answer to a publish: its sequence number and, for total order, its global position; or
// why it was refused. Sent once the service promises the message (see docs/guarantees.md).
struct Receipt {
  SenderId sender = 0;
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> gseq;
  std::optional<Error> error;
};

// Whether `envelope` may only leave once the Outbox's persist request is durable: votes, vote
// requests and every Raft response (they promise a term, a vote or stored entries). A leader's
// replication traffic (Append, Heartbeat, InstallSnapshot, TimeoutNow) and all dissemination
// messages promise nothing about this node's disk, so they leave first: the leader writes its
// log in parallel with its followers (Raft thesis §10.2.1) and counts itself only once durable.
bool waits_for_persist(const Envelope& envelope);

struct Outbox;
void send_to(Outbox& out, NodeId from, NodeId to, PeerMessage message);

// A gap notice and its place among the deliveries of its Outbox: it comes right before
// deliveries[before_delivery] (or after all of them, if that is the end).
struct GapNotice {
  Gap gap;
  std::size_t before_delivery = 0;
};

// A group's new agreed view and its place among the deliveries of its Outbox, as for gaps.
struct ViewNotice {
  ViewChange view;
  std::size_t before_delivery = 0;
};

struct Outbox {
  PersistRequest persist;
  std::vector<Envelope> messages;
  std::vector<Delivery> deliveries;  // in delivery order
  std::vector<GapNotice> gaps;       // interleaved with the deliveries (see GapNotice)
  std::vector<ViewNotice> views;     // interleaved with the deliveries, after gaps at one place
  std::vector<Receipt> receipts;
  std::vector<Event> events;
  std::vector<AdminResult> admin_results;  // answers to this daemon's Node::admin requests

  bool empty() const {
    return persist.empty() && messages.empty() && deliveries.empty() && gaps.empty() &&
           views.empty() && receipts.empty() && events.empty() && admin_results.empty();
  }
};

// Announces `gap` before any delivery appended after this call.
void announce_gap(Outbox& out, Gap gap);
// Announces `view` before any delivery appended after this call.
void announce_view(Outbox& out, ViewChange view);

}  // namespace bcast
