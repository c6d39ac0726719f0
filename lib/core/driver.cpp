#include "core/driver.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <utility>

namespace bcast {

namespace {

bool answers_heartbeat(const Envelope& envelope) {
  const auto* raft = std::get_if<raft::Message>(&envelope.message);
  return raft != nullptr && raft->type == raft::MessageType::kHeartbeatResponse;
}

}  // namespace

bool Driver::changes_term_or_vote(const PersistRequest& request) {
  if (!request.hard_state) return false;
  const std::pair<Term, NodeId> term_vote{request.hard_state->term, request.hard_state->vote};
  if (written_term_vote_ == term_vote) return false;
  written_term_vote_ = term_vote;
  return true;
}

void Driver::apply(Outbox& out) {
  Outbox batch = std::move(out);
  out = Outbox{};
  auto& messages = batch.messages;
  const bool promises_term_or_vote = changes_term_or_vote(batch.persist);
  // A heartbeat's answer promises only the term: once that is durable it need not queue behind
  // entries still being written (a 16 MiB append would hold it past the leader's quorum check).
  const bool term_durable = !promises_term_or_vote && term_or_vote_writes_ == 0;
  const auto first_waiting =
      std::stable_partition(messages.begin(), messages.end(), [&](const Envelope& e) {
        return !waits_for_persist(e) || (term_durable && answers_heartbeat(e));
      });
  for (auto it = messages.begin(); it != first_waiting; ++it) io_.send(std::move(*it));
  std::vector<Envelope> waiting(std::make_move_iterator(first_waiting),
                                std::make_move_iterator(messages.end()));
  if (!batch.persist.empty()) {
    Write write;
    write.waiting = std::move(waiting);
    write.promises_term_or_vote = promises_term_or_vote;
    if (promises_term_or_vote) ++term_or_vote_writes_;
    if (!batch.persist.entries.empty()) {
      const raft::Entry& last = batch.persist.entries.back();
      write.last = std::make_pair(last.index, last.term);
    }
    in_flight_.push_back(std::move(write));
    // A compaction starts after the deliveries below: the history the daemon keeps of them must
    // be durable before the log forgets the entries (DriverIo::persist syncs it first).
    if (!batch.persist.snapshot) io_.persist(batch.persist);
  } else if (!in_flight_.empty()) {
    // It may answer for entries an earlier write still carries: it waits for that write too.
    auto& held = in_flight_.back().waiting;
    held.insert(held.end(), std::make_move_iterator(waiting.begin()),
                std::make_move_iterator(waiting.end()));
  } else {
    for (Envelope& envelope : waiting) io_.send(std::move(envelope));
  }
  auto gap = batch.gaps.begin();
  auto view = batch.views.begin();
  const auto announce_upto = [&](std::size_t place) {
    for (; gap != batch.gaps.end() && gap->before_delivery <= place; ++gap) {
      io_.announce_gap(gap->gap);
    }
    for (; view != batch.views.end() && view->before_delivery <= place; ++view) {
      io_.announce_view(view->view);
    }
  };
  for (std::size_t i = 0; i < batch.deliveries.size(); ++i) {
    announce_upto(i);
    io_.deliver(std::move(batch.deliveries[i]));
  }
  announce_upto(SIZE_MAX);
  if (batch.persist.snapshot) io_.persist(batch.persist);
  for (Receipt& receipt : batch.receipts) io_.acknowledge(std::move(receipt));
  for (const Event& event : batch.events) io_.observe(event);
  for (AdminResult& result : batch.admin_results) io_.answer(std::move(result));
}

void Driver::complete_oldest_write(Outbox& out) {
  if (in_flight_.empty()) return;
  Write write = std::move(in_flight_.front());
  in_flight_.pop_front();
  if (write.promises_term_or_vote) --term_or_vote_writes_;
  for (Envelope& envelope : write.waiting) io_.send(std::move(envelope));
  if (write.last) report_persisted_(write.last->first, write.last->second, out);
}

void apply_outbox(Outbox& out, DriverIo& io, const PersistedReport& report_persisted) {
  Driver driver(io, report_persisted);
  driver.apply(out);
  while (driver.writes_in_flight() > 0) {
    driver.complete_oldest_write(out);
    driver.apply(out);
  }
}

}  // namespace bcast
