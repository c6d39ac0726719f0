#include "view_checker.hpp"

namespace bcast::sim {
namespace {

std::string daemon_name(OriginId incarnation) {
  return std::to_string(origin_node(incarnation)) + "." + std::to_string(incarnation & 0xffff);
}

std::string describe(const ViewChange& view) {
  std::string text = "view " + std::to_string(view.view_id) + " of " + view.group + " (" +
                     view_cause_name(view.cause) + ", gseq " + std::to_string(view.gseq) +
                     ", members";
  for (const GroupMember& m : view.members) text += " " + std::to_string(m.sender);
  return text + ")";
}

}  // namespace

void ViewChecker::fail(std::string what) {
  if (!violation_) violation_ = "view agreement violated: " + std::move(what);
}

void ViewChecker::on_start(OriginId incarnation) { daemons_[incarnation].clear(); }

void ViewChecker::on_snapshot_restored(OriginId incarnation) {
  for (auto& [group, state] : daemons_[incarnation]) state.skipped = true;
}

void ViewChecker::on_view(OriginId incarnation, const ViewChange& view) {
  ++views_checked_;
  const std::string at = "daemon " + daemon_name(incarnation) + " announced " + describe(view);
  auto [agreed, first] = agreed_.try_emplace({view.group, view.view_id}, view);
  if (!first && agreed->second != view) {
    fail(at + " where another daemon announced " + describe(agreed->second));
    return;
  }
  GroupState& state = daemons_[incarnation][view.group];
  if (state.view_id && !state.skipped && view.view_id != *state.view_id + 1) {
    fail(at + " after view " + std::to_string(*state.view_id));
    return;
  }
  if (state.view_id && view.view_id <= *state.view_id) {
    fail(at + " after view " + std::to_string(*state.view_id) + ": view ids must increase");
    return;
  }
  if (state.last_total_gseq > view.gseq) {
    fail(at + " after delivering its group's total-order message gseq " +
         std::to_string(state.last_total_gseq) + ", which belongs to this view");
    return;
  }
  state.view_id = view.view_id;
  state.view_gseq = view.gseq;
  state.skipped = false;
}

void ViewChecker::on_delivery(OriginId incarnation, const Delivery& delivery) {
  if (!delivery.gseq) return;
  GroupState& state = daemons_[incarnation][delivery.group];
  const std::uint64_t gseq = *delivery.gseq;
  if (state.view_id && gseq <= state.view_gseq) {
    fail("daemon " + daemon_name(incarnation) + " delivered total-order message gseq " +
         std::to_string(gseq) + " of " + delivery.group + " in view " +
         std::to_string(*state.view_id) + ", which takes effect after gseq " +
         std::to_string(state.view_gseq));
    return;
  }
  // A later view announced by another daemon at or beyond this position, which this daemon has
  // not announced although it has delivered everything before it: the message is in the wrong
  // view. (Views skipped through a snapshot are not owed.)
  if (state.view_id && !state.skipped) {
    auto next = agreed_.find({delivery.group, *state.view_id + 1});
    if (next != agreed_.end() && next->second.gseq < gseq) {
      fail("daemon " + daemon_name(incarnation) + " delivered total-order message gseq " +
           std::to_string(gseq) + " of " + delivery.group + " in view " +
           std::to_string(*state.view_id) + " before " + describe(next->second));
      return;
    }
  }
  state.last_total_gseq = std::max(state.last_total_gseq, gseq);
}

}  // namespace bcast::sim
