// Lock commands on the wire: JSON text, so `bcastctl sub locks --json` shows them.
//   {"lock":1,"op":"acquire","name":"db","lease_ms":5000,"now_ms":1764770000000}
//   {"lock":1,"op":"renew","name":"db","lease_ms":5000,"now_ms":...}
//   {"lock":1,"op":"release","name":"db","now_ms":...}
//   {"lock":1,"op":"evict","sender":281479271677953,"now_ms":...}
#pragma once

#include <string>
#include <string_view>

#include "bcast/result.hpp"
#include "lock_table.hpp"

namespace bcast::lock {

Result<std::string> encode(const Command& command);  // kInvalidArgument: name not UTF-8
// kInvalidArgument naming what is wrong; the table treats such a message as invalid.
Result<Command> decode(std::string_view payload);

}  // namespace bcast::lock
