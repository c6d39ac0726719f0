// The broadcast guarantees (docs/guarantees.md), checked from what the simulated clients
// published and what every daemon delivered and announced. It shares no code with the delivery
// manager: it sees publishes, receipts, deliveries, gap notices, welcomes and exclusions, and
// judges them against the definitions.
//
// Per delivery, at once:
//   integrity  every delivery is a message some client published (same group, mode, order,
//              payload and stream position), delivered at most once per daemon incarnation;
//   fifo       a sender's FIFO messages (per mode) in publish order;
//   causal     a causal message after every causal message its origin had delivered or sent
//              before publishing it (unless the dependency predates its origin meeting this
//              daemon), and each origin's causal messages in order;
//   total      one gseq never names two messages, gseq order agrees with each sender's publish
//              order and with causality;
//   no silent skip: a daemon passes over a message (a FIFO message of the sender between two it
//              delivered, a causal message of the origin or a causal dependency, a gseq) only
//              if it announced a gap covering it before; a gap never names a message the daemon
//              delivered, before or after the notice (order-none best-effort messages aside:
//              they are never held back).
// At the end (after healing), validity and agreement:
//   reliable/gossip: a message accepted by an origin that is still alive, or delivered by any
//              surviving daemon, is delivered by every surviving daemon whose stream of that
//              origin it follows (the origin welcomed the daemon before publishing it, and that
//              welcome, or an earlier one, reached it), or announced there as a gap. Such a gap
//              must be legitimate: the origin had stopped keeping the message for the daemon
//              (excluded it), or the origin died and every survivor that delivered the message
//              was excluded by the daemon when it gave the message up, had itself stopped
//              keeping it for the daemon, or obtained it only afterwards;
//   total:     every acknowledged gseq is delivered (or, under an installed snapshot, announced
//              as a gap) by every surviving daemon from where its deliveries started.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "bcast/types.hpp"
#include "core/bcast/message.hpp"
#include "core/outbox.hpp"

namespace bcast::sim {

class DeliveryChecker {
 public:
  using MessageKey = std::pair<SenderId, std::uint64_t>;  // (sender, seq)
  // A daemon incarnation came to life, or stopped (crashed).
  void on_start(OriginId incarnation, std::uint64_t now_us);
  // The incarnation's Raft configuration changed: members it no longer has are no longer owed.
  void on_configuration(OriginId incarnation, const raft::ConfState& conf);
  void on_stop(OriginId incarnation, std::uint64_t now_us);
  // The incarnation installed the leader's snapshot in its current step: a total-order gap may
  // follow (positions the snapshot covers).
  void on_snapshot_restored(OriginId incarnation);
  // The incarnation's step (one input and its outbox) is over.
  void on_step_done(OriginId incarnation);
  // Origin incarnation `origin` welcomed incarnation `newcomer` (epoch > 1: again, after an
  // exclusion). The newcomer is owed the origin's messages published from now on, and with
  // `from_start` (cuts at the origin's start) also every message it published before; and if it
  // counted the newcomer's predecessor, the reliable and gossip messages it published since the
  // newcomer started. `cuts.causal`: where its causal messages start for the newcomer.
  void on_welcome(OriginId origin, OriginId newcomer, std::uint32_t epoch, bool from_start,
                  const ResumeCuts& cuts, std::uint64_t now_us);
  // `incarnation` stopped counting `node` (silent too long, or never heard from): it keeps
  // nothing more for it until it welcomes an incarnation of that node again.
  void on_excluded(OriginId incarnation, NodeId node, std::uint64_t now_us);
  // The first welcome of `origin` that reached `newcomer` (directly or through a peer): the
  // origin's stream starts for it at that welcome. If none ever does (the origin died first),
  // the origin's messages are not the newcomer's to deliver.
  void on_joined(OriginId newcomer, OriginId origin, std::uint32_t epoch);
  void on_publish(OriginId origin, SenderId sender, std::uint64_t seq, const std::string& group,
                  Mode mode, Order order, const std::string& payload, std::uint64_t now_us);
  void on_receipt(const Receipt& receipt);
  void on_delivery(OriginId incarnation, const Delivery& delivery, std::uint64_t now_us);
  void on_gap(OriginId incarnation, const Gap& gap, std::uint64_t now_us);

  // Validity and agreement among the incarnations alive now. Empty if satisfied, else what is
  // missing (one example).
  std::string unmet_obligations() const;

  // The message a gseq names (once some receipt or delivery told it), and a message's group.
  std::optional<MessageKey> gseq_owner(std::uint64_t gseq) const;
  std::string group_of(const MessageKey& key) const;

  bool failed() const { return violation_.has_value(); }
  const std::string& violation() const { return *violation_; }

  std::uint64_t deliveries() const { return deliveries_; }
  std::uint64_t published() const { return messages_.size(); }
  std::uint64_t gaps() const { return gaps_; }

 private:
  using StreamId = std::pair<OriginId, Mode>;
  struct Published {
    OriginId origin = 0;
    std::string group;
    Mode mode = Mode::kReliable;
    Order order = Order::kNone;
    std::uint64_t payload_hash = 0;
    std::uint64_t published_us = 0;
    std::uint64_t stream_seq = 0;       // not total: its place in the origin's stream
    bool accepted = false;              // a successful receipt
    std::optional<std::uint64_t> gseq;  // total: from the receipt or any delivery
    std::uint64_t causal_index = 0;     // causal: its place among its origin's causal messages
    std::map<OriginId, std::uint64_t> causal_deps;  // causal: what its origin had delivered
    std::uint64_t origin_gseq_at_publish = 0;       // total: the last gseq its origin had delivered
    // Incarnations the origin had welcomed when publishing, with the welcome's epoch.
    std::map<OriginId, std::uint32_t> obliged;
    std::map<OriginId, std::uint64_t> delivered_by;  // incarnation -> when
  };
  // A time span [start, end) during which an incarnation stopped counting a node.
  struct Exclusion {
    std::uint64_t start_us = 0;
    std::uint64_t end_us = UINT64_MAX;
  };
  struct GapRange {
    std::uint64_t to = 0;
    std::uint64_t announced_us = 0;
    Gap::Reason reason = Gap::Reason::kOriginLost;
  };
  struct Incarnation {
    bool alive = true;
    std::uint64_t started_us = 0;
    std::uint64_t stopped_us = 0;
    std::set<MessageKey> delivered;
    std::map<std::pair<SenderId, Mode>, std::uint64_t> last_fifo_seq;
    // Per origin: the highest causal index delivered here, and the highest delivered or passed
    // over (with a gap).
    std::map<OriginId, std::uint64_t> causal_delivered;
    std::map<OriginId, std::uint64_t> causal_position;
    std::optional<std::uint64_t> total_next;  // the gseq that must come next (delivered or gap)
    std::optional<std::uint64_t> last_gseq;   // the last one delivered
    bool snapshot_restored = false;           // in the current step
    std::uint64_t causal_sent = 0;
    std::uint64_t stream_published[3] = {0, 0, 0};  // per mode: its stream's length
    std::map<OriginId, std::uint32_t> welcomed;     // incarnation -> epoch of the welcome
    // (newcomer, epoch) -> this origin's causal count when it sent that welcome.
    std::map<std::pair<OriginId, std::uint32_t>, std::uint64_t> causal_sent_at_welcome;
    std::map<OriginId, std::uint32_t> joined;      // origin -> epoch of its first welcome here
    std::map<OriginId, std::uint64_t> causal_cut;  // origin -> its causal count at that welcome
    std::map<NodeId, std::vector<Exclusion>> exclusions;  // nodes it stopped counting, when
    std::map<StreamId, std::map<std::uint64_t, GapRange>> stream_gaps;  // from -> range
    std::map<std::uint64_t, GapRange> total_gaps;                       // from -> range
  };

  void fail(std::string what);
  static std::string name(const MessageKey& key);
  bool alive(OriginId incarnation) const;
  // The announced gap of `at` that covers `position` of `stream`, if any.
  static const GapRange* covering(const Incarnation& at, const StreamId& stream,
                                  std::uint64_t position);
  // Whether `at` announced a gap covering published message m (for the no-silent-skip rule).
  bool announced(const Incarnation& at, const Published& m) const;
  // Whether `who` stopped counting `node` at any time after `since_us` (an exclusion that had
  // not ended by then).
  bool stopped_counting(OriginId who, NodeId node, std::uint64_t since_us) const;
  // Whether `who` did not count `node` at `when_us`.
  bool not_counting_at(OriginId who, NodeId node, std::uint64_t when_us) const;
  // Whether m may be announced as a gap at `member` (see the top of the file). Empty if so,
  // else why not.
  std::string gap_illegitimate(const MessageKey& key, const Published& m, OriginId member,
                               const GapRange& gap) const;
  // Whether `member` follows the stream m is in from before m (see on_joined).
  bool owed(const Published& m, OriginId member) const;
  // A delivery at `who` passes over `skipped`: fails unless a gap announced it.
  bool pass_over(const Incarnation& at, const MessageKey& skipped, const std::string& context);
  void check_fifo(Incarnation& at, const MessageKey& key, const Published& m, OriginId who);
  void check_causal(Incarnation& at, const MessageKey& key, const Published& m, OriginId who);
  void check_total(Incarnation& at, const MessageKey& key, Published& m, const Delivery& delivery,
                   OriginId who);
  // A total-order message got its gseq: unique, and in its sender's publish order.
  void assign_gseq(const MessageKey& key, Published& m, std::uint64_t gseq);
  void on_stream_gap(Incarnation& at, OriginId who, const Gap& gap, std::uint64_t now_us);
  void on_total_gap(Incarnation& at, OriginId who, const Gap& gap, std::uint64_t now_us);

  std::map<MessageKey, Published> messages_;
  std::map<OriginId, Incarnation> incarnations_;
  std::map<std::uint64_t, MessageKey> gseq_owner_;
  std::map<std::pair<SenderId, Mode>, std::vector<std::uint64_t>> fifo_seqs_;  // published
  std::map<OriginId, std::vector<MessageKey>> causal_by_index_;  // per origin, index - 1
  std::map<StreamId, std::vector<MessageKey>> stream_messages_;  // per stream, stream_seq - 1
  std::map<SenderId, std::map<std::uint64_t, std::uint64_t>> total_gseq_by_seq_;  // per sender
  std::uint64_t deliveries_ = 0;
  std::uint64_t gaps_ = 0;
  std::optional<std::string> violation_;
};

}  // namespace bcast::sim
