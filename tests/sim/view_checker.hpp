// The view-agreement checker: agreed group views (core/views/group_views.hpp) as every daemon
// announces them, against the total-order messages it delivers. Independent of the code under
// test: it sees only what a daemon hands its applications.
//
// Verified at every announcement and delivery, per daemon incarnation and group:
//  * agreement: every daemon announcing view v of a group announces the same view (members,
//    joined, left, cause, gseq);
//  * view ids increase by one, except after an installed snapshot (views skipped with the
//    positions it covers) or at the first view of an incarnation (its state may come from a
//    snapshot);
//  * virtual synchrony on the total-order stream: a view with gseq G comes after every
//    total-order message of its group with gseq <= G and before every one above, so two daemons
//    that announce views v and v+1 deliver the same total-order messages of the group between
//    them. A message delivered in the wrong view is a violation.
//
// The deliberate bug that proves it: "late-view" (DeliveryBugs::late_view) announces each view
// one delivery too late.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "core/bcast/message.hpp"
#include "core/views/group_views.hpp"

namespace bcast::sim {

class ViewChecker {
 public:
  void on_start(OriginId incarnation);
  void on_snapshot_restored(OriginId incarnation);
  void on_view(OriginId incarnation, const ViewChange& view);
  void on_delivery(OriginId incarnation, const Delivery& delivery);

  bool failed() const { return violation_.has_value(); }
  const std::string& violation() const { return *violation_; }
  std::uint64_t views_checked() const { return views_checked_; }

 private:
  struct GroupState {
    std::optional<std::uint64_t> view_id;  // the last view announced (unknown at first)
    std::uint64_t view_gseq = 0;
    std::uint64_t last_total_gseq = 0;  // the last total-order message of the group delivered
    bool skipped = false;               // a snapshot may have skipped views since
  };
  void fail(std::string what);

  std::map<OriginId, std::map<std::string, GroupState>> daemons_;
  std::map<std::pair<std::string, std::uint64_t>, ViewChange> agreed_;  // (group, view id)
  std::optional<std::string> violation_;
  std::uint64_t views_checked_ = 0;
};

}  // namespace bcast::sim
