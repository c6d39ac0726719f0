// Everything a daemon derives from the committed Raft log: the sequencer's state (total order)
// and the cluster registry. One StateMachine, so that both are applied entry by entry in log
// order and captured in the same snapshot image.
//
// Image: the bytes "BCN1", the registry's image (length-prefixed), then the sequencer's. An
// image without the prefix is a sequencer image from before the registry existed: restored
// with an empty registry.
#pragma once

#include <memory>
#include <string>

#include "core/membership/cluster_registry.hpp"
#include "core/order/total_order.hpp"
#include "core/state_machine.hpp"

namespace bcast {

class NodeState : public StateMachine {
 public:
  explicit NodeState(OriginId self) : sequencer_(self) {}

  void apply(const raft::Entry& entry, Outbox& out) override;
  std::shared_ptr<const std::string> snapshot() const override;
  Result<void> restore(const std::string& image) override;

  TotalOrder& sequencer() { return sequencer_; }
  const TotalOrder& sequencer() const { return sequencer_; }
  const ClusterRegistry& registry() const { return registry_; }

 private:
  TotalOrder sequencer_;
  ClusterRegistry registry_;
};

}  // namespace bcast
