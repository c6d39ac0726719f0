// The key-value state machine (kv_machine.hpp).
#include "kv_machine.hpp"

#include <charconv>
#include <nlohmann/json.hpp>

namespace bcast::kv {
namespace {

using nlohmann::json;

std::string failure(const std::string& why) { return json{{"ok", false}, {"error", why}}.dump(); }

json optional_value(const std::optional<std::string>& value) {
  return value ? json(*value) : json(nullptr);
}

std::optional<long long> parse_integer(const std::string& text) {
  long long value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> KvMachine::get(const std::string& key) const {
  auto found = entries_.find(key);
  if (found == entries_.end()) return std::nullopt;
  return found->second;
}

std::string KvMachine::apply(std::string_view command) {
  const json request = json::parse(command, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object() || !request.contains("op") || !request["op"].is_string() ||
      !request.contains("key") || !request["key"].is_string()) {
    return failure("not a command: needs \"op\" and \"key\" strings");
  }
  const std::string op = request["op"];
  const std::string key = request["key"];
  if (op == "get") return json{{"ok", true}, {"value", optional_value(get(key))}}.dump();
  if (op == "put") {
    if (!request.contains("value") || !request["value"].is_string()) {
      return failure("put needs a string \"value\"");
    }
    entries_[key] = request["value"].get<std::string>();
    return json{{"ok", true}}.dump();
  }
  if (op == "delete") {
    return json{{"ok", true}, {"existed", entries_.erase(key) > 0}}.dump();
  }
  if (op == "cas") {
    if (!request.contains("value") || !request["value"].is_string() ||
        !request.contains("expected") ||
        !(request["expected"].is_string() || request["expected"].is_null())) {
      return failure("cas needs \"expected\" (a string or null) and a string \"value\"");
    }
    const auto current = get(key);
    const std::optional<std::string> expected =
        request["expected"].is_null() ? std::nullopt
                                      : std::optional(request["expected"].get<std::string>());
    const bool swapped = current == expected;
    if (swapped) entries_[key] = request["value"].get<std::string>();
    return json{{"ok", true}, {"swapped", swapped}, {"value", optional_value(current)}}.dump();
  }
  if (op == "incr") {
    if (!request.contains("by") || !request["by"].is_number_integer()) {
      return failure("incr needs an integer \"by\"");
    }
    const auto current = get(key);
    const auto number = current ? parse_integer(*current) : std::optional<long long>(0);
    if (!number) return failure("the value of " + key + " is not an integer");
    long long sum = 0;
    if (__builtin_add_overflow(*number, request["by"].get<long long>(), &sum)) {
      return failure("incr of " + key + " overflows");
    }
    const std::string next = std::to_string(sum);
    entries_[key] = next;
    return json{{"ok", true}, {"value", next}}.dump();
  }
  return failure("unknown op " + op);
}

std::string KvMachine::snapshot() { return json(entries_).dump(); }

void KvMachine::restore(std::string_view state) {
  // Only replicas write snapshots, so a state that does not parse is a bug, not user input.
  entries_ = json::parse(state).get<std::map<std::string, std::string>>();
}

}  // namespace bcast::kv
