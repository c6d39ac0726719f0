#include "core/driver.hpp"

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <utility>

namespace bcast {

void Driver::apply(Outbox& out) {
  Outbox batch = std::move(out);
  out = Outbox{};
  auto& messages = batch.messages;
  const auto first_waiting = std::stable_partition(
      messages.begin(), messages.end(), [](const Envelope& e) { return !waits_for_persist(e); });
  for (auto it = messages.begin(); it != first_waiting; ++it) io_.send(std::move(*it));
  std::vector<Envelope> waiting(std::make_move_iterator(first_waiting),
                                std::make_move_iterator(messages.end()));
  if (!batch.persist.empty()) {
    Write write;
    write.waiting = std::move(waiting);
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
