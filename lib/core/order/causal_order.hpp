// Causal order, tracked per daemon incarnation with vector clocks: if a daemon delivered (or
// sent) causal message m1 before one of its clients publishes causal message m2, every daemon
// delivers m1 before m2.
//
// Each causal message carries its origin's clock: for every origin, how many of that origin's
// causal messages the publisher had delivered, and for the publisher itself how many it had
// sent, this one included. A daemon delivers m from origin O once it has delivered exactly
// clock[O] - 1 of O's and at least clock[K] of every other K's.
//
// Counting starts at each origin's causal cut (from its Welcome): messages sent before an origin
// met this incarnation count as delivered here. A message depending on an origin whose cut is not
// known yet waits for it. An incarnation replaced before it ever welcomed us gets the cut
// "everything" (set_cut with UINT64_MAX): none of its messages are ours to wait for.
//
// Counts move past a message that was not delivered only where its stream skipped it (a rejoin's
// cut, a dead origin's lost messages: the node announces those gaps first), or, for a message
// that arrived but still waited for its causal past when a rejoin's cut passed it, by handing it
// back as dropped (set_cut), for the node to announce. So a message whose dependency was
// skipped is delivered only after that skip was announced.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <vector>

#include "core/bcast/message.hpp"

namespace bcast {

class CausalOrder {
 public:
  explicit CausalOrder(OriginId self) : self_(self) { delivered_[self] = 0; }

  // The clock for our next causal message (counts it as sent).
  CausalClock stamp();
  // An origin's Welcome: `cut` of its causal messages came before we met it (or, on a rejoin,
  // before it welcomed us again). What becomes deliverable is appended to `ready`; held messages
  // of the origin that a rejoin's cut passes, never to be delivered, to `dropped`.
  void set_cut(OriginId origin, std::uint64_t cut, bool rejoin,
               std::vector<BroadcastMessage>& ready, std::vector<BroadcastMessage>& dropped);
  // A new causal message (our own included); what becomes deliverable is appended to `ready`.
  void on_message(BroadcastMessage message, std::vector<BroadcastMessage>& ready);
  std::size_t held() const { return held_count_; }
  // The lowest stream position of `stream` among the messages held back (0: none held).
  std::uint64_t lowest_held(StreamKey stream) const;
  // Gives up on the missing causal messages of a dead origin: the counts held messages need from
  // it that are not held here are lost. What becomes deliverable is appended to `ready`.
  void skip_missing(OriginId origin, std::vector<BroadcastMessage>& ready);
  // Whether skip_missing(origin) would give up anything: held messages need counts of the
  // origin that are neither delivered nor held.
  bool misses(OriginId origin) const;
  // Origins whose causal messages held messages wait on (their own or as dependencies).
  std::vector<OriginId> awaited_origins() const;
  // Whether the origin's cut is known (it welcomed us, or is retired).
  bool knows(OriginId origin) const { return delivered_.contains(origin); }
  // Origins that held messages are from or depend on, whose cut is not known.
  std::vector<OriginId> unknown_origins() const;
  // Causal messages we have sent: a newcomer's cut.
  std::uint64_t own_sent() const { return own_sent_; }

 private:
  // A held message is deliverable when its dependencies on other origins are met; its place in
  // its own origin's sequence is checked by keeping held messages per origin, by position.
  bool dependencies_met(const BroadcastMessage& message) const;
  void release(std::vector<BroadcastMessage>& ready);
  void skip_lost();  // counts past lost ones
  // The highest count of `origin` that held messages need (their own place, or a dependency).
  std::uint64_t needed(OriginId origin) const;

  OriginId self_;
  std::uint64_t own_sent_ = 0;
  std::map<OriginId, std::uint64_t> delivered_;  // present once the origin's cut is known
  // Per origin, the position of the last message actually delivered here: what our messages
  // depend on (delivered_ also moves over cuts and lost messages).
  std::map<OriginId, std::uint64_t> delivered_here_;
  std::map<OriginId, std::set<std::uint64_t>> lost_;  // counts of a dead origin never obtained
  std::map<OriginId, std::map<std::uint64_t, BroadcastMessage>> held_;  // origin -> position
  std::size_t held_count_ = 0;
};

}  // namespace bcast
