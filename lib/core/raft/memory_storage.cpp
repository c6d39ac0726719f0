#include "core/raft/memory_storage.hpp"

#include <algorithm>

namespace bcast::raft {

void MemoryStorage::persist(const PersistRequest& request) {
  auto& entries = state_.entries;
  if (request.snapshot) {
    const LogIndex index = request.snapshot->meta.index;
    if (request.snapshot_resets_log) {
      entries.clear();
    } else {
      std::erase_if(entries, [&](const Entry& e) { return e.index <= index; });
    }
    state_.snapshot = request.snapshot;
  }
  if (!request.entries.empty()) {
    const LogIndex first = request.entries.front().index;
    std::erase_if(entries, [&](const Entry& e) { return e.index >= first; });
    entries.insert(entries.end(), request.entries.begin(), request.entries.end());
  }
  if (request.hard_state) state_.hard_state = *request.hard_state;
}

}  // namespace bcast::raft
