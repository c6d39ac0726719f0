// io::FileSystem on the real operating system, with POSIX calls.
//
// Every call retries on EINTR and loops over short reads and writes, so a signal or a partial
// transfer never surfaces as an error or as silently missing bytes. Directories are created
// 0700 and files 0600, whatever the umask allows: the log holds every payload.
#pragma once

#include "io/file_system.hpp"

namespace bcast::io {

class PosixFileSystem final : public FileSystem {
 public:
  Result<bool> create_dir(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) override;
  Result<std::uint64_t> file_size(const std::string& path) override;
  Result<void> rename(const std::string& from, const std::string& to) override;
  Result<void> remove(const std::string& path) override;
  Result<void> sync_dir(const std::string& path) override;
};

}  // namespace bcast::io
