// The path of a total-order message from its origin to a position in the global order.
//
// Origin side: the message is numbered in the origin's total stream and kept pending; at every
// flush pending messages go to the current leader (again after `retry_ticks`, or at once when the
// leader changes) until the sequencer's state machine has given them positions. Then the origin
// issues the receipt with the gseq. A message without a position after `timeout_ticks` (no
// quorum reachable) is refused with a timeout error; it may still be ordered later, as with any
// timeout. At most `max_pending` messages wait; beyond that publishing is refused as busy.
//
// Leader side: forwarded messages wait in one buffer per origin and are proposed strictly in
// each origin's stream order, batched into as few Raft entries as `max_batch_bytes` allows. A
// new leader first reads what is already in its log (proposed by earlier leaders, maybe not yet
// committed) so it neither skips nor repeats a message.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "bcast/result.hpp"
#include "core/bcast/message.hpp"
#include "core/bcast/peer_messages.hpp"
#include "core/order/total_order.hpp"
#include "core/outbox.hpp"
#include "core/raft/raft.hpp"

namespace bcast {

struct TotalOptions {
  std::uint32_t retry_ticks = 10;
  std::uint32_t timeout_ticks = 300;  // 3 s at the 10 ms tick: several election timeouts
  std::uint32_t max_pending = 10000;
  std::uint64_t max_batch_bytes = 1 << 20;
  std::uint32_t max_buffered_per_origin = 20000;  // leader side
};

class TotalPipeline {
 public:
  TotalPipeline(NodeId self, OriginId origin, const TotalOptions& options)
      : self_(self), origin_(origin), options_(options) {}

  // Origin: numbers the message in our total stream and keeps it pending.
  Result<void> submit(BroadcastMessage& message, std::uint64_t now_tick);
  // Leader: messages an origin forwarded.
  void on_forward(const TotalForward& forward);
  // After every input: receipts for our messages that got positions, forwarding of pending
  // messages, and (on the leader) proposals of buffered messages in order.
  void flush(raft::Raft& raft, TotalOrder& sequencer, std::uint64_t now_tick, Outbox& out);
  // Refuses pending messages that waited too long.
  void tick(std::uint64_t now_tick, Outbox& out);

  std::size_t pending() const { return pending_.size(); }
  std::size_t buffered() const;

 private:
  struct Pending {
    BroadcastMessage message;
    std::uint64_t submitted_tick = 0;
    std::uint64_t sent_tick = 0;
    NodeId sent_to = kNoNode;
  };

  void confirm(TotalOrder& sequencer, Outbox& out);
  void forward(const raft::Raft& raft, std::uint64_t now_tick, Outbox& out);
  void buffer(const BroadcastMessage& message);
  void start_leading(const raft::Raft& raft, const TotalOrder& sequencer);
  void propose(raft::Raft& raft, Outbox& out);

  NodeId self_;
  OriginId origin_;
  TotalOptions options_;
  std::uint64_t own_last_seq_ = 0;
  std::map<std::uint64_t, Pending> pending_;  // by total-stream number
  Term leading_term_ = 0;                     // 0 while not leading
  std::map<OriginId, std::uint64_t> proposed_upto_;
  std::map<OriginId, std::map<std::uint64_t, BroadcastMessage>> buffered_;
};

}  // namespace bcast
