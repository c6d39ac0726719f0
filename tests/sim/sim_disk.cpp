#include "sim_disk.hpp"

#include <vector>

#include "core/raft/memory_storage.hpp"
#include "io/raft_storage.hpp"
#include "support/faulty_file_system.hpp"

namespace bcast::sim {
namespace {

class MemoryDisk : public SimDisk {
 public:
  Result<void> persist(const PersistRequest& request) override {
    pending_.push_back(request);
    if (request.sync) {
      ++syncs_;
      for (const auto& p : pending_) durable_.persist(p);
      pending_.clear();
    }
    return {};
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

class FileDisk : public SimDisk {
 public:
  Result<void> persist(const PersistRequest& request) override {
    return storage_->persist(request);
  }

  void crash(Rng& rng) override {
    storage_.reset();  // the process is gone; its open files with it
    file_system_.crash(rng);
  }

  Result<raft::RaftState> recover() override {
    auto opened = io::RaftStorage::open(file_system_, "/data", io::StorageOptions{});
    if (!opened.ok()) return opened.error();
    storage_ = std::move(opened.value());
    return storage_->take_recovered();
  }

  std::uint64_t syncs() const override { return file_system_.stats().file_syncs; }

 private:
  test::FaultyFileSystem file_system_;  // outlives the storage's open files
  std::unique_ptr<io::RaftStorage> storage_;
};

}  // namespace

std::unique_ptr<SimDisk> make_memory_disk() { return std::make_unique<MemoryDisk>(); }
std::unique_ptr<SimDisk> make_file_disk() { return std::make_unique<FileDisk>(); }

}  // namespace bcast::sim
