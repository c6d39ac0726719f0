#include "support/faulty_file_system.hpp"

#include <algorithm>
#include <cerrno>
#include <set>
#include <utility>

namespace bcast::test {
namespace {

// "/a/b/" -> "/a/b"; the root stays "/".
std::string normalize(const std::string& path) {
  std::string result = path.empty() || path.front() != '/' ? "/" + path : path;
  while (result.size() > 1 && result.back() == '/') result.pop_back();
  return result;
}

Error halted_error(const char* operation, const std::string& path) {
  return make_error(ErrorCode::kIo,
                    std::string(operation) + " " + path + ": simulated crash (machine halted)");
}

}  // namespace

class FaultyFileSystem::FaultyFile final : public io::File {
 public:
  FaultyFile(FaultyFileSystem& fs, InodeId inode, std::uint64_t epoch, std::string path)
      : fs_(fs), inode_(inode), epoch_(epoch), path_(std::move(path)) {}
  ~FaultyFile() override { fs_.file_closed(inode_, epoch_); }
  FaultyFile(const FaultyFile&) = delete;
  FaultyFile& operator=(const FaultyFile&) = delete;

  const std::string& path() const override { return path_; }
  Result<void> write_at(std::uint64_t offset, std::string_view bytes) override {
    return fs_.file_write(inode_, epoch_, path_, offset, bytes);
  }
  Result<std::string> read_at(std::uint64_t offset, std::uint64_t length_bytes) override {
    return fs_.file_read(inode_, epoch_, path_, offset, length_bytes);
  }
  Result<std::uint64_t> size() override { return fs_.file_length(inode_, epoch_, path_); }
  Result<void> truncate(std::uint64_t size_bytes) override {
    return fs_.file_truncate(inode_, epoch_, path_, size_bytes);
  }
  Result<void> sync() override { return fs_.file_sync(inode_, epoch_, path_); }

 private:
  FaultyFileSystem& fs_;
  InodeId inode_;
  std::uint64_t epoch_;
  std::string path_;
};

FaultyFileSystem::FaultyFileSystem() {
  current_["/"] = Node{true, 0};
  durable_["/"] = Node{true, 0};
}

FaultyFileSystem::~FaultyFileSystem() = default;

// --- Bookkeeping -------------------------------------------------------------------------------

bool FaultyFileSystem::check_running(const char* operation, const std::string& path,
                                     Error& error) const {
  if (!halted_) return true;
  error = halted_error(operation, path);
  return false;
}

bool FaultyFileSystem::begin_mutation(const char* operation, const std::string& path,
                                      Error& error) {
  if (!check_running(operation, path, error)) return false;
  if (operations_before_halt_) {
    if (*operations_before_halt_ == 0) {
      halted_ = true;
      error = halted_error(operation, path);
      return false;
    }
    --*operations_before_halt_;
  }
  ++stats_.operations;
  return true;
}

void FaultyFileSystem::apply_dir_op(Namespace& names, const DirOp& op) {
  switch (op.kind) {
    case DirOp::Kind::kLink:
      names[op.path] = op.node;
      break;
    case DirOp::Kind::kUnlink:
      names.erase(op.path);
      break;
    case DirOp::Kind::kRename:
      names.erase(op.path);
      names[op.to] = op.node;
      break;
  }
}

void FaultyFileSystem::record_dir_op(DirOp op) {
  apply_dir_op(current_, op);
  pending_dir_ops_.push_back(std::move(op));
  if (pending_dir_ops_.size() > kWritebackDirOps) {
    // Writeback: the oldest operations reach the disk on their own.
    const std::size_t excess = pending_dir_ops_.size() - kWritebackDirOps / 2;
    for (std::size_t i = 0; i < excess; ++i) apply_dir_op(durable_, pending_dir_ops_[i]);
    pending_dir_ops_.erase(pending_dir_ops_.begin(),
                           pending_dir_ops_.begin() + static_cast<std::ptrdiff_t>(excess));
  }
}

void FaultyFileSystem::apply_file_op(std::string& content, const FileOp& op) {
  if (op.truncate) {
    content.resize(op.offset, '\0');
    return;
  }
  const std::uint64_t end = op.offset + op.bytes.size();
  if (content.size() < end) content.resize(end, '\0');
  content.replace(op.offset, op.bytes.size(), op.bytes);
}

void FaultyFileSystem::record_file_op(Inode& inode, FileOp op) {
  apply_file_op(inode.content, op);
  inode.pending_bytes += op.bytes.size() + 1;
  inode.pending.push_back(std::move(op));
  if (inode.pending_bytes > kWritebackBytes) {
    std::size_t written_back = 0;
    while (inode.pending_bytes > kWritebackBytes / 2) {
      const FileOp& oldest = inode.pending[written_back++];
      apply_file_op(inode.durable, oldest);
      inode.pending_bytes -= oldest.bytes.size() + 1;
    }
    inode.pending.erase(inode.pending.begin(),
                        inode.pending.begin() + static_cast<std::ptrdiff_t>(written_back));
  }
}

void FaultyFileSystem::collect_garbage() {
  std::set<InodeId> referenced;
  for (const Namespace* names : {&current_, &durable_}) {
    for (const auto& [path, node] : *names) {
      if (!node.is_dir) referenced.insert(node.inode);
    }
  }
  for (const DirOp& op : pending_dir_ops_) {
    if (op.kind != DirOp::Kind::kUnlink && !op.node.is_dir) referenced.insert(op.node.inode);
  }
  std::erase_if(inodes_, [&](const auto& item) {
    return item.second.open_handles == 0 && !referenced.contains(item.first);
  });
}

FaultyFileSystem::Inode* FaultyFileSystem::live_inode(InodeId id, std::uint64_t epoch) {
  if (epoch != epoch_) return nullptr;
  auto it = inodes_.find(id);
  return it == inodes_.end() ? nullptr : &it->second;
}

// --- Directory operations ----------------------------------------------------------------------

Result<bool> FaultyFileSystem::create_dir(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  Error error;
  if (!check_running("mkdir", path, error)) return error;
  if (auto it = current_.find(path); it != current_.end()) {
    if (it->second.is_dir) return false;
    return io::io_error("mkdir", path, EEXIST);
  }
  const std::string parent = io::parent_dir(path);
  if (auto it = current_.find(parent); it == current_.end() || !it->second.is_dir) {
    return io::io_error("mkdir", path, ENOENT);
  }
  if (!begin_mutation("mkdir", path, error)) return error;
  record_dir_op(DirOp{DirOp::Kind::kLink, parent, path, {}, Node{true, 0}});
  return true;
}

Result<std::vector<std::string>> FaultyFileSystem::list_dir(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  Error error;
  if (!check_running("opendir", path, error)) return error;
  if (auto it = current_.find(path); it == current_.end() || !it->second.is_dir) {
    return io::io_error("opendir", path, ENOENT);
  }
  const std::string prefix = path == "/" ? "/" : path + "/";
  std::vector<std::string> names;
  for (auto it = current_.upper_bound(prefix); it != current_.end(); ++it) {
    if (!it->first.starts_with(prefix)) break;
    const std::string name = it->first.substr(prefix.size());
    if (!name.empty() && name.find('/') == std::string::npos) names.push_back(name);
  }
  return names;  // map order is sorted order
}

Result<std::unique_ptr<io::File>> FaultyFileSystem::open_file(const std::string& raw_path,
                                                              io::OpenMode mode) {
  const std::string path = normalize(raw_path);
  Error error;
  if (!check_running("open", path, error)) return error;
  InodeId id = 0;
  if (auto it = current_.find(path); it != current_.end()) {
    if (it->second.is_dir) return io::io_error("open", path, EISDIR);
    id = it->second.inode;
    Inode& inode = inodes_.at(id);
    if (mode == io::OpenMode::kCreateTruncating && !inode.content.empty()) {
      if (!begin_mutation("open", path, error)) return error;
      record_file_op(inode, FileOp{true, 0, {}});
    }
  } else {
    if (mode == io::OpenMode::kExisting) return io::io_error("open", path, ENOENT);
    const std::string parent = io::parent_dir(path);
    if (auto p = current_.find(parent); p == current_.end() || !p->second.is_dir) {
      return io::io_error("open", path, ENOENT);
    }
    if (!begin_mutation("open", path, error)) return error;
    id = next_inode_++;
    inodes_[id] = Inode{};
    record_dir_op(DirOp{DirOp::Kind::kLink, parent, path, {}, Node{false, id}});
  }
  ++inodes_.at(id).open_handles;
  return std::unique_ptr<io::File>(std::make_unique<FaultyFile>(*this, id, epoch_, path));
}

Result<std::uint64_t> FaultyFileSystem::file_size(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  Error error;
  if (!check_running("stat", path, error)) return error;
  auto it = current_.find(path);
  if (it == current_.end()) return io::io_error("stat", path, ENOENT);
  if (it->second.is_dir) return io::io_error("stat", path, EISDIR);
  return static_cast<std::uint64_t>(inodes_.at(it->second.inode).content.size());
}

Result<void> FaultyFileSystem::rename(const std::string& raw_from, const std::string& raw_to) {
  const std::string from = normalize(raw_from);
  const std::string to = normalize(raw_to);
  const std::string what = from + " to " + to;
  Error error;
  if (!check_running("rename", what, error)) return error;
  auto source = current_.find(from);
  if (source == current_.end()) return io::io_error("rename", what, ENOENT);
  if (source->second.is_dir) return io::io_error("rename", what, EISDIR);
  if (io::parent_dir(from) != io::parent_dir(to)) return io::io_error("rename", what, EXDEV);
  if (auto target = current_.find(to); target != current_.end() && target->second.is_dir) {
    return io::io_error("rename", what, EISDIR);
  }
  if (!begin_mutation("rename", what, error)) return error;
  ++stats_.renames;
  record_dir_op(DirOp{DirOp::Kind::kRename, io::parent_dir(from), from, to, source->second});
  return {};
}

Result<void> FaultyFileSystem::remove(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  Error error;
  if (!check_running("unlink", path, error)) return error;
  auto it = current_.find(path);
  if (it == current_.end()) return io::io_error("unlink", path, ENOENT);
  if (it->second.is_dir) return io::io_error("unlink", path, EISDIR);
  if (!begin_mutation("unlink", path, error)) return error;
  ++stats_.removes;
  record_dir_op(DirOp{DirOp::Kind::kUnlink, io::parent_dir(path), path, {}, {}});
  return {};
}

Result<void> FaultyFileSystem::sync_dir(const std::string& raw_path) {
  const std::string path = normalize(raw_path);
  Error error;
  if (!check_running("fsync", path, error)) return error;
  if (auto it = current_.find(path); it == current_.end() || !it->second.is_dir) {
    return io::io_error("open", path, ENOENT);
  }
  if (!begin_mutation("fsync", path, error)) return error;
  ++stats_.dir_syncs;
  std::vector<DirOp> still_pending;
  for (DirOp& op : pending_dir_ops_) {
    if (op.dir == path) {
      apply_dir_op(durable_, op);
    } else {
      still_pending.push_back(std::move(op));
    }
  }
  pending_dir_ops_ = std::move(still_pending);
  collect_garbage();
  return {};
}

// --- File operations ---------------------------------------------------------------------------

Result<void> FaultyFileSystem::file_write(InodeId id, std::uint64_t epoch, const std::string& path,
                                          std::uint64_t offset, std::string_view bytes) {
  Inode* inode = live_inode(id, epoch);
  if (inode == nullptr) return io::io_error("write", path, ESTALE);
  Error error;
  if (!check_running("write", path, error)) return error;
  if (failing_writes_ > 0) {
    --failing_writes_;
    return io::io_error("write", path, EIO);
  }
  if (!begin_mutation("write", path, error)) return error;
  std::string_view fitting = bytes;
  if (capacity_bytes_) {
    const std::uint64_t size = inode->content.size();
    const std::uint64_t used = used_bytes();
    const std::uint64_t room = *capacity_bytes_ > used ? *capacity_bytes_ - used : 0;
    const std::uint64_t end_allowed = size + room;  // the file may grow this far
    if (offset + bytes.size() > end_allowed) {
      fitting = bytes.substr(0, end_allowed > offset ? end_allowed - offset : 0);
    }
  }
  if (!fitting.empty()) {
    ++stats_.writes;
    stats_.bytes_written += fitting.size();
    record_file_op(*inode, FileOp{false, offset, std::string(fitting)});
  }
  if (fitting.size() < bytes.size()) {
    ++stats_.disk_full_errors;
    return io::io_error("write", path, ENOSPC);
  }
  return {};
}

std::uint64_t FaultyFileSystem::used_bytes() const {
  std::uint64_t used = 0;
  for (const auto& [id, inode] : inodes_) used += inode.content.size();
  return used;
}

Result<std::string> FaultyFileSystem::file_read(InodeId id, std::uint64_t epoch,
                                                const std::string& path, std::uint64_t offset,
                                                std::uint64_t length_bytes) {
  Inode* inode = live_inode(id, epoch);
  if (inode == nullptr) return io::io_error("read", path, ESTALE);
  Error error;
  if (!check_running("read", path, error)) return error;
  stats_.largest_read_request_bytes = std::max(stats_.largest_read_request_bytes, length_bytes);
  if (offset >= inode->content.size()) return std::string();
  return inode->content.substr(offset, length_bytes);
}

Result<std::uint64_t> FaultyFileSystem::file_length(InodeId id, std::uint64_t epoch,
                                                    const std::string& path) {
  Inode* inode = live_inode(id, epoch);
  if (inode == nullptr) return io::io_error("fstat", path, ESTALE);
  Error error;
  if (!check_running("fstat", path, error)) return error;
  return static_cast<std::uint64_t>(inode->content.size());
}

Result<void> FaultyFileSystem::file_truncate(InodeId id, std::uint64_t epoch,
                                             const std::string& path, std::uint64_t size_bytes) {
  Inode* inode = live_inode(id, epoch);
  if (inode == nullptr) return io::io_error("ftruncate", path, ESTALE);
  Error error;
  if (!begin_mutation("ftruncate", path, error)) return error;
  record_file_op(*inode, FileOp{true, size_bytes, {}});
  return {};
}

Result<void> FaultyFileSystem::file_sync(InodeId id, std::uint64_t epoch, const std::string& path) {
  Inode* inode = live_inode(id, epoch);
  if (inode == nullptr) return io::io_error("fsync", path, ESTALE);
  Error error;
  if (!check_running("fsync", path, error)) return error;
  if (failing_syncs_ > 0) {
    --failing_syncs_;
    return io::io_error("fsync", path, EIO);
  }
  if (!begin_mutation("fsync", path, error)) return error;
  ++stats_.file_syncs;
  for (const FileOp& op : inode->pending) apply_file_op(inode->durable, op);
  inode->pending.clear();
  inode->pending_bytes = 0;
  return {};
}

void FaultyFileSystem::file_closed(InodeId id, std::uint64_t epoch) {
  Inode* inode = live_inode(id, epoch);
  if (inode == nullptr) return;
  --inode->open_handles;
  if (inode->open_handles == 0) collect_garbage();
}

// --- Crashes -----------------------------------------------------------------------------------

void FaultyFileSystem::crash(Rng& rng) {
  ++stats_.crashes;
  // How much of the unsynced state survives varies from crash to crash, from none to all, so
  // that both extremes and everything between get exercised.
  const std::uint64_t keep_quarters = rng.uniform(0, 4);

  for (const DirOp& op : pending_dir_ops_) {
    if (rng.chance(keep_quarters, 4)) apply_dir_op(durable_, op);
  }
  pending_dir_ops_.clear();
  // A name whose parent directory did not survive goes with it. Map order puts a directory
  // before everything under it, so one pass sees parents already settled.
  for (auto it = durable_.begin(); it != durable_.end();) {
    if (it->first != "/") {
      auto parent = durable_.find(io::parent_dir(it->first));
      if (parent == durable_.end() || !parent->second.is_dir) {
        it = durable_.erase(it);
        continue;
      }
    }
    ++it;
  }

  std::set<InodeId> surviving;
  for (const auto& [path, node] : durable_) {
    if (!node.is_dir) surviving.insert(node.inode);
  }
  for (const InodeId id : surviving) {
    Inode& inode = inodes_.at(id);
    std::vector<const FileOp*> kept;
    for (const FileOp& op : inode.pending) {
      if (rng.chance(keep_quarters, 4)) kept.push_back(&op);
    }
    // Disks reorder writes between flushes.
    for (std::size_t i = kept.size(); i > 1; --i) {
      std::swap(kept[i - 1], kept[rng.uniform(0, i - 1)]);
    }
    for (const FileOp* op : kept) {
      if (!op->truncate && rng.chance(1, 3)) {
        FileOp torn = *op;
        torn.bytes.resize(rng.uniform(0, torn.bytes.size()));
        apply_file_op(inode.durable, torn);
      } else {
        apply_file_op(inode.durable, *op);
      }
    }
    inode.pending.clear();
    inode.pending_bytes = 0;
    inode.content = inode.durable;
    inode.open_handles = 0;
  }
  std::erase_if(inodes_, [&](const auto& item) { return !surviving.contains(item.first); });
  current_ = durable_;
  invalidate_handles();
}

void FaultyFileSystem::restart_process() {
  invalidate_handles();
  for (auto& [id, inode] : inodes_) inode.open_handles = 0;
  collect_garbage();
}

void FaultyFileSystem::invalidate_handles() {
  ++epoch_;
  halted_ = false;
  operations_before_halt_.reset();
  failing_writes_ = 0;
  failing_syncs_ = 0;
}

// --- Observation -------------------------------------------------------------------------------

std::uint64_t FaultyFileSystem::pending_operations() const {
  std::uint64_t count = pending_dir_ops_.size();
  for (const auto& [id, inode] : inodes_) count += inode.pending.size();
  return count;
}

std::optional<std::string> FaultyFileSystem::durable_content(const std::string& raw_path) const {
  auto it = durable_.find(normalize(raw_path));
  if (it == durable_.end() || it->second.is_dir) return std::nullopt;
  return inodes_.at(it->second.inode).durable;
}

}  // namespace bcast::test
