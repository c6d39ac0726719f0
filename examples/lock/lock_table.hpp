// The lease-lock state machine, I/O free: every replica applies the same totally ordered
// commands (bcastd total order: one gseq sequence, identical at every daemon) and so computes
// the same holders, tokens and expiries. Nothing here reads a clock.
//
// Time comes only from the ordered messages: each command carries its sender's wall clock
// (`now_ms`), and the table's clock is the largest `now_ms` applied so far. Before applying a
// command the table advances its clock and expires every lease whose end it has passed, so a
// lease ends at the first ordered command that carries a time past it, at the same position at
// every replica (and in every replay). Clock assumption: any two clients' clocks differ by at
// most S. A holder that sent its acquire or renew at its local time t may act on the lock until
// t + lease - S by its own clock: the grant's clock is at least t, so only a command stamped
// t + lease or later ends the lease, and no client's clock reads that before the holder's reads
// t + lease - S. Past that it may already have lost the lock (so may a holder that was paused,
// or whose daemon was cut off and declared failed). Safety does not depend on the assumption:
// the resource checks fencing tokens (fenced_store.hpp).
//
// Fencing token: the gseq of the acquire that granted the lock. Tokens of one lock increase
// with every grant (gseqs increase), so a resource that remembers the highest token it saw
// refuses a holder whose lease ended and was granted to someone else.
//
// Holders are bcastd sender ids (Delivery::sender: set by the daemon, not by the message, and
// never reused), so a command can only renew or release locks of the connection that sent it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "bcast/types.hpp"

namespace bcast::lock {

struct Command {
  enum class Op : std::uint8_t { kAcquire, kRenew, kRelease, kEvict };
  Op op = Op::kAcquire;
  std::string lock;            // acquire, renew, release: 1..255 bytes
  std::uint64_t lease_ms = 0;  // acquire, renew: 1..kMaxLeaseMs
  std::int64_t now_ms = 0;     // the sender's wall clock (ms since the Unix epoch)
  SenderId evicted = 0;        // evict: every lock this sender holds is released
  bool operator==(const Command&) const = default;
};
inline constexpr std::uint64_t kMaxLeaseMs = 24ULL * 3600 * 1000;

struct Lease {
  SenderId holder = 0;
  std::uint64_t token = 0;  // the gseq of the acquire that granted it
  std::int64_t expires_ms = 0;
  bool operator==(const Lease&) const = default;
};

struct Outcome {
  enum class Status : std::uint8_t {
    kGranted,   // acquire: the sender holds the lock (again, if it already did: extended)
    kBusy,      // acquire: another holds it (`lease` says who, until when)
    kRenewed,   // renew: extended
    kReleased,  // release
    kNotHeld,   // renew or release by a sender that does not hold the lock (its lease ended)
    kEvicted,   // evict: applied (whatever it released)
    kInvalid,   // a malformed command: ignored, at every replica alike
  };
  Status status = Status::kInvalid;
  std::optional<Lease> lease;  // granted, busy, renewed: the lock's lease after the command
};
const char* status_name(Outcome::Status status);

class LockTable {
 public:
  // Applies the command at position `gseq` sent by `sender`. gseqs must increase.
  Outcome apply(std::uint64_t gseq, SenderId sender, const Command& command);
  std::optional<Lease> lease(const std::string& lock) const;
  const std::map<std::string, Lease>& leases() const { return leases_; }
  std::int64_t clock_ms() const { return clock_ms_; }
  std::uint64_t last_gseq() const { return last_gseq_; }
  bool operator==(const LockTable&) const = default;

 private:
  void advance_clock(std::int64_t now_ms);
  Outcome acquire(std::uint64_t gseq, SenderId sender, const Command& command);
  Outcome renew(SenderId sender, const Command& command);
  Outcome release(SenderId sender, const Command& command);

  std::map<std::string, Lease> leases_;  // only held locks
  std::int64_t clock_ms_ = 0;
  std::uint64_t last_gseq_ = 0;
};

}  // namespace bcast::lock
