#include "lock_table.hpp"

#include <algorithm>

namespace bcast::lock {

const char* status_name(Outcome::Status status) {
  switch (status) {
    case Outcome::Status::kGranted:
      return "granted";
    case Outcome::Status::kBusy:
      return "busy";
    case Outcome::Status::kRenewed:
      return "renewed";
    case Outcome::Status::kReleased:
      return "released";
    case Outcome::Status::kNotHeld:
      return "not-held";
    case Outcome::Status::kEvicted:
      return "evicted";
    case Outcome::Status::kInvalid:
      return "invalid";
  }
  return "invalid";
}

namespace {

bool valid(const Command& command) {
  if (command.op == Command::Op::kEvict) return command.evicted != 0;
  if (command.lock.empty() || command.lock.size() > 255) return false;
  if (command.op == Command::Op::kRelease) return true;
  return command.lease_ms >= 1 && command.lease_ms <= kMaxLeaseMs;
}

}  // namespace

Outcome LockTable::apply(std::uint64_t gseq, SenderId sender, const Command& command) {
  last_gseq_ = std::max(last_gseq_, gseq);
  if (!valid(command)) return Outcome{};
  advance_clock(command.now_ms);
  switch (command.op) {
    case Command::Op::kAcquire:
      return acquire(gseq, sender, command);
    case Command::Op::kRenew:
      return renew(sender, command);
    case Command::Op::kRelease:
      return release(sender, command);
    case Command::Op::kEvict:
      std::erase_if(leases_,
                    [&](const auto& entry) { return entry.second.holder == command.evicted; });
      return Outcome{Outcome::Status::kEvicted, std::nullopt};
  }
  return Outcome{};
}

// Leases end when the ordered clock reaches their end: at the same command everywhere.
void LockTable::advance_clock(std::int64_t now_ms) {
  clock_ms_ = std::max(clock_ms_, now_ms);
  std::erase_if(leases_, [&](const auto& entry) { return entry.second.expires_ms <= clock_ms_; });
}

Outcome LockTable::acquire(std::uint64_t gseq, SenderId sender, const Command& command) {
  const std::int64_t expires = clock_ms_ + static_cast<std::int64_t>(command.lease_ms);
  auto it = leases_.find(command.lock);
  if (it != leases_.end() && it->second.holder != sender) {
    return Outcome{Outcome::Status::kBusy, it->second};
  }
  if (it != leases_.end()) {  // the holder asking again: keep its token, extend
    it->second.expires_ms = std::max(it->second.expires_ms, expires);
    return Outcome{Outcome::Status::kGranted, it->second};
  }
  Lease lease{sender, gseq, expires};
  leases_.emplace(command.lock, lease);
  return Outcome{Outcome::Status::kGranted, lease};
}

Outcome LockTable::renew(SenderId sender, const Command& command) {
  auto it = leases_.find(command.lock);
  if (it == leases_.end() || it->second.holder != sender)
    return Outcome{Outcome::Status::kNotHeld, {}};
  it->second.expires_ms =
      std::max(it->second.expires_ms, clock_ms_ + static_cast<std::int64_t>(command.lease_ms));
  return Outcome{Outcome::Status::kRenewed, it->second};
}

Outcome LockTable::release(SenderId sender, const Command& command) {
  auto it = leases_.find(command.lock);
  if (it == leases_.end() || it->second.holder != sender)
    return Outcome{Outcome::Status::kNotHeld, {}};
  leases_.erase(it);
  return Outcome{Outcome::Status::kReleased, std::nullopt};
}

std::optional<Lease> LockTable::lease(const std::string& lock) const {
  auto it = leases_.find(lock);
  if (it == leases_.end()) return std::nullopt;
  return it->second;
}

}  // namespace bcast::lock
