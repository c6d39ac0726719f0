// The key-value store's client side: writes and strong reads through the total order, local
// reads at the sequential and eventual levels (kv_store.hpp).
#include "kv_store.hpp"

namespace bcast::kv {

using nlohmann::json;

std::optional<Consistency> parse_consistency(std::string_view name) {
  if (name == "strong") return Consistency::kStrong;
  if (name == "sequential") return Consistency::kSequential;
  if (name == "eventual") return Consistency::kEventual;
  return std::nullopt;
}

const char* consistency_name(Consistency level) {
  switch (level) {
    case Consistency::kStrong:
      return "strong";
    case Consistency::kSequential:
      return "sequential";
    case Consistency::kEventual:
      return "eventual";
  }
  return "?";
}

Result<std::unique_ptr<KvStore>> KvStore::open(ReplicaOptions options) {
  auto machine = std::make_unique<KvMachine>();
  auto replica = ReplicatedStateMachine::open(std::move(options), *machine);
  if (!replica) return replica.error();
  return std::unique_ptr<KvStore>(new KvStore(std::move(machine), std::move(replica.value())));
}

Result<json> KvStore::execute(const json& command, Session& session,
                              std::optional<std::chrono::milliseconds> timeout) {
  auto done = replica_->submit(command.dump(), timeout);
  if (!done) return done.error();
  session.seen_gseq = std::max(session.seen_gseq, done.value().gseq);
  return json::parse(done.value().result);
}

Result<json> KvStore::put(const std::string& key, const std::string& value, Session& session) {
  return execute({{"op", "put"}, {"key", key}, {"value", value}}, session);
}

Result<json> KvStore::remove(const std::string& key, Session& session) {
  return execute({{"op", "delete"}, {"key", key}}, session);
}

Result<json> KvStore::compare_and_set(const std::string& key,
                                      const std::optional<std::string>& expected,
                                      const std::string& value, Session& session) {
  return execute({{"op", "cas"},
                  {"key", key},
                  {"expected", expected ? json(*expected) : json(nullptr)},
                  {"value", value}},
                 session);
}

Result<json> KvStore::increment(const std::string& key, long long by, Session& session) {
  return execute({{"op", "incr"}, {"key", key}, {"by", by}}, session);
}

Result<ReadResult> KvStore::get(const std::string& key, Consistency level, Session& session,
                                std::optional<std::chrono::milliseconds> timeout) {
  const auto wait = timeout.value_or(std::chrono::milliseconds(5000));
  if (level == Consistency::kStrong) {
    auto result = execute({{"op", "get"}, {"key", key}}, session, wait);
    if (!result) return result.error();
    const json& reply = result.value();
    ReadResult read;
    if (reply.contains("value") && reply["value"].is_string()) read.value = reply["value"];
    read.gseq = session.seen_gseq;
    return read;
  }
  if (level == Consistency::kSequential) {
    // Take in what has already arrived, then make sure this session never sees less than it
    // saw before (another replica, or this one restarted from an older snapshot, may lag).
    if (auto polled = replica_->poll(std::chrono::milliseconds(0)); !polled) return polled.error();
    if (auto caught_up = replica_->wait_applied(session.seen_gseq, wait); !caught_up) {
      return caught_up.error();
    }
    session.seen_gseq = std::max(session.seen_gseq, replica_->applied_gseq());
  }
  return ReadResult{machine_->get(key), replica_->applied_gseq()};
}

}  // namespace bcast::kv
