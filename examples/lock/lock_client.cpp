#include "lock_client.hpp"

#include <algorithm>
#include <utility>

#include "lock_codec.hpp"

namespace bcast::lock {

using Clock = std::chrono::steady_clock;

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

LockClient::LockClient(Client client, std::string group)
    : client_(std::move(client)), group_(std::move(group)) {}

Result<LockClient> LockClient::start(ClientOptions options, std::string group) {
  options.group_views = true;
  const auto timeout = options.request_timeout;
  auto client = Client::connect(options);
  if (!client) return client.error();
  LockClient locks(std::move(client).value(), std::move(group));
  locks.request_timeout_ = timeout;
  if (auto joined = locks.client_.join(locks.group_, 0); !joined) {
    return make_error(joined.error().code, "replaying the lock group needs the daemon's history: " +
                                               joined.error().message);
  }
  if (auto in_view = locks.wait_for_own_view(timeout); !in_view) return in_view.error();
  return locks;
}

// A connection that leaves before its join was agreed appears in no view at all, so its
// departure could never evict it: commands are sent only once this client is in the view.
Result<void> LockClient::wait_for_own_view(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!in_view_) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return make_error(ErrorCode::kTimeout, "not in an agreed view of group " + group_ +
                                                 " in time (does the cluster have a majority?)");
    }
    if (auto polled = poll(left); !polled) return polled;
  }
  return {};
}

Result<Outcome> LockClient::acquire(const std::string& lock, std::chrono::milliseconds lease) {
  return submit(Command{Command::Op::kAcquire, lock, static_cast<std::uint64_t>(lease.count())});
}

Result<Outcome> LockClient::acquire_wait(const std::string& lock, std::chrono::milliseconds lease,
                                         std::chrono::milliseconds timeout,
                                         std::chrono::milliseconds retry) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    auto outcome = acquire(lock, lease);
    if (!outcome || outcome.value().status != Outcome::Status::kBusy) return outcome;
    if (Clock::now() + retry > deadline) {
      return make_error(ErrorCode::kTimeout, "lock " + lock + " still held by sender " +
                                                 std::to_string(outcome.value().lease->holder));
    }
    if (auto polled = poll(retry); !polled) return polled.error();
  }
}

Result<Outcome> LockClient::renew(const std::string& lock, std::chrono::milliseconds lease) {
  return submit(Command{Command::Op::kRenew, lock, static_cast<std::uint64_t>(lease.count())});
}

Result<Outcome> LockClient::release(const std::string& lock) {
  return submit(Command{Command::Op::kRelease, lock});
}

// Publishes the command in total order and applies deliveries until its own comes back.
Result<Outcome> LockClient::submit(Command command) {
  if (!incomplete_.empty()) return make_error(ErrorCode::kUnavailable, incomplete_);
  command.now_ms = wall_clock_ms();
  auto payload = encode(command);
  if (!payload) return payload.error();
  auto receipt = client_.publish_and_wait(group_, Mode::kReliable, Order::kTotal, payload.value());
  if (!receipt) return receipt.error();
  const std::uint64_t seq = receipt.value().seq;
  const auto deadline = Clock::now() + request_timeout_;
  while (own_outcomes_.count(seq) == 0) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) {
      return make_error(ErrorCode::kTimeout,
                        "own command (seq " + std::to_string(seq) + ") not delivered in time");
    }
    if (auto polled = poll(left); !polled) return polled.error();
    if (!incomplete_.empty()) return make_error(ErrorCode::kUnavailable, incomplete_);
  }
  Outcome outcome = own_outcomes_[seq];
  own_outcomes_.erase(seq);
  return outcome;
}

Result<void> LockClient::poll(std::chrono::milliseconds timeout) {
  auto event = client_.next_event(timeout);
  if (!event) return event.error();
  while (event.value()) {
    if (auto handled = handle(*event.value()); !handled) return handled;
    event = client_.next_event(std::chrono::milliseconds(0));
    if (!event) return event.error();
  }
  return {};
}

Result<void> LockClient::handle(const Event& event) {
  if (const auto* delivery = std::get_if<Delivery>(&event)) {
    if (delivery->group != group_ || !delivery->gseq) return {};
    auto command = decode(delivery->payload);
    // A malformed command is applied as invalid: every replica ignores it alike.
    const Outcome outcome =
        table_.apply(*delivery->gseq, delivery->sender,
                     command ? command.value() : Command{Command::Op::kRelease});
    if (delivery->sender == client_.sender()) own_outcomes_[delivery->seq] = outcome;
    return {};
  }
  if (const auto* view = std::get_if<View>(&event)) {
    if (view->group != group_ || !view->view_id) return {};
    in_view_ = in_view_ || std::any_of(view->group_members.begin(), view->group_members.end(),
                                       [&](const ViewMember& m) { return m.sender == self(); });
    evict_departed(*view);
    return {};
  }
  if (const auto* gap = std::get_if<Gap>(&event)) {
    if (gap->kind == Gap::Kind::kTotal && (gap->group.empty() || gap->group == group_)) {
      incomplete_ = "lock commands missed (gap, " + gap->reason + ", gseq " +
                    std::to_string(gap->from) + "..): the lock state is unknown";
    }
    return {};
  }
  if (const auto* error = std::get_if<RequestError>(&event)) {
    if (error->request_id == 0) return error->error;  // e.g. the daemon closed this client
  }
  return {};  // receipts of evicts; an evict refused is covered by the lease's expiry
}

void LockClient::evict_departed(const View& view) {
  for (const ViewMember& member : view.left) {
    const bool holds =
        std::any_of(table_.leases().begin(), table_.leases().end(),
                    [&](const auto& entry) { return entry.second.holder == member.sender; });
    if (!holds || !evicts_sent_.insert(member.sender).second) continue;
    Command evict{Command::Op::kEvict, "", 0, wall_clock_ms(), member.sender};
    if (auto payload = encode(evict)) {
      (void)client_.publish(group_, Mode::kReliable, Order::kTotal, payload.value());
    }
  }
}

}  // namespace bcast::lock
