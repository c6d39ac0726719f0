// A simulated node's disk. Both kinds lose, on a crash, what was not synced; they differ in
// how much of the real storage code they run.
#pragma once

#include <memory>
#include <string>

#include "core/outbox.hpp"
#include "core/raft/raft.hpp"
#include "core/rng.hpp"

namespace bcast::sim {

class SimDisk {
 public:
  virtual ~SimDisk() = default;
  // An error means storage refused the request; the run fails (nothing injects write errors).
  virtual Result<void> persist(const PersistRequest& request) = 0;
  // The machine loses power: unsynced writes are lost, partly written or (file disk) reordered.
  virtual void crash(Rng& rng) = 0;
  // What a restart reads back. An error means recovery refused the disk (a checker failure).
  virtual Result<raft::RaftState> recover() = 0;
  virtual std::uint64_t syncs() const = 0;
};

// MemoryStorage semantics with unsynced requests kept aside: a crash keeps a random prefix of
// them, the next one possibly in part.
std::unique_ptr<SimDisk> make_memory_disk();

// The daemon's real storage (lib/io RaftStorage) over the fault-injecting in-memory file system:
// a crash loses, tears or reorders unsynced writes at the file-system level.
std::unique_ptr<SimDisk> make_file_disk();

}  // namespace bcast::sim
