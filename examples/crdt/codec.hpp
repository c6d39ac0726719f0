// The wire form of this example's messages: JSON text, so `bcastctl sub GROUP` shows them.
//
//   {"crdt":1,"update":{"type":"orset","name":"cart","state":{...}}}   a delta or whole state
//   {"crdt":1,"sync":true}       "send me your whole state": from a replica that starts or
//                                that missed messages (a gap)
//
// Decoding checks everything (a group may carry anything any client published): a payload
// that is not one of these is an error naming what is wrong, and the caller drops it.
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "bcast/result.hpp"
#include "store.hpp"

namespace bcast::crdt {

struct SyncRequest {
  bool operator==(const SyncRequest&) const = default;
};
using Message = std::variant<Update, SyncRequest>;

// kInvalidArgument if a string in the update is not valid UTF-8 (JSON carries text only).
Result<std::string> encode(const Message& message);
Result<Message> decode(std::string_view payload);

}  // namespace bcast::crdt
