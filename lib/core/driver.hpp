// The one place that fixes the order in which a core's effects reach the world.
//
// Both the daemon and the simulator hand every Outbox to a Driver. The order is what makes Raft
// safe on real disks: state is persisted (and synced when the request says so) before any
// message that depends on it is sent (waits_for_persist), and a core learns that its own entries
// are durable only after they are. Messages that depend on nothing this node writes (a leader's
// appends and heartbeats, dissemination) leave before the write, so disks and network work in
// parallel (Raft thesis §10.2.1). A heartbeat's answer promises only the term, so it waits only
// while a new term or vote is being written, never behind entries alone: otherwise a follower
// writing a 16 MiB entry stays silent until it is durable and the leader, hearing from no
// quorum, steps down.
//
// Writes may complete later than they start: the daemon writes on a storage thread so that a
// slow fsync never stops its event loop (heartbeats keep flowing while a 16 MiB entry is
// written). Writes complete in the order they were started; the messages that wait for a write,
// and the report to the core, are held until it has.
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <utility>
#include <vector>

#include "bcast/types.hpp"
#include "core/outbox.hpp"

namespace bcast {

// The I/O a driver needs. Implemented by the daemon (disk, ZeroMQ) and the simulator (simulated
// disk and network).
class DriverIo {
 public:
  virtual ~DriverIo() = default;
  // Starts carrying out the request (durably, when request.sync); the caller tells the Driver
  // when it has completed (Driver::complete_oldest_write), in the order writes were started. A
  // storage failure must not complete: the implementation stops the node (its disk can no
  // longer be trusted).
  virtual void persist(const PersistRequest& request) = 0;
  virtual void send(Envelope envelope) = 0;
  virtual void deliver(Delivery delivery) = 0;
  // Messages this daemon will never deliver (see Gap), in their place among the deliveries. The
  // daemon's client server routes them to its applications ([views]); the default ignores them.
  virtual void announce_gap(const Gap& gap) { (void)gap; }
  // A group's new agreed view (core/views/group_views.hpp), in its place among the deliveries
  // (after the gaps announced at the same place).
  virtual void announce_view(const ViewChange& view) { (void)view; }
  virtual void acknowledge(Receipt receipt) = 0;
  virtual void observe(const Event& event) = 0;
  // The outcome of a run-time membership request this daemon made (Node::admin).
  virtual void answer(AdminResult /*result*/) {}
};

// Tells the core that entries up to (index, term) are durable; may add effects to the outbox.
using PersistedReport = std::function<void(LogIndex index, Term term, Outbox& out)>;

class Driver {
 public:
  Driver(DriverIo& io, PersistedReport report_persisted)
      : io_(io), report_persisted_(std::move(report_persisted)) {}

  // Applies `out` in the fixed order: send what does not wait for a write -> start the write ->
  // deliver (gap notices in their places among the deliveries) -> acknowledge -> observe ->
  // answer. Messages that wait for a write leave once it (and every write before it) completes.
  // A write that carries a snapshot starts after the deliveries instead: the entries it lets the
  // log forget must reach the daemon's total-order history first, which DriverIo::persist makes
  // durable before the snapshot (sim: "history has a hole it never announced", seed 1000).
  // `out` is empty on return.
  void apply(Outbox& out);
  // The oldest write in flight is durable: sends what waited for it and reports it to the core,
  // whose effects land in `out` (apply them next).
  void complete_oldest_write(Outbox& out);
  std::size_t writes_in_flight() const { return in_flight_.size(); }

 private:
  struct Write {
    std::vector<Envelope> waiting;                  // leave once the write is durable
    std::optional<std::pair<LogIndex, Term>> last;  // the last entry written, for the report
    bool promises_term_or_vote = false;             // it stores a new term or vote
  };

  // Whether `request` stores a term or vote other than the last one written (remembers it).
  bool changes_term_or_vote(const PersistRequest& request);

  DriverIo& io_;
  PersistedReport report_persisted_;
  std::deque<Write> in_flight_;
  std::optional<std::pair<Term, NodeId>> written_term_vote_;  // none yet: the first is new
  std::size_t term_or_vote_writes_ = 0;  // writes in flight that store a new term or vote
};

// For I/O that completes every write before persist() returns (the simulator's disks, tests):
// applies `out` and everything the reports add, until nothing is left. `out` is empty on return.
void apply_outbox(Outbox& out, DriverIo& io, const PersistedReport& report_persisted);

}  // namespace bcast
