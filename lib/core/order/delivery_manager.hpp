// The delivery manager: every message that arrives (or that a local client publishes) passes
// through here and leaves, as a Delivery in the outbox, once the order it asked for allows:
//
//   none   at once (duplicates were already dropped by the engines)
//   fifo   reliable/gossip: once its stream has no gap before it (StreamFifo);
//          best-effort: in order, gaps skipped after `best_effort_hold_ticks` (BestEffortFifo)
//   causal once its causal past is delivered (CausalOrder)
//   total  not here: positions come from the Raft log (TotalOrder)
//
// What it will never deliver it announces as a Gap, before anything after it: best-effort FIFO
// skips, and causal messages that a rejoin's cut passed while they waited. (Stream skips are the
// node's to announce, before it tells the manager the streams moved.)
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "core/bcast/message.hpp"
#include "core/order/best_effort_fifo.hpp"
#include "core/order/causal_order.hpp"
#include "core/order/stream_fifo.hpp"
#include "core/outbox.hpp"

namespace bcast {

class DeliveryManager {
 public:
  // `received_upto` tells how far a reliable or gossip stream has arrived without gaps.
  using StreamProgress = std::function<std::uint64_t(StreamKey)>;

  DeliveryManager(OriginId self, std::uint32_t best_effort_hold_ticks, StreamProgress progress,
                  bool bug_skip_hold_back = false)
      : causal_(self),
        best_effort_fifo_(best_effort_hold_ticks),
        progress_(std::move(progress)),
        bug_skip_hold_back_(bug_skip_hold_back) {}

  // A new message, ready for ordering.
  void on_message(BroadcastMessage message, std::uint64_t now_tick, Outbox& out);
  // An origin's cuts became known: its streams may have advanced, its causal messages may flow.
  void on_cuts(OriginId origin, std::uint64_t causal_cut, bool rejoin, Outbox& out);
  // An origin's reliable or gossip stream advanced without a new message (messages given up
  // as lost): FIFO messages waiting on it may go.
  void on_stream_progress(OriginId origin, Outbox& out);
  void tick(std::uint64_t now_tick, Outbox& out);
  // A dead origin's lost messages: its streams and causal sequence continue after them.
  void skip_missing(OriginId origin, Outbox& out);

  CausalOrder& causal() { return causal_; }
  const CausalOrder& causal() const { return causal_; }
  std::size_t held() const;
  std::uint64_t best_effort_skipped() const { return best_effort_fifo_.skipped(); }

 private:
  static void deliver(std::vector<BroadcastMessage>& ready, Outbox& out);

  StreamFifo stream_fifo_;
  CausalOrder causal_;
  BestEffortFifo best_effort_fifo_;
  StreamProgress progress_;
  bool bug_skip_hold_back_;
};

}  // namespace bcast
