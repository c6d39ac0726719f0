// Everything a daemon derives from the committed Raft log: the sequencer's state (total order),
// the cluster registry and the agreed group views (records in the total-order stream). One
// StateMachine, so that both are applied entry by entry in log order and captured in the same
// snapshot image.
//
// Image: the bytes "BCN2", the registry's image and the group views' image (each
// length-prefixed), then the sequencer's. "BCN1" images (before group views) have no views'
// image: restored with no views. An image without a prefix is a sequencer image from before
// the registry existed: restored with an empty registry.
#pragma once

#include <memory>
#include <string>

#include "core/membership/cluster_registry.hpp"
#include "core/order/total_order.hpp"
#include "core/state_machine.hpp"
#include "core/views/group_views.hpp"

namespace bcast {

class NodeState : public StateMachine {
 public:
  explicit NodeState(OriginId self);
  NodeState(const NodeState&) = delete;
  NodeState& operator=(const NodeState&) = delete;

  void apply(const raft::Entry& entry, Outbox& out) override;
  std::shared_ptr<const std::string> snapshot() const override;
  Result<void> restore(const std::string& image) override;

  TotalOrder& sequencer() { return sequencer_; }
  const TotalOrder& sequencer() const { return sequencer_; }
  const ClusterRegistry& registry() const { return registry_; }
  const GroupViews& views() const { return views_; }
  // The deliberate bug that proves the view-agreement checker (DeliveryBugs::late_view).
  void set_late_view_bug(bool on) { late_view_bug_ = on; }
  // Group records that did not decode: a bug or a corrupt log, counted rather than applied.
  std::uint64_t view_anomalies() const { return view_anomalies_; }

 private:
  TotalOrder sequencer_;
  ClusterRegistry registry_;
  GroupViews views_;
  std::uint64_t view_anomalies_ = 0;
  bool late_view_bug_ = false;
};

}  // namespace bcast
