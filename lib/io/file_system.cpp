#include "io/file_system.hpp"

#include <cerrno>
#include <cstring>

namespace bcast::io {
namespace {

constexpr std::string_view kDiskFullPrefix = "disk full: ";

// strerror_r comes in two shapes (GNU returns the message, XSI fills the buffer and returns an
// error number); these overloads accept whichever the C library provides.
[[maybe_unused]] const char* strerror_message(const char* message, const char* /*buffer*/) {
  return message;
}
[[maybe_unused]] const char* strerror_message(int result, const char* buffer) {
  return result == 0 ? buffer : "unknown error";
}

}  // namespace

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  if (dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string parent_dir(const std::string& path) {
  std::string trimmed = path;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const std::size_t slash = trimmed.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return trimmed.substr(0, slash);
}

Result<std::string> read_whole_file(FileSystem& fs, const std::string& path,
                                    std::uint64_t max_bytes) {
  auto file = fs.open_file(path, OpenMode::kExisting);
  if (!file) return file.error();
  auto size = file.value()->size();
  if (!size) return size.error();
  if (size.value() > max_bytes) {
    return make_error(ErrorCode::kTooLarge, "read " + path + ": " + std::to_string(size.value()) +
                                                " bytes, more than the limit of " +
                                                std::to_string(max_bytes));
  }
  return file.value()->read_at(0, size.value());
}

Error io_error(std::string_view operation, const std::string& path, int errno_value) {
  char buffer[256] = {};
  const char* reason = strerror_message(strerror_r(errno_value, buffer, sizeof buffer), buffer);
  const bool full = errno_value == ENOSPC || errno_value == EDQUOT;
  return make_error(ErrorCode::kIo, (full ? std::string(kDiskFullPrefix) : std::string()) +
                                        std::string(operation) + " " + path + ": " + reason);
}

bool is_disk_full(const Error& error) {
  return error.code == ErrorCode::kIo && error.message.starts_with(kDiskFullPrefix);
}

}  // namespace bcast::io
