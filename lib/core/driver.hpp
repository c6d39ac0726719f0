// The one place that fixes the order in which a core's effects reach the world.
//
// Both the daemon and the simulator hand every Outbox to apply_outbox. The order is what makes
// Raft safe on real disks: state is persisted (and synced when the request says so) before any
// message that depends on it is sent, and a core learns that its own entries are durable only
// after they are.
#pragma once

#include <functional>

#include "bcast/types.hpp"
#include "core/outbox.hpp"

namespace bcast {

// The I/O a driver needs. Implemented by the daemon (disk, ZeroMQ) and the simulator (simulated
// disk and network).
class DriverIo {
 public:
  virtual ~DriverIo() = default;
  // Carries out the request; when request.sync it is durable on return. A storage failure must
  // not return: the implementation stops the node (its disk can no longer be trusted).
  virtual void persist(const PersistRequest& request) = 0;
  virtual void send(Envelope envelope) = 0;
  virtual void deliver(Delivery delivery) = 0;
  virtual void acknowledge(Receipt receipt) = 0;
  virtual void observe(const Event& event) = 0;
};

// Tells the core that entries up to (index, term) are durable; may add effects to the outbox.
using PersistedReport = std::function<void(LogIndex index, Term term, Outbox& out)>;

// Applies `out` in the fixed order persist -> send -> deliver -> acknowledge -> observe ->
// report persisted, and repeats for whatever the report adds, until nothing is left. `out` is
// empty on return.
void apply_outbox(Outbox& out, DriverIo& io, const PersistedReport& report_persisted);

}  // namespace bcast
