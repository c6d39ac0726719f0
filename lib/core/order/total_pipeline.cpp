#include "core/order/total_pipeline.hpp"

#include <algorithm>

namespace bcast {

Result<void> TotalPipeline::submit(BroadcastMessage& message, std::uint64_t now_tick) {
  if (pending_.size() >= options_.max_pending) {
    return make_error(ErrorCode::kBusy, "too many total-order messages waiting for a position");
  }
  message.stream_seq = ++own_last_seq_;
  pending_.emplace(message.stream_seq, Pending{message, now_tick, 0, kNoNode});
  return {};
}

void TotalPipeline::on_forward(const TotalForward& forward) {
  for (const BroadcastMessage& m : forward.messages) buffer(m);
}

void TotalPipeline::buffer(const BroadcastMessage& message) {
  if (leading_term_ == 0) return;  // not leading: the origin will retry with the leader
  auto& queue = buffered_[message.origin()];
  if (message.stream_seq <= proposed_upto_[message.origin()]) return;  // already proposed
  if (queue.size() >= options_.max_buffered_per_origin) return;        // the origin retries
  queue.emplace(message.stream_seq, message);
}

void TotalPipeline::flush(raft::Raft& raft, TotalOrder& sequencer, std::uint64_t now_tick,
                          Outbox& out) {
  confirm(sequencer, out);
  if (raft.role() == raft::Role::kLeader) {
    if (leading_term_ != raft.term()) start_leading(raft, sequencer);
  } else {
    leading_term_ = 0;
    buffered_.clear();
  }
  forward(raft, now_tick, out);
  if (leading_term_ != 0) propose(raft, out);
}

void TotalPipeline::confirm(TotalOrder& sequencer, Outbox& out) {
  for (const auto& [stream_seq, gseq] : sequencer.take_own_sequenced()) {
    auto it = pending_.find(stream_seq);
    if (it == pending_.end() || it->second.message.withdrawn) continue;  // refused earlier
    const BroadcastMessage& m = it->second.message;
    out.receipts.push_back(Receipt{m.sender, m.seq, gseq, std::nullopt});
    pending_.erase(it);
  }
  // Placeholders now in place, and positions taken through a snapshot (which are not listed one
  // by one: confirmed without the gseq).
  const std::uint64_t upto = sequencer.sequenced_upto(origin_);
  while (!pending_.empty() && pending_.begin()->first <= upto) {
    const BroadcastMessage& m = pending_.begin()->second.message;
    if (!m.withdrawn) out.receipts.push_back(Receipt{m.sender, m.seq, std::nullopt, std::nullopt});
    pending_.erase(pending_.begin());
  }
}

void TotalPipeline::forward(const raft::Raft& raft, std::uint64_t now_tick, Outbox& out) {
  const NodeId leader = raft.leader();
  if (leader == kNoNode) return;
  TotalForward batch;
  std::uint64_t bytes = 0;
  for (auto& [stream_seq, pending] : pending_) {
    const bool due =
        pending.sent_to != leader || now_tick - pending.sent_tick >= options_.retry_ticks;
    if (!due) continue;
    pending.sent_to = leader;
    pending.sent_tick = now_tick;
    if (leader == self_) {
      buffer(pending.message);
      continue;
    }
    bytes += pending.message.payload ? pending.message.payload->size() : 0;
    batch.messages.push_back(pending.message);
    if (bytes >= options_.max_batch_bytes) break;
  }
  if (!batch.messages.empty()) send_to(out, self_, leader, std::move(batch));
}

void TotalPipeline::start_leading(const raft::Raft& raft, const TotalOrder& sequencer) {
  leading_term_ = raft.term();
  buffered_.clear();
  proposed_upto_ = sequencer.sequenced();
  // Entries already in our log (ours or earlier leaders') will commit before anything we
  // propose: count their messages as proposed.
  const raft::RaftLog& log = raft.log();
  for (LogIndex i = log.applied() + 1; i <= log.last_index(); ++i) {
    const raft::Entry& entry = log.at(i);
    if (entry.type != raft::EntryType::kNormal) continue;
    auto batch = decode_message_batch(entry.data);
    if (!batch) continue;
    for (const BroadcastMessage& m : *batch) {
      std::uint64_t& upto = proposed_upto_[m.origin()];
      upto = std::max(upto, m.stream_seq);
    }
  }
}

void TotalPipeline::propose(raft::Raft& raft, Outbox& out) {
  std::vector<BroadcastMessage> batch;
  std::uint64_t bytes = 0;
  std::map<OriginId, std::uint64_t> advanced = proposed_upto_;
  auto submit_batch = [&]() {
    if (batch.empty()) return true;
    if (!raft.propose(encode_message_batch(batch), out).ok()) return false;  // busy: later
    proposed_upto_ = advanced;
    batch.clear();
    bytes = 0;
    return true;
  };
  for (auto& [origin, queue] : buffered_) {
    std::uint64_t& upto = advanced[origin];
    while (!queue.empty() && queue.begin()->first <= upto) queue.erase(queue.begin());
    while (!queue.empty() && queue.begin()->first == upto + 1) {
      bytes += queue.begin()->second.payload ? queue.begin()->second.payload->size() : 0;
      batch.push_back(std::move(queue.begin()->second));
      queue.erase(queue.begin());
      ++upto;
      if (bytes >= options_.max_batch_bytes && !submit_batch()) return;
    }
  }
  submit_batch();
}

void TotalPipeline::tick(std::uint64_t now_tick, Outbox& out) {
  for (auto& [stream_seq, pending] : pending_) {
    BroadcastMessage& m = pending.message;
    if (m.withdrawn || now_tick - pending.submitted_tick < options_.timeout_ticks) continue;
    out.receipts.push_back(Receipt{
        m.sender, m.seq, std::nullopt,
        make_error(ErrorCode::kTimeout,
                   "no position in the total order within the timeout (no quorum reachable?); "
                   "it may still be delivered if the leader already had it")});
    // It stays pending as a placeholder without its payload, so that the origin's later
    // messages are not held up behind a hole in its stream.
    m.withdrawn = true;
    m.payload.reset();
    pending.sent_to = kNoNode;  // send the placeholder at the next flush
  }
}

std::size_t TotalPipeline::buffered() const {
  std::size_t count = 0;
  for (const auto& [origin, queue] : buffered_) count += queue.size();
  return count;
}

}  // namespace bcast
