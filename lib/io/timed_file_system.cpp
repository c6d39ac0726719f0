#include "io/timed_file_system.hpp"

#include <chrono>

namespace bcast::io {
namespace {

using Clock = std::chrono::steady_clock;

class TimedFile final : public File {
 public:
  TimedFile(std::unique_ptr<File> inner, Histogram& sync_seconds)
      : inner_(std::move(inner)), sync_seconds_(sync_seconds) {}

  const std::string& path() const override { return inner_->path(); }
  Result<void> write_at(std::uint64_t offset, std::string_view bytes) override {
    return inner_->write_at(offset, bytes);
  }
  Result<std::string> read_at(std::uint64_t offset, std::uint64_t length_bytes) override {
    return inner_->read_at(offset, length_bytes);
  }
  Result<std::uint64_t> size() override { return inner_->size(); }
  Result<void> truncate(std::uint64_t size_bytes) override { return inner_->truncate(size_bytes); }
  Result<void> sync() override {
    const auto start = Clock::now();
    auto synced = inner_->sync();
    sync_seconds_.observe(Clock::now() - start);
    return synced;
  }

 private:
  std::unique_ptr<File> inner_;
  Histogram& sync_seconds_;
};

}  // namespace

Result<std::unique_ptr<File>> TimedFileSystem::open_file(const std::string& path, OpenMode mode) {
  auto file = inner_.open_file(path, mode);
  if (!file) return file.error();
  return std::unique_ptr<File>(std::make_unique<TimedFile>(std::move(file.value()), sync_seconds_));
}

Result<void> TimedFileSystem::sync_dir(const std::string& path) {
  const auto start = Clock::now();
  auto synced = inner_.sync_dir(path);
  sync_seconds_.observe(Clock::now() - start);
  return synced;
}

}  // namespace bcast::io
