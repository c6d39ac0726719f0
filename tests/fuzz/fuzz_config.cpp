// libFuzzer target: bcastd's command line and config file parser (daemon/options.hpp,
// Boost.Program_options underneath), which reads what an operator, a package or a configuration
// tool wrote.
//
// Input: ARGS \0\0 FILE, where ARGS are command-line arguments separated by \0; without a
// \0\0 the whole input is the config file. The file is handed over as `--config PATH`
// (a memfd, so nothing touches the disk).
//
// Invariants, each aborting when broken:
//  * parse_command_line returns on any input: no exception escapes it, nothing crashes;
//  * a refusal is kInvalidArgument with a one-line reason (the daemon prints it as one line);
//  * an accepted configuration (neither --help nor --version) has a node id in 1..65535 and
//    every peer id in 1..65535 with a tcp:// address.
// (Parsing is deterministic by construction; parsing twice to show it halved the speed, which
// Boost already makes the slowest of the targets.)
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/options.hpp"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_config: %s\n", what.c_str());
  std::abort();
}

std::vector<std::string> split_args(std::string_view text) {
  std::vector<std::string> args;
  while (!text.empty()) {
    const auto end = text.find('\0');
    args.emplace_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return args;
}

bcast::Result<bcast::daemon::ParsedCommandLine> parse(const std::vector<std::string>& args) {
  try {
    return bcast::daemon::parse_command_line(args);
  } catch (const std::exception& e) {
    fail(std::string("an exception escaped parse_command_line: ") + e.what());
  }
}

void check_accepted(const bcast::daemon::ParsedCommandLine& parsed) {
  const auto& options = parsed.options;
  if (options.node_id == 0 || options.node_id > 65535) fail("accepted a node id out of range");
  for (const auto& [id, address] : options.peers) {
    if (id == 0 || id > 65535) fail("accepted a peer id out of range");
    if (address.rfind("tcp://", 0) != 0) fail("accepted a peer address without tcp://");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto separator = input.find(std::string_view("\0\0", 2));
  std::vector<std::string> args;
  std::string_view file = input;
  if (separator != std::string_view::npos) {
    args = split_args(input.substr(0, separator));
    file = input.substr(separator + 2);
  }
  const int fd = memfd_create("bcastd.conf", 0);
  if (fd < 0) fail("memfd_create failed");
  if (!file.empty() && write(fd, file.data(), file.size()) != static_cast<ssize_t>(file.size())) {
    fail("cannot write the memfd");
  }
  args.insert(args.begin(), {"--config", "/proc/self/fd/" + std::to_string(fd)});
  const auto first = parse(args);
  close(fd);
  if (!first) {
    const auto& error = first.error();
    if (error.code != bcast::ErrorCode::kInvalidArgument) fail("refusal is not invalid_argument");
    if (error.message.empty()) fail("refusal without a reason");
    if (error.message.find('\n') != std::string::npos) {
      fail("refusal reason is not one line: " + error.message);
    }
    return 0;
  }
  if (first.value().help || first.value().version) return 0;
  check_accepted(first.value());
  return 0;
}
