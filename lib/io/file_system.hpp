// The file operations storage needs, behind an interface so that tests and the simulator can
// run storage on an in-memory disk that loses unsynced writes (tests/support).
//
// Durability contract (what an implementation must model, and what storage may rely on):
//  * File::write_at and File::truncate change what readers see at once, but survive a power
//    loss only after File::sync returns.
//  * Creating, renaming and removing a name in a directory survives a power loss only after
//    sync_dir on that directory returns; File::sync does not make the file's name durable.
//  * Until then, a power loss may keep any subset of the unsynced changes, in any order, and a
//    write may survive only in part (a prefix of it).
//
// Every failure is an Error with ErrorCode::kIo whose message names the operation, the path and
// the operating system's reason; a write refused for lack of space is recognisable by
// is_disk_full().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bcast/result.hpp"

namespace bcast::io {

// An open file, readable and writable. Offsets and sizes are in bytes.
class File {
 public:
  virtual ~File() = default;

  virtual const std::string& path() const = 0;

  // Writes all of `bytes` at `offset`; the file grows if needed (a gap reads as zeros).
  virtual Result<void> write_at(std::uint64_t offset, std::string_view bytes) = 0;
  // Reads `length_bytes` at `offset`, or fewer if the file ends first.
  virtual Result<std::string> read_at(std::uint64_t offset, std::uint64_t length_bytes) = 0;
  virtual Result<std::uint64_t> size() = 0;
  // Cuts (or extends with zeros) the file to `size_bytes`.
  virtual Result<void> truncate(std::uint64_t size_bytes) = 0;
  // Makes the file's content durable (fsync).
  virtual Result<void> sync() = 0;
};

enum class OpenMode : std::uint8_t {
  kExisting,          // the file must exist
  kCreate,            // created empty if absent, else opened as it is
  kCreateTruncating,  // created if absent, emptied if present
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates a directory whose parent exists. Returns true if it was created, false if a
  // directory of that name already existed.
  virtual Result<bool> create_dir(const std::string& path) = 0;
  // The names (not paths) in a directory, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
  virtual Result<std::unique_ptr<File>> open_file(const std::string& path, OpenMode mode) = 0;
  virtual Result<std::uint64_t> file_size(const std::string& path) = 0;
  // Atomically replaces `to` (if present) by `from`. Both must be in the same directory.
  virtual Result<void> rename(const std::string& from, const std::string& to) = 0;
  virtual Result<void> remove(const std::string& path) = 0;
  // Makes the directory's entries durable: files created, renamed or removed in it.
  virtual Result<void> sync_dir(const std::string& path) = 0;
};

// `dir` + "/" + `name`.
std::string join_path(const std::string& dir, const std::string& name);
// The directory holding `path` ("." for a bare name, "/" for a child of the root).
std::string parent_dir(const std::string& path);

// Reads a whole file, refusing (kTooLarge) one larger than `max_bytes` before allocating.
Result<std::string> read_whole_file(FileSystem& fs, const std::string& path,
                                    std::uint64_t max_bytes);

// An kIo error for `operation` on `path` with the operating system's description of `errno_value`.
// ENOSPC and EDQUOT give a disk-full error: its message starts with "disk full: ".
Error io_error(std::string_view operation, const std::string& path, int errno_value);

// True for a disk-full error (io_error of ENOSPC or EDQUOT): nothing is damaged, and the write
// may succeed once there is room.
bool is_disk_full(const Error& error);

}  // namespace bcast::io
