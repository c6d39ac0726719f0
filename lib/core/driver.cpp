#include "core/driver.hpp"

#include <utility>

namespace bcast {

void apply_outbox(Outbox& out, DriverIo& io, const PersistedReport& report_persisted) {
  while (!out.empty()) {
    Outbox batch = std::move(out);
    out = Outbox{};
    if (!batch.persist.empty()) io.persist(batch.persist);
    for (Envelope& envelope : batch.messages) io.send(std::move(envelope));
    for (Delivery& delivery : batch.deliveries) io.deliver(std::move(delivery));
    for (Receipt& receipt : batch.receipts) io.acknowledge(std::move(receipt));
    for (const Event& event : batch.events) io.observe(event);
    if (!batch.persist.entries.empty()) {
      const raft::Entry& last = batch.persist.entries.back();
      report_persisted(last.index, last.term, out);
    }
  }
}

}  // namespace bcast
