#include "io/node_identity.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <random>

#include "io/atomic_file.hpp"

namespace bcast::io {
namespace {

constexpr const char* kFileName = "identity";

std::optional<std::uint64_t> hex_field(const std::string& text, const std::string& key) {
  const auto at = text.find(key + "=");
  if (at == std::string::npos) return std::nullopt;
  std::uint64_t value = 0;
  if (std::sscanf(text.c_str() + at + key.size() + 1, "%" SCNx64, &value) != 1) {
    return std::nullopt;
  }
  return value;
}

std::string hex(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016" PRIx64, value);
  return buffer;
}

}  // namespace

Result<std::optional<NodeIdentity>> read_node_identity(FileSystem& fs, const std::string& dir) {
  const std::string path = join_path(dir, kFileName);
  auto names = fs.list_dir(dir);
  if (!names) return names.error();
  if (std::find(names.value().begin(), names.value().end(), kFileName) == names.value().end()) {
    return std::optional<NodeIdentity>();
  }
  auto text = read_whole_file(fs, path, 4096);
  if (!text) return text.error();
  const auto cluster = hex_field(text.value(), "cluster_id");
  const auto node = hex_field(text.value(), "node_id");
  const auto identity = hex_field(text.value(), "identity");
  if (!cluster || !node || !identity || *node == kNoNode || *node > kMaxNodeId || *identity == 0) {
    return make_error(ErrorCode::kCorrupt,
                      path + " does not hold cluster_id, node_id and identity");
  }
  return std::optional<NodeIdentity>(NodeIdentity{*cluster, *node, *identity});
}

Result<void> write_node_identity(FileSystem& fs, const std::string& dir,
                                 const NodeIdentity& identity) {
  const std::string text =
      "# written once, when this data directory joined its cluster\n"
      "cluster_id=" +
      hex(identity.cluster_id) + "\n" + "node_id=" + hex(identity.node_id) + "\n" +
      "identity=" + hex(identity.identity) + "\n";
  return replace_file_atomically(fs, dir, kFileName, {text}, /*durable=*/true);
}

std::uint64_t make_identity() {
  std::random_device entropy;
  std::uint64_t value = 0;
  while (value == 0) value = (std::uint64_t{entropy()} << 32) ^ entropy();
  return value;
}

}  // namespace bcast::io
