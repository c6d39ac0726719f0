// FIFO order for best-effort messages, which may never arrive: a FIFO message waits for the
// earlier messages of its origin's best-effort stream for at most `hold_ticks`, then the gap is
// skipped and announced (a Gap, reason kBestEffortHold). It is never delivered out of order: a
// FIFO message that arrives after its gap was skipped is dropped. Order-none messages are never
// held back, and are delivered even when they arrive late.
//
// A best-effort stream has no cut: for this daemon it starts where it first moves, so what came
// before the first message it takes (a daemon that starts while others publish) is not skipped
// but was never its own.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/bcast/message.hpp"

namespace bcast {

class BestEffortFifo {
 public:
  explicit BestEffortFifo(std::uint32_t hold_ticks) : hold_ticks_(hold_ticks) {}

  // Every new best-effort message passes through here; those ready to deliver (this one and any
  // it unblocks, in order) are appended to `ready`. Late FIFO messages are dropped.
  void on_message(BroadcastMessage message, std::uint64_t now_tick,
                  std::vector<BroadcastMessage>& ready);
  // Skips a gap once the message after it has waited hold_ticks: the gap goes to `gaps`, then
  // what it unblocks to `ready`.
  void tick(std::uint64_t now_tick, std::vector<BroadcastMessage>& ready, std::vector<Gap>& gaps);
  std::size_t held() const;
  std::uint64_t skipped() const { return skipped_; }

 private:
  struct Stream {
    std::uint64_t next = 1;  // the lowest sequence number neither arrived nor skipped
    bool started = false;    // `next` moved: a skip is a gap, no longer the stream's start
    std::map<std::uint64_t, std::uint64_t> arrived;  // beyond `next`: seq -> arrival tick
    std::map<std::uint64_t, BroadcastMessage> held;  // FIFO messages waiting for a gap
  };

  void advance(Stream& stream, std::vector<BroadcastMessage>& ready);

  std::uint32_t hold_ticks_;
  std::map<OriginId, Stream> streams_;
  std::uint64_t skipped_ = 0;
};

}  // namespace bcast
