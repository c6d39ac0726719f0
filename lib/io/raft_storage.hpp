// Durable Raft state on disk: the log, the term and vote, and the latest snapshot.
//
// The core never reads or writes files; it hands the driver PersistRequests (core/outbox.hpp)
// and this class carries them out. Storage is read once, at open, to rebuild the node.
//
// Layout inside the data directory:
//   log-<first index, 20 digits>.seg   log segments; each record carries its own length and
//                                      checksums, so a torn write cannot pass for a record
//   hardstate                          term and vote, replaced atomically (write a temporary
//                                      file, fsync it, rename it over, fsync the directory)
//   snapshot-<index, 20 digits>.snap   the latest snapshot, written the same way
//
// Recovery truncates a torn tail (the incomplete last records of the newest segment) and refuses
// to open, with a message naming the file and offset, if anything else is damaged, or if the
// log is shorter than what was recorded as durable (a segment's durable mark, the commit index
// in the hard state): a log cut short would make the node hand out positions again.
//
// docs/storage.md describes the record format, the fsync discipline, the recovery rules and
// exactly what survives a crash.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "bcast/result.hpp"
#include "core/outbox.hpp"
#include "core/raft/raft.hpp"
#include "io/file_system.hpp"

namespace bcast::io {

struct StorageOptions {
  // When false, nothing is ever fsynced: data survives a process crash (it is in the page
  // cache) but not a power loss. The daemon's `--fsync none`.
  bool fsync = true;
  // A new segment starts once the current one exceeds this size.
  std::uint64_t segment_bytes = 64ULL << 20;
};

class RaftStorage {
 public:
  // Opens the storage in `dir` (created if absent) and recovers its state.
  static Result<std::unique_ptr<RaftStorage>> open(FileSystem& fs, const std::string& dir,
                                                   const StorageOptions& options);
  virtual ~RaftStorage() = default;

  // The state recovered at open: hard state, snapshot and the entries after it. Call once.
  virtual raft::RaftState take_recovered() = 0;

  // Carries out a request: snapshot, then entries (replacing any stored suffix from the first
  // new index), then hard state. If request.sync and fsync is enabled, everything written is
  // durable when this returns.
  //
  // Errors. A full disk (a write refused with ENOSPC or EDQUOT: is_disk_full(error)) is not
  // damage: storage undoes the refused write, keeps the files and itself agreeing on a prefix of
  // the request, and resume() carries out the rest once there is room; until then nothing else
  // may be persisted, and nothing depending on the request may be sent or acknowledged. Any
  // other error (an I/O error, a failed fsync) means the disk can no longer be trusted: every
  // later call returns it, and the caller must stop the node. A failed fsync is never retried:
  // the kernel may already have dropped the writes it failed to make durable, so a retry could
  // succeed without them. kInvalidArgument: a malformed request, refused before any write.
  virtual Result<void> persist(const PersistRequest& request) = 0;

  // Finishes the request a full disk interrupted (nothing to do if none was); the same
  // disk-full error while there is still no room.
  virtual Result<void> resume() = 0;
  // True while a request interrupted by a full disk awaits resume().
  virtual bool interrupted() const = 0;

  // At a clean stop: makes everything durable and records where the log ends (the newest
  // segment's durable mark, the commit index in the hard state), so that the next open refuses
  // a log cut short anywhere. Nothing may be persisted after it. Does nothing without fsync.
  virtual Result<void> close() = 0;
};

}  // namespace bcast::io
