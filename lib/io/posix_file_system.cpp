#include "io/posix_file_system.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

namespace bcast::io {
namespace {

// Calls `call` until it does not fail with EINTR.
template <typename Call>
auto retry_on_eintr(Call call) {
  auto result = call();
  while (result == -1 && errno == EINTR) result = call();
  return result;
}

// The largest transfer one read/write call is asked for; Linux caps a transfer near 2 GiB anyway.
constexpr std::size_t kMaxTransferBytes = std::size_t{1} << 30;

class PosixFile final : public File {
 public:
  PosixFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~PosixFile() override {
    // close() is not retried on EINTR: on Linux the descriptor is released regardless.
    ::close(fd_);
  }
  PosixFile(const PosixFile&) = delete;
  PosixFile& operator=(const PosixFile&) = delete;

  const std::string& path() const override { return path_; }

  Result<void> write_at(std::uint64_t offset, std::string_view bytes) override {
    std::size_t done = 0;
    while (done < bytes.size()) {
      const std::size_t chunk = std::min(bytes.size() - done, kMaxTransferBytes);
      const ssize_t written = retry_on_eintr([&] {
        return ::pwrite(fd_, bytes.data() + done, chunk, static_cast<off_t>(offset + done));
      });
      if (written < 0) return io_error("write", path_, errno);
      // pwrite never returns 0 for a non-empty regular-file write unless the disk is full in a
      // way it did not report; treat it as such rather than spin.
      if (written == 0) return io_error("write", path_, ENOSPC);
      done += static_cast<std::size_t>(written);
    }
    return {};
  }

  Result<std::string> read_at(std::uint64_t offset, std::uint64_t length_bytes) override {
    // Never allocate more than the file holds, whatever length was asked for.
    auto file_bytes = size();
    if (!file_bytes) return file_bytes.error();
    const std::uint64_t available = file_bytes.value() > offset ? file_bytes.value() - offset : 0;
    std::string buffer(static_cast<std::size_t>(std::min(length_bytes, available)), '\0');
    std::size_t done = 0;
    while (done < buffer.size()) {
      const std::size_t chunk = std::min(buffer.size() - done, kMaxTransferBytes);
      const ssize_t got = retry_on_eintr([&] {
        return ::pread(fd_, buffer.data() + done, chunk, static_cast<off_t>(offset + done));
      });
      if (got < 0) return io_error("read", path_, errno);
      if (got == 0) break;  // the file shrank under us: return what exists
      done += static_cast<std::size_t>(got);
    }
    buffer.resize(done);
    return buffer;
  }

  Result<std::uint64_t> size() override {
    struct stat info {};
    if (::fstat(fd_, &info) != 0) return io_error("fstat", path_, errno);
    return static_cast<std::uint64_t>(info.st_size);
  }

  Result<void> truncate(std::uint64_t size_bytes) override {
    if (size_bytes > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max())) {
      return io_error("ftruncate", path_, EFBIG);
    }
    if (retry_on_eintr([&] { return ::ftruncate(fd_, static_cast<off_t>(size_bytes)); }) != 0) {
      return io_error("ftruncate", path_, errno);
    }
    return {};
  }

  Result<void> sync() override {
    if (retry_on_eintr([&] { return ::fsync(fd_); }) != 0) return io_error("fsync", path_, errno);
    return {};
  }

 private:
  int fd_;
  std::string path_;
};

}  // namespace

Result<bool> PosixFileSystem::create_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0) return true;
  const int mkdir_errno = errno;
  if (mkdir_errno == EEXIST) {
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode)) return false;
    return io_error("mkdir", path, ENOTDIR);
  }
  return io_error("mkdir", path, mkdir_errno);
}

Result<std::vector<std::string>> PosixFileSystem::list_dir(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return io_error("opendir", path, errno);
  std::vector<std::string> names;
  while (true) {
    errno = 0;
    const dirent* entry = ::readdir(dir);
    if (entry == nullptr) break;
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  const int readdir_errno = errno;
  ::closedir(dir);
  if (readdir_errno != 0) return io_error("readdir", path, readdir_errno);
  std::sort(names.begin(), names.end());
  return names;
}

Result<std::unique_ptr<File>> PosixFileSystem::open_file(const std::string& path, OpenMode mode) {
  int flags = O_RDWR | O_CLOEXEC;
  if (mode == OpenMode::kCreate) flags |= O_CREAT;
  if (mode == OpenMode::kCreateTruncating) flags |= O_CREAT | O_TRUNC;
  const int fd = retry_on_eintr([&] { return ::open(path.c_str(), flags, 0600); });
  if (fd < 0) return io_error("open", path, errno);
  return std::unique_ptr<File>(std::make_unique<PosixFile>(fd, path));
}

Result<std::uint64_t> PosixFileSystem::file_size(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return io_error("stat", path, errno);
  return static_cast<std::uint64_t>(info.st_size);
}

Result<void> PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return io_error("rename", from + " to " + to, errno);
  return {};
}

Result<void> PosixFileSystem::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0) return io_error("unlink", path, errno);
  return {};
}

Result<void> PosixFileSystem::sync_dir(const std::string& path) {
  const int fd =
      retry_on_eintr([&] { return ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); });
  if (fd < 0) return io_error("open", path, errno);
  const int rc = retry_on_eintr([&] { return ::fsync(fd); });
  const int fsync_errno = errno;
  ::close(fd);
  if (rc != 0) return io_error("fsync", path, fsync_errno);
  return {};
}

}  // namespace bcast::io
