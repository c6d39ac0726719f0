// The sequencer's decisions, replicated: the state machine every daemon runs over the Raft log.
//
// The leader proposes batches of total-order messages (core/order/total_pipeline.hpp); each
// committed batch is applied here, on every daemon, in log order. Applying assigns each message
// the next global position (gseq) and delivers it. Because positions are assigned by applying
// committed entries, a leader crash can cause no gap, no duplicate and no reorder: the new leader
// continues from the committed state. A message proposed twice (the origin retried it with a new
// leader) is recognised by its origin's total-stream number and skipped.
//
// A message of the reserved empty group (no application may use it) is a control record for
// state kept beside the sequencer (agreed group views, core/views/group_views.hpp): it takes its
// place in its origin's total stream but no position, and goes to the control sink with the
// position of the last message before it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/bcast/message.hpp"
#include "core/state_machine.hpp"

namespace bcast {

class TotalOrder : public StateMachine {
 public:
  explicit TotalOrder(OriginId self) : self_(self) {}

  using ControlSink =
      std::function<void(const BroadcastMessage& record, std::uint64_t gseq, Outbox& out)>;
  void set_control_sink(ControlSink sink) { control_sink_ = std::move(sink); }

  void apply(const raft::Entry& entry, Outbox& out) override;
  std::shared_ptr<const std::string> snapshot() const override;
  Result<void> restore(const std::string& image) override;

  // The highest total-stream number of `origin` that has a position.
  std::uint64_t sequenced_upto(OriginId origin) const;
  const std::map<OriginId, std::uint64_t>& sequenced() const { return sequenced_upto_; }
  std::uint64_t last_gseq() const { return last_gseq_; }

  // Our own messages that received positions since the last call: (stream seq, gseq).
  std::vector<std::pair<std::uint64_t, std::uint64_t>> take_own_sequenced();
  // Entries whose data could not be decoded or that skipped ahead in an origin's stream; both
  // mean a bug or a corrupt log, and are counted rather than applied.
  std::uint64_t anomalies() const { return anomalies_; }

 private:
  OriginId self_;
  std::uint64_t last_gseq_ = 0;
  std::map<OriginId, std::uint64_t> sequenced_upto_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> own_sequenced_;
  std::uint64_t anomalies_ = 0;
  ControlSink control_sink_;
};

}  // namespace bcast
