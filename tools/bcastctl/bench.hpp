// `bcastctl bench`: a load generator and checker in the style of `nats bench`. N publisher and
// M subscriber clients (one thread and one Client each) on the daemons given by --sockets;
// reports publish and delivery rates, publish-call-to-delivery latency percentiles, and whether
// the order asked for was kept (docs/operations.md, "bcastctl bench").
#pragma once

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bcast/types.hpp"

namespace bcast::ctl {

// What bcastctl's own parser already read (shared options), plus bench's own options as given.
struct BenchRequest {
  std::string socket_path;  // --socket / $BCAST_SOCKET / the default: used without --sockets
  std::optional<std::chrono::milliseconds> timeout;
  std::vector<std::string> positional;  // GROUP
  std::optional<std::uint64_t> count;   // messages per publisher
  std::optional<Mode> mode;
  std::optional<Order> order;
  bool json = false;
  std::map<std::string, std::string> options;  // the bench_option_names() given, as text
};

// Adds the options only bench takes (each with a text value) to bcastctl's option table.
void add_bench_options(boost::program_options::options_description& options);
const std::vector<std::string>& bench_option_names();

// Runs the benchmark. Exit status: 0 every check passed, 1 a check failed (PROBLEM lines) or
// the daemon could not be used, 2 bad usage.
int run_bench(const BenchRequest& request);

}  // namespace bcast::ctl
