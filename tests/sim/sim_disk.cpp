#include "sim_disk.hpp"

#include <vector>

#include "core/raft/memory_storage.hpp"

namespace bcast::sim {
namespace {

class MemoryDisk : public SimDisk {
 public:
  void persist(const PersistRequest& request) override {
    pending_.push_back(request);
    if (request.sync) {
      ++syncs_;
      for (const auto& p : pending_) durable_.persist(p);
      pending_.clear();
    }
  }

  void crash(Rng& rng) override {
    // Writes reach the platter in order; the crash cuts the sequence somewhere.
    const std::size_t survivors = rng.uniform(0, pending_.size());
    for (std::size_t i = 0; i < survivors; ++i) durable_.persist(pending_[i]);
    if (survivors < pending_.size() && rng.chance(1, 2)) {
      PersistRequest torn = pending_[survivors];
      torn.hard_state.reset();
      torn.entries.resize(rng.uniform(0, torn.entries.size()));
      durable_.persist(torn);
    }
    pending_.clear();
  }

  Result<raft::RaftState> recover() override { return durable_.state(); }
  std::uint64_t syncs() const override { return syncs_; }

 private:
  raft::MemoryStorage durable_;
  std::vector<PersistRequest> pending_;
  std::uint64_t syncs_ = 0;
};

}  // namespace

std::unique_ptr<SimDisk> make_memory_disk() { return std::make_unique<MemoryDisk>(); }

}  // namespace bcast::sim
