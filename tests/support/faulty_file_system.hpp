// An in-memory io::FileSystem that models what a power loss does to a real disk, for the
// storage crash tests and for the simulator's disks.
//
// Model. Every file keeps its durable content and the list of operations (writes, truncations)
// applied since its last fsync; every directory operation (create, mkdir, rename, remove) stays
// pending until an fsync of its directory. Reads see everything, as the page cache would.
// crash(rng) is a power loss:
//  * each pending directory operation survives or is lost independently, in issue order (a
//    rename may survive while the create before it is lost; entries left without a durable
//    parent directory vanish);
//  * of each surviving file's pending operations a random subset survives, applied in a random
//    order, and a surviving write may be cut to any prefix (a torn write);
//  * everything else is discarded, and every open File becomes unusable.
// To bound memory, a file with more than kWritebackBytes of unsynced data has its oldest
// operations made durable, as a kernel's writeback would (the same for pending directory
// operations beyond kWritebackDirOps); both only ever make the model kinder, never harsher.
//
// Determinism: the outcome depends only on the operations issued and the Rng (bcast::Rng, never
// <random>); all state is in ordered containers.
//
// Paths are absolute ("/data/file"); "/" always exists. Renames must stay within a directory.
// Not thread-safe. The FileSystem must outlive the Files it opened.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.hpp"
#include "io/file_system.hpp"

namespace bcast::test {

class FaultyFileSystem final : public io::FileSystem {
 public:
  static constexpr std::uint64_t kWritebackBytes = 8ULL << 20;
  static constexpr std::size_t kWritebackDirOps = 4096;

  struct Stats {
    std::uint64_t operations = 0;  // mutating operations carried out (what crash_after counts)
    std::uint64_t writes = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t file_syncs = 0;
    std::uint64_t dir_syncs = 0;
    std::uint64_t renames = 0;
    std::uint64_t removes = 0;
    std::uint64_t largest_read_request_bytes = 0;  // the largest length any read asked for
    std::uint64_t crashes = 0;
    std::uint64_t disk_full_errors = 0;  // writes refused (in part) for capacity_bytes
  };

  FaultyFileSystem();
  ~FaultyFileSystem() override;
  FaultyFileSystem(const FaultyFileSystem&) = delete;
  FaultyFileSystem& operator=(const FaultyFileSystem&) = delete;

  // io::FileSystem.
  Result<bool> create_dir(const std::string& path) override;
  Result<std::vector<std::string>> list_dir(const std::string& path) override;
  Result<std::unique_ptr<io::File>> open_file(const std::string& path, io::OpenMode mode) override;
  Result<std::uint64_t> file_size(const std::string& path) override;
  Result<void> rename(const std::string& from, const std::string& to) override;
  Result<void> remove(const std::string& path) override;
  Result<void> sync_dir(const std::string& path) override;

  // --- Faults ------------------------------------------------------------------------------
  // The next `count` writes (or file syncs) fail with EIO and change nothing.
  void fail_next_writes(std::uint32_t count) { failing_writes_ = count; }
  void fail_next_syncs(std::uint32_t count) { failing_syncs_ = count; }
  // A disk of this many bytes (nullopt: unlimited), counted as the total size of all files: a
  // write that would go beyond it writes what fits and fails with ENOSPC, as a full disk does.
  // Not cleared by crash() or restart_process().
  void set_capacity_bytes(std::optional<std::uint64_t> bytes) { capacity_bytes_ = bytes; }
  std::uint64_t used_bytes() const;

  // The machine halts after `operations` more mutating operations (writes, truncations, syncs,
  // creates, renames, removes, mkdirs): from then on every call fails with kIo and changes
  // nothing, as if the power went out between two system calls. crash() or restart_process()
  // brings the machine back.
  void crash_after(std::uint64_t operations) { operations_before_halt_ = operations; }
  bool halted() const { return halted_; }

  // Power loss, as described above. Clears halts and pending fault injections.
  void crash(Rng& rng);
  // The process dies but the machine does not: nothing written is lost (unsynced data stays in
  // the page cache and stays unsynced). Open Files become unusable; halts and faults are cleared.
  void restart_process();

  // --- Observation -------------------------------------------------------------------------
  const Stats& stats() const { return stats_; }
  // Unsynced file operations plus unsynced directory operations.
  std::uint64_t pending_operations() const;
  // What the file at `path` would hold after a power loss that kept nothing pending (nullopt if
  // its name is not durable).
  std::optional<std::string> durable_content(const std::string& path) const;

 private:
  class FaultyFile;
  using InodeId = std::uint64_t;

  struct FileOp {
    bool truncate = false;
    std::uint64_t offset = 0;  // write: where; truncate: the new size
    std::string bytes;         // write only
  };
  struct Inode {
    std::string content;  // what reads see
    std::string durable;  // what survives a power loss for sure
    std::vector<FileOp> pending;
    std::uint64_t pending_bytes = 0;
    std::uint32_t open_handles = 0;
  };
  struct Node {
    bool is_dir = false;
    InodeId inode = 0;  // files only
  };
  using Namespace = std::map<std::string, Node>;
  struct DirOp {
    enum class Kind : std::uint8_t { kLink, kUnlink, kRename };
    Kind kind = Kind::kLink;
    std::string dir;   // the directory whose fsync makes it durable
    std::string path;  // kLink/kUnlink: the name; kRename: the source
    std::string to;    // kRename: the destination
    Node node;         // kLink/kRename: what the name points to
  };

  // Counts a mutating operation; false (with the error in `error`) if the machine is halted.
  bool begin_mutation(const char* operation, const std::string& path, Error& error);
  bool check_running(const char* operation, const std::string& path, Error& error) const;
  void record_dir_op(DirOp op);
  static void apply_dir_op(Namespace& names, const DirOp& op);
  static void apply_file_op(std::string& content, const FileOp& op);
  void record_file_op(Inode& inode, FileOp op);
  void collect_garbage();
  void invalidate_handles();

  // Called by FaultyFile.
  Result<void> file_write(InodeId id, std::uint64_t epoch, const std::string& path,
                          std::uint64_t offset, std::string_view bytes);
  Result<std::string> file_read(InodeId id, std::uint64_t epoch, const std::string& path,
                                std::uint64_t offset, std::uint64_t length_bytes);
  Result<std::uint64_t> file_length(InodeId id, std::uint64_t epoch, const std::string& path);
  Result<void> file_truncate(InodeId id, std::uint64_t epoch, const std::string& path,
                             std::uint64_t size_bytes);
  Result<void> file_sync(InodeId id, std::uint64_t epoch, const std::string& path);
  void file_closed(InodeId id, std::uint64_t epoch);
  Inode* live_inode(InodeId id, std::uint64_t epoch);

  Namespace current_;
  Namespace durable_;
  std::vector<DirOp> pending_dir_ops_;
  std::map<InodeId, Inode> inodes_;
  InodeId next_inode_ = 1;
  std::uint64_t epoch_ = 0;  // bumped by every crash; Files from an earlier epoch are dead

  std::optional<std::uint64_t> capacity_bytes_;
  std::uint32_t failing_writes_ = 0;
  std::uint32_t failing_syncs_ = 0;
  std::optional<std::uint64_t> operations_before_halt_;
  bool halted_ = false;
  Stats stats_;
};

}  // namespace bcast::test
