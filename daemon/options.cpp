#include "daemon/options.hpp"

#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "io/curve_keys.hpp"
#include "io/http_server.hpp"
#include "io/local_access.hpp"

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
      ("client-socket-mode", po::value<std::string>()->default_value("0660"),
       "the client socket file's mode, octal, whatever the umask (0600: the daemon's user only)")
      ("client-socket-group", po::value<std::string>(),
       "the client socket file's group (name or gid; default: the daemon's group)")
      ("client-allow-uid", po::value<std::vector<std::string>>()->composing(),
       "admit only clients running as this user (name or uid; repeatable); with "
       "--client-allow-gid, a client matching either is admitted. Default: anyone who can open "
       "the socket file")
      ("client-allow-gid", po::value<std::vector<std::string>>()->composing(),
       "admit only clients whose primary group is this one (name or gid; repeatable)")
      ("group-permission", po::value<std::vector<std::string>>()->composing(),
       "GROUP_PATTERN:publish|subscribe|all:uid=USER,gid=GROUP,... (repeatable): once a rule "
       "covers a group (a name, or a prefix ending in '*') and action, only the listed users "
       "and primary groups may publish to / join it (docs/security.md)")
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
      ("slow-subscriber", po::value<std::string>()->default_value("block"),
       "what a subscriber slower than its publishers costs: block (default: the slowest "
       "subscriber of a group paces its reliable, gossip and total-order publishers, cluster-wide) "
       "| disconnect (publishers are never held back; the subscriber is disconnected once it "
       "falls --client-queue-bytes behind). Best-effort deliveries are never held back: the "
       "oldest are dropped and the subscriber gets gap events naming them")
      ("publish-wait-ms", po::value<std::uint32_t>()->default_value(10000),
       "how long a publish waits for credit (a slow subscriber) before it is answered busy")
      ("stalled-subscriber-ms", po::value<std::uint32_t>()->default_value(5000),
       "a client that reads nothing of what waits for it for this long is disconnected (told "
       "why), so it stops holding publishers back; 0: never")
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
                                               "endpoint has no authentication)")
      ("secret-key", po::value<std::string>(), "FILE of this daemon's CURVE secret key (bcastctl "
                                               "keygen): every peer link is then authenticated "
                                               "and encrypted")
      ("peer-key", po::value<std::vector<std::string>>()->composing(),
       "ID=PUBLIC_KEY: the CURVE public key of node ID (Z85, 40 characters); repeat once per "
       "member, including members to be added later. Only these keys are let in, each only as "
       "its node")
      ("insecure", po::bool_switch(), "allow --listen on a non-loopback address without "
                                      "--secret-key (peer links then have no authentication "
                                      "or encryption)");
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

// --client-socket-mode, --client-socket-group, --client-allow-uid, --client-allow-gid.
Result<io::LocalAccessOptions> to_access_options(const po::variables_map& vm) {
  io::LocalAccessOptions access;
  const std::string mode = vm["client-socket-mode"].as<std::string>();
  char* end = nullptr;
  const unsigned long value = std::strtoul(mode.c_str(), &end, 8);
  if (mode.empty() || *end != '\0' || value > 0777 || (value & 0600) != 0600) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--client-socket-mode '" + mode +
                          "': an octal mode up to 0777 that lets the owner read and write "
                          "(e.g. 0660)");
  }
  access.socket_mode = static_cast<std::uint32_t>(value);
  if (vm.count("client-socket-group")) {
    auto group = io::parse_group(vm["client-socket-group"].as<std::string>());
    if (!group)
      return make_error(ErrorCode::kInvalidArgument,
                        "--client-socket-group: " + group.error().message);
    access.socket_group = group.value();
  }
  if (vm.count("client-allow-uid")) {
    for (const std::string& text : vm["client-allow-uid"].as<std::vector<std::string>>()) {
      auto uid = io::parse_user(text);
      if (!uid)
        return make_error(ErrorCode::kInvalidArgument,
                          "--client-allow-uid: " + uid.error().message);
      access.allowed_uids.push_back(uid.value());
    }
  }
  if (vm.count("client-allow-gid")) {
    for (const std::string& text : vm["client-allow-gid"].as<std::vector<std::string>>()) {
      auto gid = io::parse_group(text);
      if (!gid)
        return make_error(ErrorCode::kInvalidArgument,
                          "--client-allow-gid: " + gid.error().message);
      access.allowed_gids.push_back(gid.value());
    }
  }
  return access;
}

// Whether a tcp://HOST:PORT endpoint is on this host only.
bool loopback_endpoint(const std::string& endpoint) {
  const std::string host = endpoint.substr(6, endpoint.rfind(':') - 6);
  return host.rfind("127.", 0) == 0 || host == "localhost" || host == "[::1]";
}

// --secret-key, --peer-key, --insecure.
Result<void> read_peer_security(const po::variables_map& vm, io::DaemonOptions& o) {
  if (vm.count("secret-key")) o.secret_key_file = vm["secret-key"].as<std::string>();
  o.insecure = vm["insecure"].as<bool>();
  if (vm.count("peer-key")) {
    for (const std::string& text : vm["peer-key"].as<std::vector<std::string>>()) {
      const auto eq = text.find('=');
      char* end = nullptr;
      const unsigned long id = std::strtoul(text.c_str(), &end, 10);
      const std::string usage = "--peer-key '" + text + "': expected ID=PUBLIC_KEY";
      if (eq == std::string::npos || end != text.c_str() + eq || id == 0 || id > 65535) {
        return make_error(ErrorCode::kInvalidArgument, usage + " with ID in 1..65535");
      }
      const std::string key = text.substr(eq + 1);
      if (auto invalid = io::invalid_key(key)) {
        return make_error(ErrorCode::kInvalidArgument, usage + ": " + *invalid);
      }
      if (!o.peer_keys.emplace(static_cast<NodeId>(id), key).second) {
        return make_error(ErrorCode::kInvalidArgument,
                          "--peer-key " + std::to_string(id) + " given twice");
      }
    }
  }
  if (!o.peer_keys.empty() && o.secret_key_file.empty()) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--peer-key needs --secret-key (this daemon's own key)");
  }
  if (o.secret_key_file.empty() && !o.insecure && !loopback_endpoint(o.listen)) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--listen " + o.listen +
                          ": not a loopback address, and without --secret-key the peer links "
                          "have no authentication or encryption. Give every daemon keys "
                          "(bcastctl keygen; --secret-key, --peer-key; docs/security.md), or "
                          "--insecure on a network you trust entirely");
  }
  return {};
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
  auto access = to_access_options(vm);
  if (!access) return access.error();
  o.client_access = std::move(access.value());
  if (vm.count("group-permission")) {
    for (const std::string& text : vm["group-permission"].as<std::vector<std::string>>()) {
      auto rule = io::parse_group_permission(text);
      if (!rule) return make_error(ErrorCode::kInvalidArgument, "--" + rule.error().message);
      o.group_permissions.push_back(std::move(rule.value()));
    }
  }
  // Checked here, not at bind: the address also enters the cluster's configuration, which every
  // other member then dials.
  if (o.listen.rfind("tcp://", 0) != 0) {
    return make_error(ErrorCode::kInvalidArgument,
                      "--listen '" + o.listen + "': expected tcp://IP:PORT");
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
  if (auto security = read_peer_security(vm, o); !security) return security.error();
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
  const std::string slow_subscriber = vm["slow-subscriber"].as<std::string>();
  if (slow_subscriber == "block") {
    o.slow_subscriber = io::DaemonOptions::SlowSubscriberPolicy::kBlock;
  } else if (slow_subscriber == "disconnect") {
    o.slow_subscriber = io::DaemonOptions::SlowSubscriberPolicy::kDisconnect;
  } else {
    return make_error(
        ErrorCode::kInvalidArgument,
        "--slow-subscriber must be block or disconnect, not '" + slow_subscriber + "'");
  }
  o.publish_wait_ms = vm["publish-wait-ms"].as<std::uint32_t>();
  if (o.publish_wait_ms == 0) {
    return make_error(ErrorCode::kInvalidArgument, "--publish-wait-ms must be at least 1");
  }
  o.stalled_subscriber_ms = vm["stalled-subscriber-ms"].as<std::uint32_t>();
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

// Boost.Program_options makes an error's message by replacing each %name% token of a template
// with its value, again and again until none is left; a value that holds its own token (an
// option `x%canonical_option%` or a value `5%value%` in a config file) never runs out, and
// bcastd hung at start (found by fuzz_config). The values are made token-free first: every '%'
// becomes "%25", which no token name starts with. The map is protected; a pointer to member
// taken through a derived class reaches it without copying Boost's formatting.
struct BoostErrorValues : po::error_with_option_name {
  static std::map<std::string, std::string>& of(po::error_with_option_name& error) {
    return error.*(&BoostErrorValues::m_substitutions);
  }
};

void escape_substitutions(po::error_with_option_name& error) {
  for (auto& [name, value] : BoostErrorValues::of(error)) {
    std::string escaped;
    for (const char c : value) escaped += c == '%' ? std::string("%25") : std::string(1, c);
    value = std::move(escaped);
  }
}

// The reason is printed as one line (and may go to a log): control characters in what the user
// gave, which Boost and our messages quote, are shown escaped (found by fuzz_config).
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", static_cast<unsigned char>(c));
      out += escaped;
    } else {
      out += c;
    }
  }
  return out;
}

Result<ParsedCommandLine> parse_unchecked(const std::vector<std::string>& args) {
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
  } catch (po::error_with_option_name& e) {
    escape_substitutions(e);
    return make_error(ErrorCode::kInvalidArgument, e.what());
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

}  // namespace

Result<ParsedCommandLine> parse_command_line(const std::vector<std::string>& args) {
  auto parsed = parse_unchecked(args);
  if (!parsed) return make_error(parsed.error().code, printable(parsed.error().message));
  return parsed;
}

}  // namespace bcast::daemon
