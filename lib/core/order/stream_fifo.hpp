// FIFO order for reliable and gossip messages: a FIFO message is delivered once every earlier
// message of its stream has arrived (repair guarantees they do), so a sender's FIFO messages are
// delivered in publish order with no gaps.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "core/bcast/message.hpp"

namespace bcast {

class StreamFifo {
 public:
  void hold(BroadcastMessage message);
  // Moves the held messages of `stream` up to `received_upto` (every message through it has
  // arrived) to `ready`, in stream order.
  void release(StreamKey stream, std::uint64_t received_upto, std::vector<BroadcastMessage>& ready);
  std::size_t held() const;

 private:
  std::map<StreamKey, std::map<std::uint64_t, BroadcastMessage>> held_;
};

}  // namespace bcast
