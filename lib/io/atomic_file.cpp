#include "io/atomic_file.hpp"

#include "io/storage_layout.hpp"

namespace bcast::io {

Result<void> replace_file_atomically(FileSystem& fs, const std::string& dir,
                                     const std::string& name,
                                     const std::vector<std::string_view>& pieces, bool durable) {
  const std::string temp_path = join_path(dir, name + std::string(kTempFileSuffix));
  {
    auto file = fs.open_file(temp_path, OpenMode::kCreateTruncating);
    if (!file) return file.error();
    std::uint64_t offset = 0;
    for (const std::string_view piece : pieces) {
      if (auto written = file.value()->write_at(offset, piece); !written) return written;
      offset += piece.size();
    }
    if (durable) {
      if (auto synced = file.value()->sync(); !synced) return synced;
    }
  }
  if (auto renamed = fs.rename(temp_path, join_path(dir, name)); !renamed) return renamed;
  if (durable) return fs.sync_dir(dir);
  return {};
}

}  // namespace bcast::io
