#include "lock_codec.hpp"

#include <array>
#include <nlohmann/json.hpp>

namespace bcast::lock {

namespace {

using nlohmann::json;
constexpr std::array<const char*, 4> kOps = {"acquire", "renew", "release", "evict"};

Error malformed(const std::string& why) {
  return make_error(ErrorCode::kInvalidArgument, "malformed lock command: " + why);
}

}  // namespace

Result<std::string> encode(const Command& command) {
  json document = {{"lock", 1},
                   {"op", kOps.at(static_cast<std::size_t>(command.op))},
                   {"now_ms", command.now_ms}};
  if (command.op == Command::Op::kEvict) {
    document["sender"] = command.evicted;
  } else {
    document["name"] = command.lock;
  }
  if (command.op == Command::Op::kAcquire || command.op == Command::Op::kRenew) {
    document["lease_ms"] = command.lease_ms;
  }
  try {
    return document.dump();
  } catch (const json::type_error& error) {
    return make_error(ErrorCode::kInvalidArgument,
                      std::string("a lock name must be UTF-8 text: ") + error.what());
  }
}

Result<Command> decode(std::string_view payload) {
  const json document = json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!document.is_object()) return malformed("not a JSON object");
  auto version = document.find("lock");
  if (version == document.end() || *version != 1) return malformed("\"lock\" must be 1");
  Command command;
  auto op = document.find("op");
  if (op == document.end() || !op->is_string()) return malformed("no \"op\"");
  std::size_t index = 0;
  while (index < kOps.size() && *op != kOps[index]) ++index;
  if (index == kOps.size()) return malformed("unknown op " + op->dump());
  command.op = static_cast<Command::Op>(index);
  auto now = document.find("now_ms");
  if (now == document.end() || !now->is_number_integer()) return malformed("no \"now_ms\"");
  if (now->is_number_unsigned() && now->get<std::uint64_t>() > INT64_MAX) {
    return malformed("now_ms out of range");
  }
  command.now_ms = now->get<std::int64_t>();
  if (command.op == Command::Op::kEvict) {
    auto sender = document.find("sender");
    if (sender == document.end() || !sender->is_number_unsigned())
      return malformed("no \"sender\"");
    command.evicted = sender->get<SenderId>();
    return command;
  }
  auto name = document.find("name");
  if (name == document.end() || !name->is_string()) return malformed("no \"name\"");
  command.lock = name->get<std::string>();
  if (command.op == Command::Op::kAcquire || command.op == Command::Op::kRenew) {
    auto lease = document.find("lease_ms");
    if (lease == document.end() || !lease->is_number_unsigned())
      return malformed("no \"lease_ms\"");
    command.lease_ms = lease->get<std::uint64_t>();
  }
  return command;
}

}  // namespace bcast::lock
