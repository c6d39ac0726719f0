// The PersistRequest contract carried out in memory. Used where disk faults are not the point:
// unit tests and large simulations. lib/io/raft_storage is the durable implementation of the
// same contract; a crash here loses nothing, so it models fsync=always with perfect disks.
#pragma once

#include "core/outbox.hpp"
#include "core/raft/raft.hpp"

namespace bcast::raft {

class MemoryStorage {
 public:
  void persist(const PersistRequest& request);
  // What a restart would recover.
  RaftState state() const { return state_; }

 private:
  RaftState state_;
};

}  // namespace bcast::raft
