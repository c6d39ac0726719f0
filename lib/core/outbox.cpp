#include "core/outbox.hpp"

#include <iterator>

namespace bcast {

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
  if (resets_log) {
    entries.clear();
  } else {
    std::erase_if(entries, [&](const raft::Entry& e) { return e.index <= snap.meta.index; });
  }
  snapshot_resets_log = snapshot_resets_log || resets_log;
  snapshot = std::move(snap);
}

}  // namespace bcast
