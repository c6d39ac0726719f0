#include "core/outbox.hpp"

#include <iterator>

namespace bcast {

bool waits_for_persist(const Envelope& envelope) {
  const auto* raft = std::get_if<raft::Message>(&envelope.message);
  if (raft == nullptr) return false;
  switch (raft->type) {
    case raft::MessageType::kAppend:
    case raft::MessageType::kHeartbeat:
    case raft::MessageType::kInstallSnapshot:
    case raft::MessageType::kTimeoutNow:
      return false;
    default:
      return true;
  }
}

void send_to(Outbox& out, NodeId from, NodeId to, PeerMessage message) {
  out.messages.push_back(Envelope{from, to, std::move(message)});
}

void announce_gap(Outbox& out, Gap gap) {
  out.gaps.push_back(GapNotice{std::move(gap), out.deliveries.size()});
}

void announce_view(Outbox& out, ViewChange view) {
  out.views.push_back(ViewNotice{std::move(view), out.deliveries.size()});
}

void PersistRequest::append_entries(std::vector<raft::Entry> batch) {
  if (batch.empty()) return;
  const LogIndex first_new = batch.front().index;
  while (!entries.empty() && entries.back().index >= first_new) entries.pop_back();
  if (entries.empty()) {
    entries = std::move(batch);
    return;
  }
  entries.insert(entries.end(), std::make_move_iterator(batch.begin()),
                 std::make_move_iterator(batch.end()));
}

void PersistRequest::set_snapshot(raft::Snapshot snap, bool resets_log) {
  // Pending entries covered by the snapshot are obsolete; a reset makes every pending entry so.
  // If some were pending, the stored suffix they were to replace starts at or below the
  // snapshot, so every stored entry after the snapshot is replaced too: storage must drop them
  // all, which is what a reset does (the pending entries above the snapshot then follow it).
  const bool replaces_stored_suffix = !entries.empty() && entries.front().index <= snap.meta.index;
  if (resets_log) {
    entries.clear();
  } else {
    std::erase_if(entries, [&](const raft::Entry& e) { return e.index <= snap.meta.index; });
  }
  snapshot_resets_log = snapshot_resets_log || resets_log || replaces_stored_suffix;
  snapshot = std::move(snap);
}

}  // namespace bcast
