// bcastd's command line and config file (Boost.Program_options), exactly the external contract
// of DESIGN.md:
//
//   bcastd --node-id N --listen tcp://IP:PORT --peer ID=tcp://IP:PORT ... --data-dir DIR
//          --client-socket PATH [--config FILE] [--dev]
//          [--http IP:PORT [--http-allow-remote]] [--log-level L] [--log-format text|json]
//
// Every option can also come from the config file (same names without the dashes, one
// `key = value` per line; `peer` repeated). The command line wins over the file. `--dev` fills
// in a single-node cluster on loopback with local paths; options given beside it override.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "io/daemon.hpp"
#include "io/log.hpp"

namespace bcast::daemon {

struct ParsedCommandLine {
  io::DaemonOptions options;
  log::Options log;      // --log-level, --log-format (--verbose: debug)
  bool help = false;     // --help: print `help_text` and exit 0
  bool version = false;  // --version
  std::string help_text;
};

// On error, a one-line reason naming the option ("--peer 'x': expected ID=tcp://IP:PORT").
Result<ParsedCommandLine> parse_command_line(const std::vector<std::string>& args);

// The defaults --dev fills in.
inline constexpr const char* kDevListen = "tcp://127.0.0.1:7400";
inline constexpr const char* kDevDataDir = "/tmp/bcastd-dev";
inline constexpr const char* kDevClientSocket = "/tmp/bcastd.sock";

}  // namespace bcast::daemon
