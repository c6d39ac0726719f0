// bcastctl: the command line client of the local bcastd (DESIGN.md, "The external contract").
//
//   bcastctl [--socket PATH] [--timeout MS] sub GROUP [--json] [--count N]
//   bcastctl [--socket PATH] [--timeout MS] pub GROUP [--mode M] [--order O] [--json] [MSG...]
//   bcastctl [--socket PATH] [--timeout MS] status [--json]
//   bcastctl [--socket PATH] [--timeout MS] members [--json]
//   bcastctl [--socket PATH] [--timeout MS] cluster list [--json]
//   bcastctl [--socket PATH] [--timeout MS] cluster add ID=tcp://IP:PORT [--key KEY] [--learner]
//   bcastctl [--socket PATH] [--timeout MS] cluster promote|remove|transfer-leader ID
//   bcastctl [--socket PATH] [--timeout MS] bench GROUP [--pub N] [--sub N] [--size BYTES]
//            [--count N | --duration SECONDS] [--rate MSGS_PER_S] [--mode M] [--order O]
//            [--sockets PATH,PATH,...] [--json] [--html FILE]
//   bcastctl keygen --out PREFIX
//
// Output lines are flushed one by one, since scripts and tests read them as they come. Exit
// status: 0 success (sub also on SIGINT/SIGTERM), 1 failure (no daemon, a refused message, a
// lost connection), 2 bad usage.
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "bcast/client.hpp"
#include "bench.hpp"
#include "format.hpp"
#include "io/curve_keys.hpp"

namespace {

namespace po = boost::program_options;
using namespace std::chrono_literals;
using bcast::Client;
using Clock = std::chrono::steady_clock;

// The command line, parsed by Boost.Program_options like every bcast tool. Global options
// and the command's own may come before or after the command; "--" ends options (so a message
// may start with "--"). Adding a command: a row in kCommands and its options in
// command_options().
struct CommandLine {
  std::string socket_path;
  std::optional<std::chrono::milliseconds> timeout;
  std::string command;
  std::vector<std::string> positional;
  bool json = false;
  bool learner = false;
  std::string key;  // cluster add --key
  std::optional<std::uint64_t> count;
  std::optional<std::uint64_t> from_gseq;  // sub --from
  bool resume = false;                     // sub --resume
  std::optional<bcast::Mode> mode;
  std::optional<bcast::Order> order;
  std::string out;                                   // keygen --out
  std::map<std::string, std::string> bench_options;  // bench's own, read by run_bench
};

struct CommandSpec {
  const char* name;
  const char* synopsis;
  const char* summary;
};

constexpr CommandSpec kCommands[] = {
    {"sub", "sub GROUP [--json] [--count N] [--from GSEQ] [--resume]",
     "print every message delivered to GROUP, one line each; --count N exits after N;\n"
     "            --from GSEQ first replays its total-order messages from GSEQ (0: oldest kept)"},
    {"pub",
     "pub GROUP [--mode best-effort|reliable|gossip] [--order none|fifo|causal|total]\n"
     "            [--json] [--] [MESSAGE...]",
     "publish the MESSAGEs, or else each line of stdin, in order (defaults: reliable,\n"
     "      none); --json prints {\"seq\":N,\"gseq\":N|null} per message once acknowledged"},
    {"status", "status [--json]", "the local daemon's view of the cluster"},
    {"members", "members [--json]",
     "the daemons of the cluster, one per line, and whether this daemon reaches each"},
    {"cluster",
     "cluster list [--json] | add ID=tcp://IP:PORT [--key PUBLIC_KEY] [--learner] |\n"
     "            promote ID | remove ID | transfer-leader ID",
     "the committed configuration, and run-time membership: add a daemon (a learner, promoted\n"
     "      once caught up unless --learner; then start it with --join), promote a learner,\n"
     "      remove a member, move the leadership. Each change returns once committed. --key:\n"
     "      the new daemon's CURVE public key, which every member then lets in"},
    {"bench",
     "bench GROUP [--pub N] [--sub N] [--size BYTES] [--count N | --duration SECONDS]\n"
     "            [--rate MSGS_PER_S] [--mode M] [--order O] [--sockets PATH,PATH,...]\n"
     "            [--json] [--html FILE]",
     "publishers and subscribers (one client and thread each, spread over --sockets) measure\n"
     "      msgs/s, MB/s and publish-to-delivery latency, and check what the order promises;\n"
     "      exit 1 with PROBLEM lines if a check fails"},
    {"keygen", "keygen --out PREFIX",
     "write a CURVE key pair for bcastd's peer links: PREFIX.key (secret, mode 0600; give it\n"
     "      to bcastd --secret-key) and PREFIX.pub; prints the public key (for --peer-key ID=KEY)"},
};

po::options_description global_options() {
  po::options_description o("options");
  // clang-format off
  o.add_options()
      ("help,h", "print this help and exit")
      ("socket", po::value<std::string>()->value_name("PATH"),
       "the daemon's client socket (default: $BCAST_SOCKET, else /tmp/bcastd.sock, where "
       "`bcastd --dev` listens)")
      ("timeout", po::value<std::string>()->value_name("MS"),
       "how long to wait for the daemon: to connect and answer, and for pub the longest wait "
       "for the next receipt (default 5000; pub 15000, which covers total-order publishes held "
       "through a leader election and publishes held for credit, up to bcastd "
       "--publish-wait-ms)");
  // clang-format on
  return o;
}

// The options of one command; "" gives every command's (to find the command at all).
po::options_description command_options(const std::string& command) {
  po::options_description o("command options");
  const bool any = command.empty();
  if (any || command == "sub" || command == "pub" || command == "status" || command == "members" ||
      command == "cluster" || command == "bench") {
    o.add_options()("json", po::bool_switch(), "one JSON object per line");
  }
  if (any || command == "sub" || command == "bench") {
    o.add_options()("count", po::value<std::string>()->value_name("N"),
                    "sub: exit after N messages; bench: messages per publisher");
  }
  if (any || command == "sub") {
    o.add_options()(
        "from", po::value<std::string>()->value_name("GSEQ"),
        "sub: replay the group's total-order messages from GSEQ (0: the oldest the daemon "
        "holds), then go on live")(
        "resume", po::bool_switch(),
        "sub: when the connection to the daemon is lost, reconnect (for up to 30 s) and "
        "resume the total order where it stopped");
  }
  if (any || command == "keygen") {
    o.add_options()("out", po::value<std::string>()->value_name("PREFIX"),
                    "keygen: write PREFIX.key and PREFIX.pub");
  }
  if (any || command == "cluster") {
    o.add_options()("learner", po::bool_switch(), "cluster add: stay a learner (no promotion)")(
        "key", po::value<std::string>()->value_name("PUBLIC_KEY"),
        "cluster add: the new daemon's public key (bcastctl keygen prints it)");
  }
  if (any || command == "pub" || command == "bench") {
    o.add_options()("mode", po::value<std::string>()->value_name("M"),
                    "pub, bench: best-effort | reliable (default) | gossip")(
        "order", po::value<std::string>()->value_name("O"),
        "pub, bench: none (default) | fifo | causal | total");
  }
  if (any || command == "bench") bcast::ctl::add_bench_options(o);
  return o;
}

std::string usage_text() {
  std::ostringstream out;
  out << "usage: bcastctl [--socket PATH] [--timeout MS] <command> [options]\n";
  for (const CommandSpec& c : kCommands)
    out << "  " << c.synopsis << "\n      " << c.summary << "\n";
  out << global_options() << command_options("");
  return out.str();
}

[[noreturn]] void usage_error(const std::string& message) {
  std::fprintf(stderr, "bcastctl: %s\n%s", message.c_str(), usage_text().c_str());
  std::exit(2);
}

[[noreturn]] void fail(const std::string& message) {
  std::fprintf(stderr, "bcastctl: %s\n", message.c_str());
  std::exit(1);
}

void print_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::optional<std::uint64_t> parse_number(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

po::variables_map parse_with(const std::vector<std::string>& args,
                             const po::options_description& options) {
  po::options_description all;
  all.add(options);
  all.add_options()("args", po::value<std::vector<std::string>>());
  po::positional_options_description positional;
  positional.add("args", -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args)
                .options(all)
                .positional(positional)
                .style(po::command_line_style::unix_style ^ po::command_line_style::allow_guessing)
                .run(),
            vm);
  po::notify(vm);
  return vm;
}

CommandLine parse(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  CommandLine line;
  po::variables_map vm;
  try {
    // First with every command's options, to find the command; then with only its own, so an
    // option of another command is an error.
    po::options_description any;
    any.add(global_options()).add(command_options(""));
    vm = parse_with(args, any);
    if (vm.count("help")) {
      std::fputs(usage_text().c_str(), stdout);
      std::exit(0);
    }
    std::vector<std::string> words;
    if (vm.count("args")) words = vm["args"].as<std::vector<std::string>>();
    if (words.empty()) usage_error("no command given");
    line.command = words.front();
    const bool known = std::any_of(std::begin(kCommands), std::end(kCommands),
                                   [&](const CommandSpec& c) { return line.command == c.name; });
    if (!known) usage_error("unknown command " + line.command);
    po::options_description own;
    own.add(global_options()).add(command_options(line.command));
    try {
      vm = parse_with(args, own);
    } catch (const po::unknown_option& e) {
      usage_error("unknown option " + e.get_option_name() + " for " + line.command);
    }
    words = vm["args"].as<std::vector<std::string>>();
    line.positional.assign(words.begin() + 1, words.end());
  } catch (const po::error& e) {
    usage_error(e.what());
  }
  // The default is where `bcastd --dev` listens, so the two work together with no setup.
  line.socket_path = "/tmp/bcastd.sock";
  if (const char* env = std::getenv("BCAST_SOCKET")) line.socket_path = env;
  if (vm.count("socket")) line.socket_path = vm["socket"].as<std::string>();
  if (vm.count("timeout")) {
    const auto ms = parse_number(vm["timeout"].as<std::string>());
    if (!ms || *ms == 0) usage_error("--timeout needs a positive number of milliseconds");
    line.timeout = std::chrono::milliseconds(*ms);
  }
  line.json = vm.count("json") && vm["json"].as<bool>();
  line.learner = vm.count("learner") && vm["learner"].as<bool>();
  line.resume = vm.count("resume") && vm["resume"].as<bool>();
  if (vm.count("out")) line.out = vm["out"].as<std::string>();
  if (vm.count("key")) line.key = vm["key"].as<std::string>();
  for (const std::string& name : bcast::ctl::bench_option_names()) {
    if (vm.count(name)) line.bench_options[name] = vm[name].as<std::string>();
  }
  if (vm.count("count")) {
    const auto n = parse_number(vm["count"].as<std::string>());
    if (!n || *n == 0) usage_error("--count needs a positive number");
    line.count = n;
  }
  if (vm.count("from")) {
    line.from_gseq = parse_number(vm["from"].as<std::string>());
    if (!line.from_gseq) usage_error("--from needs a gseq (0: the oldest the daemon holds)");
  }
  if (vm.count("mode")) {
    line.mode = bcast::parse_mode(vm["mode"].as<std::string>());
    if (!line.mode) usage_error("--mode must be best-effort, reliable or gossip");
  }
  if (vm.count("order")) {
    line.order = bcast::parse_order(vm["order"].as<std::string>());
    if (!line.order) usage_error("--order must be none, fifo, causal or total");
  }
  return line;
}

Client connect_daemon(const CommandLine& line, std::chrono::milliseconds default_timeout) {
  if (line.socket_path.empty()) {
    usage_error("no daemon socket: pass --socket PATH or set BCAST_SOCKET");
  }
  bcast::ClientOptions options;
  options.socket_path = line.socket_path;
  options.client_name = "bcastctl " + line.command;
  options.group_views = true;  // sub prints every view
  options.request_timeout = line.timeout.value_or(default_timeout);
  options.resume = line.resume;
  auto client = Client::connect(options);
  if (!client) fail(client.error().message);
  return std::move(client).value();
}

std::string describe(const bcast::Error& error) {
  return std::string(bcast::error_code_name(error.code)) + ": " + error.message;
}

// ---- sub ----

volatile sig_atomic_t g_stop = 0;
volatile sig_atomic_t g_looping = 0;

void on_stop_signal(int) {
  // Before the delivery loop there is nothing to flush or finish: leave at once rather than
  // sit out a connect or join timeout.
  if (!g_looping) _exit(0);
  g_stop = 1;
}

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a signal should cut the wait for the next event short
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int run_sub(const CommandLine& line) {
  if (line.positional.size() != 1) usage_error("sub needs exactly one GROUP");
  const std::string& group = line.positional[0];
  install_stop_handlers();
  Client client = connect_daemon(line, 5000ms);
  auto joined = line.from_gseq ? client.join(group, *line.from_gseq) : client.join(group);
  if (!joined) {
    fail("cannot join " + group + ": " + describe(joined.error()));
  }
  g_looping = 1;
  std::uint64_t messages = 0;
  while (!g_stop && (!line.count || messages < *line.count)) {
    // A bounded wait: a signal arriving just before the wait starts is seen within it.
    auto event = client.next_event(200ms);
    if (!event) fail("connection lost: " + describe(event.error()));
    if (!event.value()) continue;
    if (const auto* delivery = std::get_if<bcast::Delivery>(&*event.value())) {
      print_line(line.json ? bcast::ctl::message_json(*delivery)
                           : bcast::ctl::message_text(*delivery));
      ++messages;
    } else if (const auto* view = std::get_if<bcast::View>(&*event.value())) {
      print_line(line.json ? bcast::ctl::view_json(*view) : bcast::ctl::view_text(*view));
    } else if (const auto* gap = std::get_if<bcast::Gap>(&*event.value())) {
      print_line(line.json ? bcast::ctl::gap_json(*gap) : bcast::ctl::gap_text(*gap));
    } else if (const auto* error = std::get_if<bcast::RequestError>(&*event.value())) {
      // E.g. deliveries the daemon dropped because we read too slowly: worth knowing, not fatal.
      std::fprintf(stderr, "bcastctl: daemon reports %s\n", describe(error->error).c_str());
    }
  }
  return 0;
}

// ---- pub ----

// The messages to publish, from the arguments or else from stdin, one line each. Reading stdin
// never blocks, so receipts print while a slow producer is still writing.
class MessageSource {
 public:
  MessageSource(std::vector<std::string> args, std::uint64_t max_message_bytes)
      : args_(std::move(args)), from_stdin_(args_.empty()), max_bytes_(max_message_bytes) {}

  bool from_stdin() const { return from_stdin_; }
  // Nothing more will come.
  bool has_next() const {
    return from_stdin_ ? next_line_ < lines_.size() : next_arg_ < args_.size();
  }
  bool done() const { return !has_next() && (!from_stdin_ || eof_); }
  // Whether reading stdin now could produce a message.
  bool wants_input() const { return from_stdin_ && !eof_ && !has_next(); }

  // A message, or an empty optional for a line that exceeded the daemon's limit (dropped).
  std::optional<std::string> next() {
    if (!from_stdin_) return args_[next_arg_++];
    std::optional<std::string> line = std::move(lines_[next_line_++]);
    if (next_line_ == lines_.size()) {
      lines_.clear();
      next_line_ = 0;
    }
    return line;
  }

  // Reads what stdin has; returns an error text if reading failed.
  std::optional<std::string> read_input() {
    char buffer[65536];
    const ssize_t n = ::read(STDIN_FILENO, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) return std::nullopt;
      return std::string("cannot read stdin: ") + std::strerror(errno);
    }
    if (n == 0) {
      eof_ = true;
      // A last line without its newline is still a message.
      if (!partial_.empty() || oversized_) finish_line();
      return std::nullopt;
    }
    for (std::string_view rest(buffer, static_cast<std::size_t>(n)); !rest.empty();) {
      const auto newline = rest.find('\n');
      const std::string_view piece = rest.substr(0, newline);
      // A line longer than any message the daemon accepts is not kept whole: memory stays
      // bounded and the line is reported as refused.
      if (!oversized_) {
        partial_.append(piece);
        if (partial_.size() > max_bytes_) {
          oversized_ = true;
          partial_.clear();
        }
      }
      if (newline == std::string_view::npos) break;
      finish_line();
      rest.remove_prefix(newline + 1);
    }
    return std::nullopt;
  }

 private:
  void finish_line() {
    if (oversized_) {
      lines_.emplace_back(std::nullopt);
    } else {
      lines_.emplace_back(std::move(partial_));
    }
    partial_.clear();
    oversized_ = false;
  }

  std::vector<std::string> args_;
  std::size_t next_arg_ = 0;
  bool from_stdin_;
  std::uint64_t max_bytes_;
  bool eof_ = false;
  std::string partial_;
  bool oversized_ = false;
  std::vector<std::optional<std::string>> lines_;
  std::size_t next_line_ = 0;
};

class Publisher {
 public:
  Publisher(const CommandLine& line, Client& client, std::chrono::milliseconds timeout)
      : json_(line.json),
        group_(line.positional[0]),
        mode_(line.mode.value_or(bcast::Mode::kReliable)),
        order_(line.order.value_or(bcast::Order::kNone)),
        client_(client),
        timeout_(timeout) {}

  void publish(std::optional<std::string> message) {
    ++published_;
    if (!message) {
      refuse(published_, "too_large: line longer than the daemon's limit of " +
                             std::to_string(client_.max_message_bytes()) + " bytes");
      return;
    }
    auto id = client_.publish(group_, mode_, order_, *message);
    if (!id) {
      if (id.error().code != bcast::ErrorCode::kTooLarge) {
        fail("publish failed: " + describe(id.error()));
      }
      refuse(published_, describe(id.error()));
      return;
    }
    outcomes_[id.value()] = Outcome{published_, {}, false};
    last_progress_ = Clock::now();
  }

  // Takes every event that has arrived and prints the receipts now due.
  void drain() {
    for (;;) {
      auto event = client_.next_event(0ms);
      if (!event) fail("connection lost: " + describe(event.error()));
      if (!event.value()) break;
      if (const auto* receipt = std::get_if<bcast::Receipt>(&*event.value())) {
        settle(receipt->request_id, *receipt, std::nullopt);
      } else if (const auto* error = std::get_if<bcast::RequestError>(&*event.value())) {
        if (error->request_id == 0) fail("daemon reports " + describe(error->error));
        settle(error->request_id, std::nullopt, error->error);
      }
    }
    // Receipts in publish order: ids grow with publish order, so the map's front is the
    // oldest message still owed a line.
    while (!outcomes_.empty() && outcomes_.begin()->second.settled) {
      const Outcome& done = outcomes_.begin()->second;
      if (done.receipt && json_) print_line(bcast::ctl::receipt_json(*done.receipt));
      outcomes_.erase(outcomes_.begin());
    }
  }

  bool idle() const { return outcomes_.empty(); }
  bool has_room() const { return client_.in_flight() < kMaxInFlight; }

  // How long the next wait may last; fails once receipts stopped coming for the timeout.
  std::chrono::milliseconds wait_budget() const {
    if (client_.in_flight() == 0) return 1000ms;
    const auto left = last_progress_ + timeout_ - Clock::now();
    if (left <= 0ms) {
      fail("no receipt from the daemon for " + std::to_string(timeout_.count()) + " ms; " +
           std::to_string(client_.in_flight()) + " messages unacknowledged");
    }
    return std::min(std::chrono::ceil<std::chrono::milliseconds>(left),
                    std::chrono::milliseconds(100));
  }

  int finish() const {
    if (refused_ == 0) return 0;
    std::fprintf(stderr, "bcastctl: pub: %llu of %llu messages refused; first: message %llu: %s\n",
                 static_cast<unsigned long long>(refused_),
                 static_cast<unsigned long long>(published_),
                 static_cast<unsigned long long>(first_refused_), first_reason_.c_str());
    return 1;
  }

  static constexpr std::size_t kMaxInFlight = 1024;

 private:
  struct Outcome {
    std::uint64_t index = 0;  // 1-based position in the input
    std::optional<bcast::Receipt> receipt;
    bool settled = false;
  };

  void settle(std::uint64_t id, std::optional<bcast::Receipt> receipt,
              std::optional<bcast::Error> error) {
    auto it = outcomes_.find(id);
    if (it == outcomes_.end() || it->second.settled) return;
    it->second.settled = true;
    it->second.receipt = receipt;
    if (error) refuse(it->second.index, describe(*error));
    last_progress_ = Clock::now();
  }

  void refuse(std::uint64_t index, std::string reason) {
    if (refused_++ == 0) {
      first_refused_ = index;
      first_reason_ = std::move(reason);
    }
  }

  bool json_;
  std::string group_;
  bcast::Mode mode_;
  bcast::Order order_;
  Client& client_;
  std::chrono::milliseconds timeout_;
  std::map<std::uint64_t, Outcome> outcomes_;  // by request id
  std::uint64_t published_ = 0;
  std::uint64_t refused_ = 0;
  std::uint64_t first_refused_ = 0;
  std::string first_reason_;
  Clock::time_point last_progress_ = Clock::now();
};

int run_pub(const CommandLine& line) {
  if (line.positional.empty()) usage_error("pub needs a GROUP");
  std::vector<std::string> messages(line.positional.begin() + 1, line.positional.end());
  // Total-order publishes are held by the daemon through an election (3 s by default), and any
  // publish while a slow subscriber leaves no credit (--publish-wait-ms, 10 s by default), before
  // it refuses them: the default wait outlasts both, so the daemon's reason is what is reported.
  // Pacing needs nothing more: the window (kMaxInFlight) fills while receipts come slowly.
  const std::chrono::milliseconds timeout = line.timeout.value_or(15000ms);
  Client client = connect_daemon(line, timeout);
  Publisher publisher(line, client, timeout);
  MessageSource source(std::move(messages), client.max_message_bytes());

  for (;;) {
    while (publisher.has_room() && source.has_next()) publisher.publish(source.next());
    publisher.drain();
    if (source.done() && publisher.idle()) break;

    pollfd fds[2];
    nfds_t count = 0;
    fds[count++] = pollfd{client.fd(), POLLIN, 0};
    const bool read_stdin = source.wants_input() && publisher.has_room();
    if (read_stdin) fds[count++] = pollfd{STDIN_FILENO, POLLIN, 0};
    const int ready = ::poll(fds, count, static_cast<int>(publisher.wait_budget().count()));
    if (ready < 0 && errno != EINTR) fail(std::string("poll: ") + std::strerror(errno));
    if (read_stdin && ready > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      if (auto error = source.read_input()) fail(*error);
    }
  }
  return publisher.finish();
}

// ---- status, members ----

int run_status(const CommandLine& line, bool members_only) {
  if (!line.positional.empty()) usage_error("unexpected argument " + line.positional[0]);
  Client client = connect_daemon(line, 5000ms);
  auto status = client.status();
  if (!status) fail("status: " + describe(status.error()));
  if (members_only) {
    const std::string text = line.json ? bcast::ctl::members_json(status.value())
                                       : bcast::ctl::members_text(status.value());
    if (!text.empty()) print_line(text);
  } else {
    print_line(line.json ? bcast::ctl::status_json(status.value())
                         : bcast::ctl::status_text(status.value()));
  }
  return 0;
}

// ---- cluster ----

bcast::NodeId parse_node(const std::string& text) {
  const auto id = parse_number(text);
  if (!id || *id == 0 || *id > bcast::kMaxNodeId) usage_error("'" + text + "' is not a node id");
  return *id;
}

int run_cluster(const CommandLine& line) {
  if (line.positional.empty())
    usage_error("cluster needs list, add, promote, remove or transfer-leader");
  const std::string& op = line.positional[0];
  if (!line.key.empty() && op != "add") usage_error("--key is for cluster add only");
  const auto argument = [&]() -> const std::string& {
    if (line.positional.size() != 2) usage_error("cluster " + op + " needs exactly one argument");
    return line.positional[1];
  };
  // Changes wait for the commit, which may span a leader election: a longer default.
  Client client = connect_daemon(line, op == "list" ? 5000ms : 15000ms);
  const auto timeout = line.timeout.value_or(15000ms);
  bcast::Result<void> done;
  if (op == "list") {
    if (line.positional.size() != 1) usage_error("cluster list takes no argument");
    auto info = client.cluster_list();
    if (!info) fail("cluster list: " + describe(info.error()));
    print_line(line.json ? bcast::ctl::cluster_json(info.value())
                         : bcast::ctl::cluster_text(info.value()));
    return 0;
  } else if (op == "add") {
    const std::string& spec = argument();
    const auto eq = spec.find('=');
    if (eq == std::string::npos) usage_error("cluster add needs ID=tcp://IP:PORT");
    done = client.cluster_add_keyed(parse_node(spec.substr(0, eq)), spec.substr(eq + 1), line.key,
                                    line.learner, timeout);
  } else if (op == "promote") {
    done = client.cluster_promote(parse_node(argument()), timeout);
  } else if (op == "remove") {
    done = client.cluster_remove(parse_node(argument()), timeout);
  } else if (op == "transfer-leader") {
    done = client.transfer_leadership(parse_node(argument()), timeout);
  } else {
    usage_error("unknown cluster operation " + op);
  }
  if (!done) fail("cluster " + op + ": " + describe(done.error()));
  if (line.json) print_line("{\"ok\":true}");
  return 0;
}

}  // namespace

// ---- keygen ----

int run_keygen(const CommandLine& line) {
  if (line.out.empty() || !line.positional.empty()) usage_error("keygen needs --out PREFIX");
  auto pair = bcast::io::generate_key_pair();
  if (!pair) fail(pair.error().message);
  if (auto written = bcast::io::write_key_files(line.out, pair.value()); !written) {
    fail(written.error().message);
  }
  print_line(pair.value().public_key);
  return 0;
}

int main(int argc, char** argv) {
  const CommandLine line = parse(argc, argv);
  if (line.command == "sub") return run_sub(line);
  if (line.command == "pub") return run_pub(line);
  if (line.command == "status") return run_status(line, false);
  if (line.command == "members") return run_status(line, true);
  if (line.command == "cluster") return run_cluster(line);
  if (line.command == "keygen") return run_keygen(line);
  if (line.command == "bench") {
    return bcast::ctl::run_bench({.socket_path = line.socket_path,
                                  .timeout = line.timeout,
                                  .positional = line.positional,
                                  .count = line.count,
                                  .mode = line.mode,
                                  .order = line.order,
                                  .json = line.json,
                                  .options = line.bench_options});
  }
  usage_error("unknown command " + line.command);
}
