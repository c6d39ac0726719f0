// The broadcast guarantees (docs/guarantees.md), checked from what the simulated clients
// published and what every daemon delivered. It shares no code with the delivery manager: it
// sees publishes, receipts, deliveries and welcomes, and judges them against the definitions.
//
// Per delivery, at once:
//   integrity  every delivery is a message some client published (same group, mode, order and
//              payload), delivered at most once per daemon incarnation;
//   fifo       a sender's FIFO messages (per mode) in publish order; for reliable and gossip
//              with no gap between two delivered ones;
//   causal     a causal message after every causal message its origin had delivered or sent
//              before publishing it (unless the dependency predates its origin meeting this
//              daemon), and each origin's causal messages in order without gaps;
//   total      one gseq never names two messages, each daemon delivers gseqs consecutively,
//              gseq order agrees with each sender's publish order and with causality.
// At the end (after healing), validity and agreement:
//   reliable/gossip: a message accepted by an origin that is still alive, or delivered by any
//              surviving daemon, is delivered by every surviving daemon the origin had welcomed
//              before publishing it;
//   total:     every acknowledged gseq is delivered by every surviving daemon from where its
//              deliveries started.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bcast/types.hpp"
#include "core/bcast/message.hpp"
#include "core/outbox.hpp"

namespace bcast::sim {

class DeliveryChecker {
 public:
  // A daemon incarnation came to life (or was welcomed by `origin`: see on_welcome).
  void on_start(OriginId incarnation);
  void on_stop(OriginId incarnation);
  // The incarnation installed the leader's snapshot: it skips the total-order positions the
  // snapshot covers (it fell behind the leader's retained log); its total deliveries restart.
  void on_total_gap(OriginId incarnation);
  // Origin incarnation `origin` welcomed incarnation `newcomer` (again, after an exclusion).
  void on_welcome(OriginId origin, OriginId newcomer, std::uint64_t now_us);
  // `origin` excluded `member` (silent too long): it stops keeping its messages for it, and the
  // member, if it returns, skips to the cuts of its next welcome. Messages of `origin` published
  // up to now are then no longer owed to `member`, and it may skip them.
  void on_excluded(OriginId origin, OriginId member, std::uint64_t now_us);
  // The origin's welcome reached the newcomer (directly or through a peer). Until it does, or if
  // it never does because the origin died, the origin's messages are not the newcomer's to
  // deliver.
  void on_joined(OriginId newcomer, OriginId origin);
  void on_publish(OriginId origin, SenderId sender, std::uint64_t seq, const std::string& group,
                  Mode mode, Order order, const std::string& payload, std::uint64_t now_us);
  void on_receipt(const Receipt& receipt);
  void on_delivery(OriginId incarnation, const Delivery& delivery, std::uint64_t now_us);

  // Validity and agreement among the incarnations alive now. Empty if satisfied, else what is
  // missing (one example).
  std::string unmet_obligations() const;

  bool failed() const { return violation_.has_value(); }
  const std::string& violation() const { return *violation_; }

  std::uint64_t deliveries() const { return deliveries_; }
  std::uint64_t published() const { return messages_.size(); }

 private:
  using MessageKey = std::pair<SenderId, std::uint64_t>;
  struct Published {
    OriginId origin = 0;
    std::string group;
    Mode mode = Mode::kReliable;
    Order order = Order::kNone;
    std::uint64_t payload_hash = 0;
    std::uint64_t published_us = 0;
    bool accepted = false;              // a successful receipt
    std::optional<std::uint64_t> gseq;  // total: from the receipt or any delivery
    std::uint64_t causal_index = 0;     // causal: its place among its origin's causal messages
    std::map<OriginId, std::uint64_t> causal_deps;  // causal: what its origin had delivered
    std::uint64_t origin_gseq_at_publish = 0;       // total: the last gseq its origin had delivered
    std::set<OriginId> obliged;  // incarnations welcomed by the origin before publishing
    std::set<OriginId> delivered_by;
  };
  struct Incarnation {
    bool alive = true;
    std::set<MessageKey> delivered;
    std::map<std::pair<SenderId, Mode>, std::uint64_t> last_fifo_seq;
    std::map<OriginId, std::uint64_t> causal_delivered;  // highest causal index per origin
    std::optional<std::uint64_t> last_gseq;
    std::optional<std::uint64_t> first_gseq;
    std::uint64_t causal_sent = 0;
    std::set<OriginId> welcomed;                   // incarnations this origin has welcomed
    std::map<OriginId, std::uint64_t> causal_cut;  // origin -> its causal count at the welcome
    std::set<OriginId> joined;                     // origins whose welcome reached it
    std::map<OriginId, std::uint64_t> last_excluded_us;  // members it excluded, and when
    std::map<OriginId, std::uint64_t> last_welcomed_us;  // members it welcomed, and when
  };
  // A daemon may pass over messages of a dead origin that no survivor holds; whether none did
  // is known only at the end, so passed-over messages are recorded and judged then.
  struct PassedOver {
    OriginId at;
    MessageKey key;
    std::string context;
  };

  void fail(std::string what);
  static std::string name(const MessageKey& key);
  bool alive(OriginId incarnation) const;
  // Whether m is not owed to `member` because of an exclusion: m's origin excluded it after m
  // was published, or m was published between the exclusion and the next welcome (whose cuts
  // the member skips to).
  bool waived(const Published& m, OriginId member) const;
  // Whether a dead origin's m may be missing at `member` because every surviving daemon that
  // delivered it excluded `member` after m was published (and so stopped keeping it for it).
  bool held_only_by_excluders(const Published& m, OriginId member) const;
  // A delivery at `at` skips `skipped`: fine only if its origin is dead and, in the end, no
  // surviving daemon delivered it. Returns false (and fails) if the origin is alive.
  bool pass_over(OriginId at, const MessageKey& skipped, const std::string& context);
  void check_fifo(Incarnation& at, const MessageKey& key, const Published& m, OriginId who);
  void check_causal(Incarnation& at, const MessageKey& key, const Published& m, OriginId who);
  void check_total(Incarnation& at, const MessageKey& key, Published& m, const Delivery& delivery,
                   OriginId who);
  // A total-order message got its gseq: unique, and in its sender's publish order.
  void assign_gseq(const MessageKey& key, Published& m, std::uint64_t gseq);

  std::map<MessageKey, Published> messages_;
  std::map<OriginId, Incarnation> incarnations_;
  std::map<std::uint64_t, MessageKey> gseq_owner_;
  std::map<std::pair<SenderId, Mode>, std::vector<std::uint64_t>> fifo_seqs_;  // published
  std::map<OriginId, std::vector<MessageKey>> causal_by_index_;  // per origin, index - 1
  std::map<SenderId, std::map<std::uint64_t, std::uint64_t>> total_gseq_by_seq_;  // per sender
  std::vector<PassedOver> passed_over_;
  std::uint64_t deliveries_ = 0;
  std::optional<std::string> violation_;
};

}  // namespace bcast::sim
