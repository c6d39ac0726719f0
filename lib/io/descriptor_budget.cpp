#include "io/descriptor_budget.hpp"

#include <dirent.h>
#include <sys/resource.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace bcast::io {
namespace {

constexpr std::uint64_t kMinReserve = 48;
// Never taken by a connection: enough for storage's few files at a time and ZeroMQ's needs.
constexpr std::uint64_t kHardReserve = 24;
constexpr std::size_t kMinClientConnections = 8;
// Connections beyond max_clients: clients between connect and hello, refused hellos.
constexpr std::size_t kUnhelloedConnections = 256;

}  // namespace

Result<DescriptorLimit> raise_descriptor_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    return make_error(ErrorCode::kIo,
                      std::string("getrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
  }
  DescriptorLimit result;
  result.was = limit.rlim_cur;
  result.hard = limit.rlim_max;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      return make_error(ErrorCode::kIo,
                        std::string("setrlimit(RLIMIT_NOFILE): ") + std::strerror(errno));
    }
  }
  result.soft = limit.rlim_cur;
  return result;
}

Result<std::uint64_t> open_descriptors() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    return make_error(ErrorCode::kIo,
                      std::string("opendir /proc/self/fd: ") + std::strerror(errno));
  }
  std::uint64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count > 0 ? count - 1 : 0;  // not the descriptor of the listing itself
}

Result<DescriptorBudget> plan_descriptors(std::uint64_t limit, std::uint64_t in_use,
                                          std::size_t cluster_size, std::size_t max_clients) {
  DescriptorBudget budget;
  constexpr std::uint64_t kMaxCeiling = 1u << 30;  // descriptor numbers are ints
  budget.accept_ceiling =
      static_cast<int>(std::min(limit > kHardReserve ? limit - kHardReserve : 1, kMaxCeiling));
  const std::uint64_t available = limit > in_use ? limit - in_use : 0;
  budget.reserve = std::max<std::uint64_t>(kMinReserve, available / 8);
  const std::uint64_t usable = available > budget.reserve ? available - budget.reserve : 0;
  const std::size_t peers_wanted = 16 + 4 * cluster_size;
  budget.max_peer_connections =
      static_cast<std::size_t>(std::min<std::uint64_t>(peers_wanted, usable / 4));
  const std::uint64_t for_clients = usable - budget.max_peer_connections;
  budget.max_client_connections = static_cast<std::size_t>(
      std::min<std::uint64_t>(for_clients, max_clients + kUnhelloedConnections));
  if (budget.max_peer_connections < cluster_size ||
      budget.max_client_connections < kMinClientConnections) {
    const std::uint64_t needed = in_use + kMinReserve + 4 * (cluster_size + kMinClientConnections);
    return make_error(ErrorCode::kInvalidArgument,
                      "the file descriptor limit (" + std::to_string(limit) +
                          ", RLIMIT_NOFILE) is too low: raise it to at least " +
                          std::to_string(needed));
  }
  // Keep room for connections that have not said hello yet, so that a refused hello can still
  // be answered.
  const std::size_t room = budget.max_client_connections / 8;
  budget.max_clients = std::min(max_clients, budget.max_client_connections - room);
  return budget;
}

}  // namespace bcast::io
