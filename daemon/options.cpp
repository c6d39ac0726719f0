#include "daemon/options.hpp"

#include <boost/program_options.hpp>
#include <fstream>
#include <sstream>

#include "io/http_server.hpp"

namespace bcast::daemon {
namespace po = boost::program_options;
namespace {

po::options_description describe_options() {
  po::options_description o("bcastd options (also valid as `key = value` lines in --config)");
  // clang-format off
  o.add_options()
      ("help,h", "print this help and exit")
      ("version", "print the version and exit")
      ("config", po::value<std::string>(), "read options from FILE (the command line wins)")
      ("dev", po::bool_switch(), "a single-node cluster on loopback with local defaults: "
                                 "--node-id 1 --listen tcp://127.0.0.1:7400 --data-dir "
                                 "/tmp/bcastd-dev --client-socket /tmp/bcastd.sock")
      ("node-id", po::value<unsigned>(), "this daemon's id, 1..65535, unique in the cluster")
      ("listen", po::value<std::string>(), "where peers reach this daemon: tcp://IP:PORT")
      ("peer", po::value<std::vector<std::string>>()->composing(),
       "ID=tcp://IP:PORT of a daemon of the initial cluster; repeat once per daemon (may "
       "include this one)")
      ("cluster-name", po::value<std::string>()->default_value("bcast"),
       "the cluster's name, part of the cluster id made when the cluster is bootstrapped")
      ("join", po::value<std::string>(), "tcp://IP:PORT of a member of a running cluster: a new "
                                         "data directory joins it (after `bcastctl cluster add`) "
                                         "instead of bootstrapping a cluster from --peer")
      ("data-dir", po::value<std::string>(), "directory of the Raft log, snapshots and boot "
                                             "count (created if absent)")
      ("client-socket", po::value<std::string>(), "PATH of the local client socket "
                                                  "(bound as ipc://PATH)")
      ("fsync", po::value<std::string>()->default_value("always"),
       "always (sync before acknowledging; one fsync per event-loop round) | none")
      ("tick-ms", po::value<unsigned>()->default_value(10), "the protocol clock's tick")
      ("election-ticks", po::value<unsigned>()->default_value(20),
       "a follower campaigns after hearing no leader for [T, 2T) ticks")
      ("heartbeat-ticks", po::value<unsigned>()->default_value(2), "leader heartbeat interval")
      ("max-message-bytes", po::value<std::uint64_t>()->default_value(1 << 20),
       "largest payload accepted (up to 64 MiB); larger publishes get a too_large error")
      ("max-clients", po::value<std::size_t>()->default_value(1024),
       "clients served at once (more are refused as busy); lowered to fit the file "
       "descriptor limit")
      ("client-queue-bytes", po::value<std::uint64_t>()->default_value(64ULL << 20),
       "what the daemon holds for one client that reads too slowly; beyond it, best-effort "
       "deliveries are dropped (oldest first, the client is told) and for any other the client "
       "is disconnected (and told why)")
      ("history-max-bytes", po::value<std::uint64_t>()->default_value(1ULL << 30),
       "disk kept for the total-order history (replay from a gseq); oldest segments go first; "
       "0 keeps no history")
      ("history-max-age-hours", po::value<std::uint64_t>()->default_value(168),
       "history older than this is deleted (whole segments)")
      ("verbose,v", po::bool_switch(), "log membership events too (same as --log-level debug)")
      ("log-level", po::value<std::string>(), "debug | info (default) | warn | error")
      ("log-format", po::value<std::string>()->default_value("text"),
       "text (human-readable lines) | json (one object per line)")
      ("http", po::value<std::string>(), "serve /metrics, /healthz, /readyz and the status page "
                                         "on IP:PORT (off unless given; e.g. 127.0.0.1:9464)")
      ("http-allow-remote", po::bool_switch(), "allow --http on a non-loopback address (the "
                                               "endpoint has no authentication)");
  // clang-format on
  return o;
}

Result<std::pair<NodeId, std::string>> parse_peer(const std::string& text) {
  const auto eq = text.find('=');
  const std::string usage = "--peer '" + text + "': expected ID=tcp://IP:PORT";
  if (eq == std::string::npos || eq == 0) return make_error(ErrorCode::kInvalidArgument, usage);
  char* end = nullptr;
  const unsigned long id = std::strtoul(text.c_str(), &end, 10);
  if (end != text.c_str() + eq || id == 0 || id > 65535) {
    return make_error(ErrorCode::kInvalidArgument, usage + " with ID in 1..65535");
  }
  const std::string endpoint = text.substr(eq + 1);
  if (endpoint.rfind("tcp://", 0) != 0) return make_error(ErrorCode::kInvalidArgument, usage);
  return std::make_pair(static_cast<NodeId>(id), endpoint);
}

// Whether a --peer address and a --listen address name the same endpoint: equal, or (when this
// daemon listens on every interface) the same port.
bool same_endpoint(const std::string& peer, const std::string& listen) {
  if (peer == listen) return true;
  const auto port = [](const std::string& endpoint) {
    const auto colon = endpoint.rfind(':');
    return colon == std::string::npos ? std::string() : endpoint.substr(colon + 1);
  };
  const bool wildcard = listen.rfind("tcp://0.0.0.0:", 0) == 0 || listen.rfind("tcp://*:", 0) == 0;
  return wildcard && port(peer) == port(listen);
}

Result<io::DaemonOptions> to_options(const po::variables_map& vm) {
  io::DaemonOptions o;
  const bool dev = vm["dev"].as<bool>();
  auto text = [&](const char* key, const char* dev_default) -> std::string {
    if (vm.count(key)) return vm[key].as<std::string>();
    return dev ? dev_default : "";
  };
  if (vm.count("node-id")) {
    const unsigned id = vm["node-id"].as<unsigned>();
    if (id == 0 || id > 65535) {
      return make_error(ErrorCode::kInvalidArgument, "--node-id must be in 1..65535");
    }
    o.node_id = id;
  } else if (!dev) {
    return make_error(ErrorCode::kInvalidArgument, "--node-id is required (or use --dev)");
  }
  o.listen = text("listen", kDevListen);
  o.data_dir = text("data-dir", kDevDataDir);
  o.client_socket = text("client-socket", kDevClientSocket);
  for (const char* key : {"listen", "data-dir", "client-socket"}) {
    if (text(key, "x").empty() || (!dev && !vm.count(key))) {
      return make_error(ErrorCode::kInvalidArgument,
                        std::string("--") + key + " is required (or use --dev)");
    }
  }
  if (vm.count("peer")) {
    for (const std::string& peer : vm["peer"].as<std::vector<std::string>>()) {
      auto parsed = parse_peer(peer);
      if (!parsed) return parsed.error();
      if (!o.peers.emplace(parsed.value()).second) {
        return make_error(ErrorCode::kInvalidArgument,
                          "--peer " + std::to_string(parsed.value().first) + " given twice");
      }
    }
  }
  // The cluster always includes this daemon, at the address it listens on: a --peer entry for
  // it that names another address is a configuration error (a duplicate id, or a copied file).
  if (auto self = o.peers.find(o.node_id);
      self != o.peers.end() && !same_endpoint(self->second, o.listen)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--peer " + std::to_string(o.node_id) + "=" + self->second +
                          " does not match --listen " + o.listen + " of this daemon (node " +
                          std::to_string(o.node_id) + "): is another daemon using this node id?");
  }
  o.peers.emplace(o.node_id, o.listen);
  o.cluster_name = vm["cluster-name"].as<std::string>();
  if (o.cluster_name.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "--cluster-name must not be empty");
  }
  if (vm.count("join")) {
    o.join = vm["join"].as<std::string>();
    if (o.join.rfind("tcp://", 0) != 0) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--join '" + o.join + "': expected tcp://IP:PORT of a member");
    }
  }
  const std::string fsync = vm["fsync"].as<std::string>();
  if (fsync == "always") {
    o.fsync = io::FsyncPolicy::kAlways;
  } else if (fsync == "none") {
    o.fsync = io::FsyncPolicy::kNone;
  } else {
    return make_error(ErrorCode::kInvalidArgument, "--fsync '" + fsync + "': always or none");
  }
  o.tick_ms = vm["tick-ms"].as<unsigned>();
  o.node.raft.election_timeout_ticks = vm["election-ticks"].as<unsigned>();
  o.node.raft.heartbeat_interval_ticks = vm["heartbeat-ticks"].as<unsigned>();
  if (o.tick_ms == 0 || o.node.raft.heartbeat_interval_ticks == 0 ||
      o.node.raft.election_timeout_ticks <= 2 * o.node.raft.heartbeat_interval_ticks) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--tick-ms and --heartbeat-ticks must be positive and --election-ticks "
                      "more than twice --heartbeat-ticks");
  }
  o.node.max_message_bytes = vm["max-message-bytes"].as<std::uint64_t>();
  if (o.node.max_message_bytes == 0 || o.node.max_message_bytes > (64u << 20)) {
    return make_error(ErrorCode::kInvalidArgument, "--max-message-bytes must be in 1..64 MiB");
  }
  o.node.raft.max_append_bytes =
      std::max<std::uint64_t>(o.node.raft.max_append_bytes, o.node.max_message_bytes + 4096);
  o.max_clients = vm["max-clients"].as<std::size_t>();
  if (o.max_clients == 0) {
    return make_error(ErrorCode::kInvalidArgument, "--max-clients must be at least 1");
  }
  o.client_queue_bytes = vm["client-queue-bytes"].as<std::uint64_t>();
  if (o.client_queue_bytes < (64u << 10)) {
    return make_error(ErrorCode::kInvalidArgument, "--client-queue-bytes must be at least 64 KiB");
  }
  o.history.max_bytes = vm["history-max-bytes"].as<std::uint64_t>();
  o.history.max_age_seconds = vm["history-max-age-hours"].as<std::uint64_t>() * 3600;
  if (o.history.max_bytes != 0 && o.history.max_bytes < (1u << 20)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--history-max-bytes must be 0 (no history) or at least 1 MiB");
  }
  o.history.segment_bytes = std::min<std::uint64_t>(64ULL << 20, o.history.max_bytes / 8 + 1);
  o.history.max_message_bytes = o.node.max_message_bytes + 4096;
  o.verbose = vm["verbose"].as<bool>();
  if (vm.count("http")) {
    o.http = vm["http"].as<std::string>();
    o.http_allow_remote = vm["http-allow-remote"].as<bool>();
    auto address = io::parse_http_address(o.http);
    if (!address) return address.error();
    if (!address.value().loopback && !o.http_allow_remote) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--http " + o.http +
                            ": not a loopback address (add --http-allow-remote "
                            "to serve it beyond this host)");
    }
  }
  return o;
}

Result<log::Options> to_log_options(const po::variables_map& vm, NodeId node_id) {
  log::Options o;
  o.node_id = node_id;
  if (vm.count("log-level")) {
    const std::string name = vm["log-level"].as<std::string>();
    auto level = log::parse_level(name);
    if (!level) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--log-level '" + name + "': debug, info, warn, error or off");
    }
    o.level = *level;
  } else if (vm["verbose"].as<bool>()) {
    o.level = log::Level::kDebug;
  }
  const std::string format = vm["log-format"].as<std::string>();
  auto parsed = log::parse_format(format);
  if (!parsed) {
    return make_error(ErrorCode::kInvalidArgument, "--log-format '" + format + "': text or json");
  }
  o.format = *parsed;
  return o;
}

}  // namespace

Result<ParsedCommandLine> parse_command_line(const std::vector<std::string>& args) {
  const po::options_description description = describe_options();
  ParsedCommandLine parsed;
  std::ostringstream help;
  help << "usage: bcastd --node-id N --listen tcp://IP:PORT --peer ID=tcp://IP:PORT ... "
          "--data-dir DIR --client-socket PATH [--config FILE]\n"
          "       bcastd --dev\n\n"
       << description;
  parsed.help_text = help.str();
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args).options(description).run(), vm);
    if (vm.count("config")) {
      const std::string path = vm["config"].as<std::string>();
      std::ifstream file(path);
      if (!file) {
        return make_error(ErrorCode::kInvalidArgument, "--config: cannot read " + path);
      }
      po::store(po::parse_config_file(file, description), vm);
    }
    po::notify(vm);
  } catch (const po::error& e) {
    return make_error(ErrorCode::kInvalidArgument, e.what());
  }
  parsed.help = vm.count("help") > 0;
  parsed.version = vm.count("version") > 0;
  if (parsed.help || parsed.version) return parsed;
  auto options = to_options(vm);
  if (!options) return options.error();
  parsed.options = std::move(options.value());
  auto log_options = to_log_options(vm, parsed.options.node_id);
  if (!log_options) return log_options.error();
  parsed.log = std::move(log_options.value());
  return parsed;
}

}  // namespace bcast::daemon
