// Rebuilding Raft's durable state from a storage directory at startup.
//
// Rules (docs/storage.md explains why each is safe):
//  * Leftover `.tmp` files of an interrupted atomic replace are removed.
//  * hardstate, if present, must verify; otherwise open fails with kCorrupt.
//  * The snapshot with the highest index must verify; older snapshot files are leftovers of an
//    interrupted replacement and are removed unread.
//  * Segments from an older generation than the snapshot (written before a log reset whose
//    cleanup a crash interrupted) and segments wholly covered by the snapshot are removed; the
//    rest are read in index order.
//  * A segment (format 2) shorter than, or damaged before, the end its durable mark records
//    lost synced entries: open fails with kCorrupt before repairing anything. A damaged mark
//    (a torn in-place rewrite) records nothing.
//  * A damaged record in the newest segment with no valid record anywhere after it is a torn
//    tail: the file is cut there. Any other damage, a gap in the indices, or a term going down
//    fails with kCorrupt naming the file and byte offset.
//  * A hard state whose commit index lies beyond the log's end (a segment removed or cut) fails
//    with kCorrupt: storage writes that index only once the entries it covers are durable.
//  * If the log's last entry (or the snapshot) has a higher term than the hard state, the term
//    is raised to it and the vote cleared: the node had seen that term, and no vote in it can
//    have been sent, because a vote is made durable before it is sent. The raised term is written
//    back at once, so it never goes down again.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bcast/result.hpp"
#include "core/raft/raft.hpp"
#include "io/file_system.hpp"
#include "io/log_segment.hpp"

namespace bcast::io {

struct RecoveredStorage {
  raft::RaftState state;              // handed to Raft
  raft::HardState stored_hard_state;  // exactly what the hardstate file holds (zero if none)
  LogIndex stored_commit = 0;         // the largest commit index found anywhere on disk
  std::uint64_t generation = 0;       // the snapshot's generation (0 without a snapshot)
  std::optional<std::string> snapshot_file_name;
  std::vector<SegmentInfo> segments;  // the segments kept, in index order, none empty
};

// Reads (creating it if absent) the storage directory `dir`, repairing a torn tail. With
// `durable`, every repair (truncation, removal, directory creation) is fsynced before returning.
Result<RecoveredStorage> recover_storage(FileSystem& fs, const std::string& dir, bool durable);

}  // namespace bcast::io
