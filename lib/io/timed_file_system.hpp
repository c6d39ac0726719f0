// A FileSystem that times every fsync (File::sync and sync_dir) of the one it wraps into a
// histogram: bcastd's storage runs on it so that bcast_storage_fsync_seconds shows what the
// disk costs each commit. Everything else passes straight through.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "io/file_system.hpp"
#include "io/metrics.hpp"

namespace bcast::io {

class TimedFileSystem final : public FileSystem {
 public:
  TimedFileSystem(FileSystem& inner, Histogram& sync_seconds)
      : inner_(inner), sync_seconds_(sync_seconds) {}

  Result<bool> create_dir(const std::string& path) override { return inner_.create_dir(path); }
  Result<std::vector<std::string>> list_dir(const std::string& path) override {
    return inner_.list_dir(path);
  }
  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override;
  Result<std::uint64_t> file_size(const std::string& path) override {
    return inner_.file_size(path);
  }
  Result<void> rename(const std::string& from, const std::string& to) override {
    return inner_.rename(from, to);
  }
  Result<void> remove(const std::string& path) override { return inner_.remove(path); }
  Result<void> sync_dir(const std::string& path) override;

 private:
  FileSystem& inner_;
  Histogram& sync_seconds_;
};

}  // namespace bcast::io
