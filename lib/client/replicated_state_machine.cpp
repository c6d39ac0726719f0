// The replicated-state-machine helper's shell (lib/include/bcast/replicated_state_machine.hpp):
// the Client, the snapshot file and the clock around the pure RsmCore.
#include "bcast/replicated_state_machine.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace bcast {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::string_view kSnapshotMagic = "bcast-rsm-snapshot 1\n";

void put_u64(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(std::string_view in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  }
  return value;
}

Error io_error(const std::string& what, const std::string& path) {
  return make_error(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}

Result<void> write_all_and_sync(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot write", path);
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  if (::fsync(fd) != 0) return io_error("cannot fsync", path);
  return {};
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::uint64_t random_token() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

}  // namespace

Result<void> write_snapshot_file(const std::string& path, std::uint64_t gseq,
                                 std::string_view state) {
  std::string bytes(kSnapshotMagic);
  put_u64(bytes, gseq);
  put_u64(bytes, state.size());
  bytes.append(state);
  // A crash leaves either the old file or the new one whole: write aside, sync, rename, sync
  // the directory so the rename itself survives.
  const std::string temporary = path + ".tmp";
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return io_error("cannot create", temporary);
  auto written = write_all_and_sync(fd, bytes, temporary);
  ::close(fd);
  if (!written) return written;
  if (::rename(temporary.c_str(), path.c_str()) != 0) return io_error("cannot rename to", path);
  const std::string dir = parent_dir(path);
  const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return io_error("cannot open", dir);
  const int synced = ::fsync(dir_fd);
  ::close(dir_fd);
  if (synced != 0) return io_error("cannot fsync", dir);
  return {};
}

Result<SnapshotFile> read_snapshot_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return make_error(ErrorCode::kNotFound, "no snapshot file " + path);
    return io_error("cannot open", path);
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  const std::string bytes = contents.str();
  const std::size_t header = kSnapshotMagic.size() + 16;
  if (bytes.size() < header ||
      std::string_view(bytes).substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    return make_error(ErrorCode::kCorrupt, "not a bcast-rsm snapshot: " + path);
  }
  SnapshotFile file;
  file.gseq = get_u64(std::string_view(bytes).substr(kSnapshotMagic.size()));
  const std::uint64_t size = get_u64(std::string_view(bytes).substr(kSnapshotMagic.size() + 8));
  if (bytes.size() - header != size) {
    return make_error(ErrorCode::kCorrupt, "truncated snapshot (" +
                                               std::to_string(bytes.size() - header) + " of " +
                                               std::to_string(size) + " bytes): " + path);
  }
  file.state = bytes.substr(header);
  return file;
}

struct ReplicatedStateMachine::Impl {
  Impl(ReplicaOptions options_in, StateMachine& machine_in, Client client_in)
      : options(std::move(options_in)),
        machine(machine_in),
        client(std::move(client_in)),
        core(random_token(), machine, options.max_buffered_bytes) {}

  ReplicaOptions options;
  StateMachine& machine;
  Client client;
  rsm::RsmCore core;
  std::uint64_t next_command_id = 1;
  std::set<std::uint64_t> waiting;                  // command ids whose submit() still waits
  std::map<std::uint64_t, rsm::Completed> done;     // command id -> applied
  std::set<std::uint64_t> covered;                  // command ids a state transfer covered
  std::set<std::uint64_t> command_requests;         // request ids of waiting commands
  std::map<std::uint64_t, Error> publish_failures;  // of those: request id -> why
  std::optional<Clock::time_point> asked_at;        // awaiting a state since (last request)
  std::uint64_t applied_since_snapshot = 0;

  Result<void> flush(rsm::Outbox& out);
  // An agreed view of our group naming only this client: nobody could answer a state request.
  bool alone_in_group(const Event& event) const;
  Result<void> handle(const Event& event);
  Result<void> step(Clock::time_point deadline);
  Result<CommandResult> run_command(std::string body, Clock::time_point deadline);
};

Result<void> ReplicatedStateMachine::Impl::flush(rsm::Outbox& out) {
  for (const auto& request : out.requests) {
    auto sent = client.publish(options.group, Mode::kReliable, Order::kTotal, rsm::encode(request));
    if (!sent) return sent.error();
    asked_at = Clock::now();
  }
  for (const auto& reply : out.replies) {
    // A lost reply costs the requester one more request; nothing to do here about a refusal.
    (void)client.publish(options.group, Mode::kReliable, Order::kFifo, rsm::encode(reply));
  }
  for (auto& completed : out.completed) {
    if (waiting.count(completed.command_id) != 0) {
      done.emplace(completed.command_id, std::move(completed));
    }
  }
  for (const auto command_id : out.covered) {
    if (waiting.count(command_id) != 0) covered.insert(command_id);
  }
  if (core.phase() == rsm::RsmCore::Phase::kLive) asked_at.reset();
  applied_since_snapshot += out.applied_commands;
  if (options.snapshot_every > 0 && applied_since_snapshot >= options.snapshot_every &&
      core.phase() == rsm::RsmCore::Phase::kLive && !options.snapshot_path.empty()) {
    applied_since_snapshot = 0;
    return write_snapshot_file(options.snapshot_path, core.applied_gseq(), machine.snapshot());
  }
  return {};
}

bool ReplicatedStateMachine::Impl::alone_in_group(const Event& event) const {
  const auto* view = std::get_if<View>(&event);
  return view != nullptr && view->view_id && view->group == options.group &&
         view->group_members.size() == 1 && view->group_members[0].sender == client.sender();
}

Result<void> ReplicatedStateMachine::Impl::handle(const Event& event) {
  rsm::Outbox out;
  if (const auto* delivery = std::get_if<Delivery>(&event)) {
    if (delivery->group != options.group) return {};
    if (delivery->gseq) {
      core.on_total_delivery(*delivery->gseq, delivery->payload, out);
    } else {
      core.on_other_delivery(delivery->payload, out);
    }
  } else if (const auto* gap = std::get_if<Gap>(&event)) {
    if (gap->kind == Gap::Kind::kTotal && (gap->group.empty() || gap->group == options.group)) {
      core.on_total_gap(gap->from, gap->to.value_or(gap->from), out);
    }
  } else if (const auto* error = std::get_if<RequestError>(&event)) {
    // Refused state requests and replies are retried by the timer; a refused command ends its
    // submit().
    if (command_requests.count(error->request_id) != 0) {
      publish_failures.emplace(error->request_id, error->error);
    }
  }
  return flush(out);
}

Result<void> ReplicatedStateMachine::Impl::step(Clock::time_point deadline) {
  if (core.phase() == rsm::RsmCore::Phase::kFailed) {
    return make_error(ErrorCode::kUnavailable, "replica failed: " + core.failure());
  }
  const auto now = Clock::now();
  if (asked_at && now - *asked_at >= options.state_transfer_timeout) {
    rsm::Outbox out;  // the replies, or the replicas that would send them, were lost
    core.ask_again(out);
    if (auto flushed = flush(out); !flushed) return flushed;
  }
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
  if (asked_at) wait = std::min(wait, options.state_transfer_timeout);
  auto event = client.next_event(std::max(wait, std::chrono::milliseconds(0)));
  if (!event) return event.error();
  if (!event.value()) return {};
  return handle(*event.value());
}

Result<CommandResult> ReplicatedStateMachine::Impl::run_command(std::string body,
                                                                Clock::time_point deadline) {
  const std::uint64_t id = next_command_id++;
  const bool barrier = body.empty();
  waiting.insert(id);
  auto request =
      client.publish(options.group, Mode::kReliable, Order::kTotal,
                     rsm::encode(rsm::Command{core.replica_token(), id, std::move(body)}));
  if (!request) {
    waiting.erase(id);
    return request.error();
  }
  command_requests.insert(request.value());
  struct Forget {  // whatever way this returns, nothing about this command is kept
    Impl& impl;
    std::uint64_t id, request;
    ~Forget() {
      impl.waiting.erase(id);
      impl.done.erase(id);
      impl.covered.erase(id);
      impl.command_requests.erase(request);
      impl.publish_failures.erase(request);
    }
  } forget{*this, id, request.value()};
  while (true) {
    if (auto found = done.find(id); found != done.end()) {
      return CommandResult{found->second.gseq, std::move(found->second.result)};
    }
    if (covered.count(id) != 0) {
      if (barrier) return CommandResult{core.applied_gseq(), {}};  // the state is past it
      return make_error(ErrorCode::kUnavailable,
                        "the command was applied, but inside the state this replica received by "
                        "state transfer: its effect is in the state, its result is unknown");
    }
    if (auto failed = publish_failures.find(request.value()); failed != publish_failures.end()) {
      return failed->second;
    }
    if (Clock::now() >= deadline) {
      if (core.phase() == rsm::RsmCore::Phase::kAwaitingState) {
        return make_error(ErrorCode::kUnavailable,
                          "the replica lost its place in the total order (a gap) and no state "
                          "transfer has completed yet");
      }
      return make_error(ErrorCode::kTimeout, "the command was not applied in time");
    }
    if (auto stepped = step(deadline); !stepped) return stepped.error();
  }
}

ReplicatedStateMachine::ReplicatedStateMachine(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
ReplicatedStateMachine::~ReplicatedStateMachine() = default;

Result<std::unique_ptr<ReplicatedStateMachine>> ReplicatedStateMachine::open(
    ReplicaOptions options, StateMachine& machine) {
  if (options.group.empty()) return make_error(ErrorCode::kInvalidArgument, "no group given");
  options.client.group_views = true;  // to see at once that no other replica could answer
  auto client = Client::connect(options.client);
  if (!client) return client.error();
  auto impl = std::make_unique<Impl>(std::move(options), machine, std::move(client.value()));
  Impl& r = *impl;
  const auto& group = r.options.group;

  std::optional<SnapshotFile> snapshot;
  if (!r.options.snapshot_path.empty()) {
    auto read = read_snapshot_file(r.options.snapshot_path);
    if (read) {
      snapshot = std::move(read.value());
    } else if (read.error().code != ErrorCode::kNotFound) {
      return read.error();
    }
  }
  if (snapshot) {
    machine.restore(snapshot->state);
    r.core.start_live(snapshot->gseq);
    if (auto joined = r.client.join(group, snapshot->gseq + 1); !joined) return joined.error();
  } else if (r.options.new_replica == ReplicaOptions::NewReplica::kReplayHistory) {
    r.core.start_live(0);
    if (auto joined = r.client.join(group, 0); !joined) return joined.error();
  } else {
    if (auto joined = r.client.join(group); !joined) return joined.error();
    rsm::Outbox out;
    r.core.start_awaiting_state(out);
    if (auto flushed = r.flush(out); !flushed) return flushed.error();
    const auto deadline = Clock::now() + r.options.state_transfer_timeout;
    while (r.core.phase() == rsm::RsmCore::Phase::kAwaitingState && Clock::now() < deadline) {
      auto event = r.client.next_event(
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
      if (!event) return event.error();
      if (!event.value()) continue;
      if (r.alone_in_group(*event.value())) break;
      if (auto handled = r.handle(*event.value()); !handled) return handled.error();
    }
    if (r.core.phase() == rsm::RsmCore::Phase::kAwaitingState) {
      // Nobody answered, or the agreed view shows nobody who could: the first replica of the
      // group. Its state is the whole history.
      if (auto left = r.client.leave(group); !left) return left.error();
      // What the live join delivered up to the leave (our own request among it) is kept for
      // next_event(); applied now, it would put the position past the history the replay
      // brings next, so it is dropped: the replay has all of it.
      while (r.client.has_queued_events()) {
        if (auto dropped = r.client.next_event(std::chrono::milliseconds(0)); !dropped) {
          return dropped.error();
        }
      }
      r.core.start_live(0);
      r.asked_at.reset();
      if (auto joined = r.client.join(group, 0); !joined) return joined.error();
    }
  }
  auto replica =
      std::unique_ptr<ReplicatedStateMachine>(new ReplicatedStateMachine(std::move(impl)));
  if (auto synced = replica->sync(); !synced) return synced.error();
  return replica;
}

Result<CommandResult> ReplicatedStateMachine::submit(
    std::string_view command, std::optional<std::chrono::milliseconds> timeout) {
  if (command.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "an empty command (empty is the barrier)");
  }
  return impl_->run_command(std::string(command),
                            Clock::now() + timeout.value_or(impl_->options.client.request_timeout));
}

Result<std::uint64_t> ReplicatedStateMachine::sync(
    std::optional<std::chrono::milliseconds> timeout) {
  auto barrier = impl_->run_command(
      std::string(), Clock::now() + timeout.value_or(impl_->options.client.request_timeout));
  if (!barrier) return barrier.error();
  return barrier.value().gseq;
}

Result<void> ReplicatedStateMachine::poll(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  do {
    if (auto stepped = impl_->step(deadline); !stepped) return stepped;
  } while (Clock::now() < deadline || impl_->client.has_queued_events());
  return {};
}

Result<void> ReplicatedStateMachine::wait_applied(std::uint64_t gseq,
                                                  std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (impl_->core.applied_gseq() < gseq || !live()) {
    if (Clock::now() >= deadline) {
      return make_error(ErrorCode::kTimeout, "position " + std::to_string(gseq) +
                                                 " not applied in time (at " +
                                                 std::to_string(impl_->core.applied_gseq()) + ")");
    }
    if (auto stepped = impl_->step(deadline); !stepped) return stepped;
  }
  return {};
}

Result<void> ReplicatedStateMachine::save_snapshot() {
  if (impl_->options.snapshot_path.empty()) {
    return make_error(ErrorCode::kInvalidArgument, "no snapshot_path set");
  }
  if (!live()) return make_error(ErrorCode::kUnavailable, "no valid state to save yet");
  impl_->applied_since_snapshot = 0;
  return write_snapshot_file(impl_->options.snapshot_path, impl_->core.applied_gseq(),
                             impl_->machine.snapshot());
}

std::uint64_t ReplicatedStateMachine::applied_gseq() const { return impl_->core.applied_gseq(); }
bool ReplicatedStateMachine::live() const {
  return impl_->core.phase() == rsm::RsmCore::Phase::kLive;
}
std::uint64_t ReplicatedStateMachine::state_transfers() const {
  return impl_->core.state_transfers();
}
std::uint64_t ReplicatedStateMachine::replica_token() const { return impl_->core.replica_token(); }
Client& ReplicatedStateMachine::client() { return impl_->client; }

}  // namespace bcast
