// The acceptance property of the CRDT example: replicas that apply random concurrent operations
// of every type, and exchange their deltas over a network that partitions, holds messages back,
// delivers them late in any order and delivers some twice, all end with the same state once
// the partitions heal and everything is delivered; and that state is the one the types'
// specifications demand, computed by a model that does not use the CRDT code.
//
// Seeds: BCAST_CRDT_SEEDS=N runs N seeds (default 300); a failure names its seed.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "codec.hpp"
#include "store.hpp"

namespace bcast::crdt {
namespace {

// splitmix64 with our own bounded draw: the same seed gives the same run everywhere.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  std::uint64_t uniform(std::uint64_t bound) { return next() % bound; }  // bound is small
  bool chance(int percent) { return uniform(100) < static_cast<std::uint64_t>(percent); }

 private:
  std::uint64_t state_;
};

// The specification side. Every operation gets an id; a replica "knows" an operation on a key
// (an MV-register, or one element of an OR-set) once it ran it or received a message carrying
// it, and a message carries everything its sender knew of that key (knowledge is transitive,
// as happened-before is). An operation is overwritten iff another operation on its key knew it.
using Knowledge = std::map<std::string, std::set<int>>;  // key -> operation ids

struct ModelOp {
  std::string key;
  bool adds = false;   // an MV write or an OR-set add; false: an OR-set remove
  std::string value;   // the MV value (OR-set: the element is in the key)
  std::set<int> seen;  // what its replica knew of the key before it
};

struct Model {
  std::map<std::string, std::uint64_t> gcounter_sums;
  std::map<std::string, std::int64_t> pncounter_sums;
  std::map<std::string, std::int64_t> max_values;
  std::map<std::string, std::set<std::string>> gset_elements;
  std::vector<ModelOp> ops;
  std::vector<Knowledge> known;  // per replica

  // Records an MV write or OR-set add/remove at `replica`; returns what its message carries.
  Knowledge record(std::size_t replica, const std::string& key, bool adds, std::string value) {
    const int id = static_cast<int>(ops.size());
    ops.push_back(ModelOp{key, adds, std::move(value), known[replica][key]});
    known[replica][key].insert(id);
    return Knowledge{{key, known[replica][key]}};
  }
  void learn(std::size_t replica, const Knowledge& carried) {
    for (const auto& [key, ids] : carried) known[replica][key].insert(ids.begin(), ids.end());
  }
  // Keys whose live operations are adds: "mv/NAME" -> values, "or/NAME/ELEMENT" -> {ELEMENT}.
  std::set<std::string> live_values(const std::string& key) const {
    std::set<int> overwritten;
    for (const ModelOp& op : ops) {
      if (op.key == key) overwritten.insert(op.seen.begin(), op.seen.end());
    }
    std::set<std::string> values;
    for (std::size_t id = 0; id < ops.size(); ++id) {
      const ModelOp& op = ops[id];
      if (op.key == key && op.adds && overwritten.count(static_cast<int>(id)) == 0) {
        values.insert(op.value);
      }
    }
    return values;
  }
};

struct InFlight {
  std::size_t from = 0;
  std::string payload;
  Knowledge carried;
};

const std::vector<std::string> kNames = {"x", "y"};
const std::vector<std::string> kValues = {"a", "b", "c", "d"};

class ConvergenceRun {
 public:
  // `wire` sees every payload sent (a broken network or codec for the checker's own test).
  using Wire = std::function<std::string(std::string)>;
  explicit ConvergenceRun(std::uint64_t seed, Wire wire = {}) : rng_(seed), wire_(std::move(wire)) {
    const std::size_t replicas = 2 + rng_.uniform(4);  // 2..5
    for (std::size_t i = 0; i < replicas; ++i) {
      // Sender-id-like replica ids: node in the top bits, as over bcastd.
      stores_.emplace_back((static_cast<ReplicaId>(i + 1) << 48) | rng_.uniform(1000));
    }
    model_.known.resize(replicas);
    inbox_.resize(replicas);
    side_.assign(replicas, 0);
  }

  void run() {
    const int steps = 150 + static_cast<int>(rng_.uniform(250));
    for (int step = 0; step < steps; ++step) {
      if (rng_.chance(4)) repartition();
      const std::uint64_t roll = rng_.uniform(100);
      if (roll < 45) {
        operate(rng_.uniform(stores_.size()));
      } else if (roll < 50) {
        push_whole_state(rng_.uniform(stores_.size()));
      } else {
        deliver_one(/*healed=*/false);
      }
    }
    side_.assign(stores_.size(), 0);  // heal: everything held back now flows, in any order
    while (pending() > 0) deliver_one(/*healed=*/true);
  }

  // The first violation found, or "" if the run converged to the specified state.
  std::string violation() const {
    for (std::size_t i = 1; i < stores_.size(); ++i) {
      if (!(stores_[i] == stores_[0])) {
        return "replica " + std::to_string(i) + " differs from replica 0";
      }
    }
    const Store& store = stores_[0];
    std::string found;
    auto expect = [&](const std::string& what, const std::string& actual,
                      const std::string& expected) {
      if (found.empty() && actual != expected) {
        found = what + " is " + actual + ", the model says " + expected;
      }
    };
    auto text = [](const std::set<std::string>& elements) { return describe(GSet::of(elements)); };
    for (const auto& [name, sum] : model_.gcounter_sums) {
      expect("gcounter " + name, describe(*store.find(Type::kGCounter, name)), std::to_string(sum));
    }
    for (const auto& [name, sum] : model_.pncounter_sums) {
      expect("pncounter " + name, describe(*store.find(Type::kPNCounter, name)),
             std::to_string(sum));
    }
    for (const auto& [name, value] : model_.max_values) {
      expect("max " + name, describe(*store.find(Type::kMaxRegister, name)), std::to_string(value));
    }
    for (const auto& [name, elements] : model_.gset_elements) {
      expect("gset " + name, describe(*store.find(Type::kGSet, name)), text(elements));
    }
    for (const std::string& name : kNames) {
      if (const Object* reg = store.find(Type::kMVRegister, name)) {
        // Concurrent writes of equal values are distinct entries; the model keeps values.
        const auto values = std::get<MVRegister>(*reg).values();
        expect("mvregister " + name, text({values.begin(), values.end()}),
               text(model_.live_values("mv/" + name)));
      }
      if (const Object* set = store.find(Type::kORSet, name)) {
        std::set<std::string> expected;
        for (const std::string& element : kValues) {
          if (!model_.live_values("or/" + name + "/" + element).empty()) expected.insert(element);
        }
        expect("orset " + name, describe(*set), text(expected));
      }
    }
    // A replica that starts late catches up from one replica's whole state (a sync answer).
    Store late(0xfeed);
    for (const Update& update : store.snapshot()) {
      auto decoded = decode(encode(update).value());
      if (!decoded) return "a whole state does not decode: " + decoded.error().message;
      late.merge(std::get<Update>(decoded.value()));
    }
    if (found.empty() && !(late == store)) found = "state transfer gives another state";
    return found;
  }

  int operations() const { return operations_; }

 private:
  std::size_t pending() const {
    std::size_t count = 0;
    for (const auto& queue : inbox_) count += queue.size();
    return count;
  }

  void repartition() {
    for (auto& side : side_) side = rng_.chance(30) ? 1 : 0;  // sometimes everyone on one side
  }

  void send(std::size_t from, const Update& update, Knowledge carried) {
    auto payload = encode(update);
    ASSERT_TRUE(payload.ok()) << payload.error().message;
    const std::string sent = wire_ ? wire_(payload.value()) : payload.value();
    for (std::size_t to = 0; to < stores_.size(); ++to) {
      if (to != from) inbox_[to].push_back(InFlight{from, sent, carried});
    }
  }

  void operate(std::size_t replica) {
    Store& store = stores_[replica];
    const std::string& name = kNames[rng_.uniform(kNames.size())];
    const std::string& value = kValues[rng_.uniform(kValues.size())];
    ++operations_;
    switch (rng_.uniform(7)) {
      case 0: {
        const std::uint64_t n = 1 + rng_.uniform(5);
        auto update = store.gcounter_increment(name, n);
        ASSERT_TRUE(update.ok());
        model_.gcounter_sums[name] += n;
        send(replica, update.value(), {});
        break;
      }
      case 1: {
        const std::int64_t n = static_cast<std::int64_t>(rng_.uniform(11)) - 5;
        auto update = store.pncounter_add(name, n);
        if (n == 0) {  // refused: nothing to send
          ASSERT_FALSE(update.ok());
          break;
        }
        ASSERT_TRUE(update.ok());
        model_.pncounter_sums[name] += n;
        send(replica, update.value(), {});
        break;
      }
      case 2: {
        const std::int64_t proposed = static_cast<std::int64_t>(rng_.uniform(1000)) - 500;
        auto& max = model_.max_values.try_emplace(name, proposed).first->second;
        max = std::max(max, proposed);
        send(replica, store.max_propose(name, proposed), {});
        break;
      }
      case 3: {
        Knowledge carried = model_.record(replica, "mv/" + name, true, value);
        send(replica, store.mvregister_write(name, value), carried);
        break;
      }
      case 4:
        model_.gset_elements[name].insert(value);
        send(replica, store.gset_add(name, value), {});
        break;
      case 5: {
        Knowledge carried = model_.record(replica, "or/" + name + "/" + value, true, value);
        send(replica, store.orset_add(name, value), carried);
        break;
      }
      default: {
        Knowledge carried = model_.record(replica, "or/" + name + "/" + value, false, "");
        send(replica, store.orset_remove(name, value), carried);
        break;
      }
    }
  }

  // An anti-entropy answer: one object's whole state, carrying all its sender knew of it.
  void push_whole_state(std::size_t replica) {
    const auto snapshot = stores_[replica].snapshot();
    if (snapshot.empty()) return;
    const Update& update = snapshot[rng_.uniform(snapshot.size())];
    const std::string prefix = type_of(update.state) == Type::kMVRegister ? "mv/" + update.name
                               : type_of(update.state) == Type::kORSet ? "or/" + update.name + "/"
                                                                       : "";
    Knowledge carried;
    if (!prefix.empty()) {
      for (const auto& [key, ids] : model_.known[replica]) {
        if (key == prefix || (prefix.back() == '/' && key.rfind(prefix, 0) == 0)) {
          carried[key] = ids;
        }
      }
    }
    send(replica, update, carried);
  }

  // Delivers a random held message whose link is open; keeps some for a second delivery.
  void deliver_one(bool healed) {
    const std::size_t to = rng_.uniform(stores_.size());
    auto& queue = inbox_[to];
    if (queue.empty()) return;
    const std::size_t index = rng_.uniform(queue.size());
    const InFlight message = queue[index];
    if (side_[message.from] != side_[to]) return;  // partitioned: held back
    if (!rng_.chance(healed ? 5 : 10)) queue.erase(queue.begin() + static_cast<long>(index));
    auto decoded = decode(message.payload);
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;
    stores_[to].merge(std::get<Update>(decoded.value()));
    model_.learn(to, message.carried);
  }

  Rng rng_;
  Wire wire_;
  std::vector<Store> stores_;
  Model model_;
  std::vector<std::vector<InFlight>> inbox_;
  std::vector<int> side_;
  int operations_ = 0;
};

int seed_count() {
  const char* text = std::getenv("BCAST_CRDT_SEEDS");
  return text != nullptr ? std::max(1, std::atoi(text)) : 300;
}

// Runs `seeds` seeds; returns the first violation with its seed, or "".
std::string first_violation(int seeds, const ConvergenceRun::Wire& wire, long* operations) {
  for (int seed = 1; seed <= seeds; ++seed) {
    ConvergenceRun run(static_cast<std::uint64_t>(seed), wire);
    run.run();
    if (::testing::Test::HasFatalFailure()) return "seed " + std::to_string(seed) + ": aborted";
    const std::string violation = run.violation();
    if (!violation.empty()) return "seed " + std::to_string(seed) + ": " + violation;
    if (operations != nullptr) *operations += run.operations();
  }
  return "";
}

TEST(CrdtConvergence, RandomOperationsPartitionsReorderingAndDuplicatesConverge) {
  long operations = 0;
  EXPECT_EQ(first_violation(seed_count(), {}, &operations), "");
  RecordProperty("operations", static_cast<int>(operations));
}

// The checker's own test: an OR-set remove that does not carry the adds it saw (its delta's
// context emptied on the wire) must be caught.
TEST(CrdtConvergence, CatchesAnOrSetRemoveThatForgetsWhatItSaw) {
  auto forget = [](std::string payload) {
    auto document = nlohmann::json::parse(payload);
    auto& update = document["update"];
    if (update["type"] == "orset" && update["state"]["entries"].empty()) {
      update["state"]["context"] = {{"prefix", nlohmann::json::array()},
                                    {"cloud", nlohmann::json::array()}};
    }
    return document.dump();
  };
  EXPECT_NE(first_violation(20, forget, nullptr), "");
}

// ... and a multi-value register whose writes forget the versions they overwrote (each write's
// version vector cut to its largest entry).
TEST(CrdtConvergence, CatchesARegisterWriteThatForgetsWhatItOverwrote) {
  auto forget = [](std::string payload) {
    auto document = nlohmann::json::parse(payload);
    auto& update = document["update"];
    if (update["type"] == "mvregister" && update["state"]["entries"].size() == 1) {
      auto& version = update["state"]["entries"][0]["version"];
      nlohmann::json largest = version[0];
      for (const auto& entry : version) {
        if (entry[1] > largest[1]) largest = entry;
      }
      version = nlohmann::json::array({largest});
    }
    return document.dump();
  };
  EXPECT_NE(first_violation(20, forget, nullptr), "");
}

// ... and a network that loses messages for good (no sync) cannot converge.
TEST(CrdtConvergence, CatchesLostMessages) {
  int sent = 0;
  auto lose_some = [&sent](std::string payload) {
    return ++sent % 7 == 0 ? std::string(R"({"crdt":1,"update":{"type":"gset","name":"z",)"
                                         R"("state":{"elements":[]}}})")
                           : payload;
  };
  EXPECT_NE(first_violation(20, lose_some, nullptr), "");
}

}  // namespace
}  // namespace bcast::crdt
