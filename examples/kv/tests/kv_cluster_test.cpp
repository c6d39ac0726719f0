// The key-value store against a real 3-daemon cluster: commands and read levels, restart from a
// snapshot, state transfer to a replica added while writes run, sequential reads that never go
// backwards, and randomized concurrent histories checked for linearizability through a
// sequencer (leader) kill and replica restarts. BCAST_KV_LONG=1 runs the randomized test longer.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "integration_test.hpp"
#include "kv_store.hpp"
#include "linearizability.hpp"

namespace bcast::kv {
namespace {

using integration::LocalCluster;
using namespace std::chrono_literals;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

class KvCluster : public integration::IntegrationTest {
 protected:
  ReplicaOptions options(const std::string& socket, const std::string& snapshot = "") {
    ReplicaOptions o;
    o.client.socket_path = socket;
    o.client.request_timeout = 10s;
    o.group = "kv";
    o.snapshot_path = snapshot;
    return o;
  }
  std::unique_ptr<KvStore> open_store(const ReplicaOptions& o) {
    auto store = KvStore::open(o);
    EXPECT_TRUE(store) << (store ? "" : store.error().message);
    return store ? std::move(store.value()) : nullptr;
  }
};

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now().time_since_epoch())
      .count();
}

std::string read_file_bytes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_file_bytes(const std::string& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

std::optional<std::string> value_of(const json& reply) {
  if (reply.contains("value") && reply["value"].is_string()) return reply["value"];
  return std::nullopt;
}

TEST_F(KvCluster, CommandsAndReadLevelsOnReplicasAtDifferentDaemons) {
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  auto first = open_store(options(cluster.socket(1)));
  ASSERT_TRUE(first);
  auto second = open_store(options(cluster.socket(2)));
  ASSERT_TRUE(second);
  Session a, b;
  ASSERT_TRUE(first->put("x", "1", a));
  auto swapped = first->compare_and_set("x", "1", "5", a);
  ASSERT_TRUE(swapped);
  EXPECT_EQ(swapped.value()["swapped"], true);
  auto refused = second->compare_and_set("x", "1", "9", b);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused.value()["swapped"], false);
  EXPECT_EQ(refused.value()["value"], "5");
  auto incremented = second->increment("x", 10, b);
  ASSERT_TRUE(incremented);
  EXPECT_EQ(incremented.value()["value"], "15");
  auto created = second->compare_and_set("y", std::nullopt, "new", b);
  ASSERT_TRUE(created);
  EXPECT_EQ(created.value()["swapped"], true);
  auto strong = first->get("x", Consistency::kStrong, a);
  ASSERT_TRUE(strong);
  EXPECT_EQ(strong.value().value, "15");
  // Sequential at the first replica after the session saw the second's write through a
  // strong read: never older than what the session saw.
  auto sequential = first->get("y", Consistency::kSequential, a);
  ASSERT_TRUE(sequential);
  EXPECT_EQ(sequential.value().value, "new");
  auto removed = first->remove("y", a);
  ASSERT_TRUE(removed);
  EXPECT_EQ(removed.value()["existed"], true);
  auto bad = first->execute({{"op", "incr"}, {"key", "z"}, {"by", "x"}}, a);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad.value()["ok"], false);
  ASSERT_TRUE(second->replica().sync());
  ASSERT_TRUE(first->replica().sync());
  EXPECT_EQ(first->machine().entries(), second->machine().entries());
  EXPECT_EQ(first->machine().entries(), (std::map<std::string, std::string>{{"x", "15"}}));
}

TEST_F(KvCluster, ARestartedReplicaResumesFromItsSnapshotAndReplays) {
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  const std::string snapshot = path("replica.snapshot");
  auto writer = open_store(options(cluster.socket(2)));
  ASSERT_TRUE(writer);
  Session session;
  std::uint64_t saved_at = 0;
  {
    auto replica = open_store(options(cluster.socket(1), snapshot));
    ASSERT_TRUE(replica);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(replica->put("k" + std::to_string(i), "v", session));
    ASSERT_TRUE(replica->replica().save_snapshot());
    saved_at = replica->replica().applied_gseq();
  }
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(writer->increment("counter", 1, session));
  auto restarted = open_store(options(cluster.socket(1), snapshot));
  ASSERT_TRUE(restarted);
  EXPECT_EQ(restarted->replica().state_transfers(), 0u);  // snapshot + replay, no transfer
  EXPECT_GT(restarted->replica().applied_gseq(), saved_at);
  ASSERT_TRUE(writer->replica().sync());
  EXPECT_EQ(restarted->machine().entries().size(), 21u);
  EXPECT_EQ(restarted->machine().get("counter"), "20");
  EXPECT_EQ(restarted->machine().entries(), writer->machine().entries());
  auto file = read_snapshot_file(snapshot);
  ASSERT_TRUE(file);
  EXPECT_EQ(file.value().gseq, saved_at);
}

TEST_F(KvCluster, AReplicaAddedWhileWritesRunConvergesByStateTransfer) {
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  std::atomic<bool> stop{false};
  std::atomic<int> writes{0};
  std::vector<std::thread> writers;
  std::vector<std::unique_ptr<KvStore>> stores;
  std::mutex errors_mutex;
  std::vector<std::string> errors;
  for (int w = 0; w < 2; ++w) {
    stores.push_back(open_store(options(cluster.socket(w + 1))));
    ASSERT_TRUE(stores.back());
  }
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      Session session;
      for (int i = 0; !stop; ++i) {
        auto done = stores[w]->increment("c" + std::to_string(i % 7), 1, session);
        if (!done) {
          std::lock_guard lock(errors_mutex);
          errors.push_back(done.error().message);
          return;
        }
        ++writes;
      }
    });
  }
  while (writes < 50) std::this_thread::sleep_for(10ms);
  auto joiner = open_store(options(cluster.socket(3)));
  const int writes_at_join = writes;
  while (writes < writes_at_join + 50) std::this_thread::sleep_for(10ms);
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_TRUE(joiner);
  EXPECT_TRUE(errors.empty()) << errors.front();
  EXPECT_EQ(joiner->replica().state_transfers(), 1u);
  for (auto& store : stores) ASSERT_TRUE(store->replica().sync());
  ASSERT_TRUE(joiner->replica().sync());
  EXPECT_EQ(joiner->machine().entries(), stores[0]->machine().entries());
  EXPECT_EQ(joiner->machine().entries(), stores[1]->machine().entries());
  long long total = 0;
  for (const auto& [key, value] : joiner->machine().entries()) total += std::stoll(value);
  EXPECT_EQ(total, writes.load());
}

// A session that moves to a replica lagging behind what it saw (that replica has not read its
// events since) still never reads backwards at the sequential level: the read waits until the
// replica caught up with the session. The eventual level, read first, shows the lag is real.
TEST_F(KvCluster, SequentialReadsNeverGoBackwardsWhenASessionMovesToALaggingReplica) {
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  auto fresh = open_store(options(cluster.socket(1)));
  auto lagging = open_store(options(cluster.socket(2)));
  ASSERT_TRUE(fresh && lagging);
  Session session;
  for (int i = 1; i <= 20; ++i) ASSERT_TRUE(fresh->put("x", std::to_string(i), session));
  auto at_fresh = fresh->get("x", Consistency::kSequential, session);
  ASSERT_TRUE(at_fresh);
  EXPECT_EQ(at_fresh.value().value, "20");
  Session eventual_session = session;
  auto stale = lagging->get("x", Consistency::kEventual, eventual_session);
  ASSERT_TRUE(stale);
  EXPECT_NE(stale.value().value, "20");  // the lagging replica really lags
  EXPECT_LT(stale.value().gseq, session.seen_gseq);
  auto moved = lagging->get("x", Consistency::kSequential, session);
  ASSERT_TRUE(moved);
  EXPECT_EQ(moved.value().value, "20");
  EXPECT_GE(moved.value().gseq, at_fresh.value().gseq);
}

// A real total-order gap: a replica restarted from a snapshot older than what the daemon's
// history still holds (retention trimmed it) is told so by a "history-trimmed" gap; it cannot
// replay past it, so it asks for a state transfer on its own, and a live replica's state brings
// it up to date.
TEST_F(KvCluster, AGapInTheReplayIsRepairedByAStateTransfer) {
  constexpr int kCommands = 1600;  // 1 KiB each: beyond the 1 MiB history bound
  LocalCluster cluster(path("cluster"), 1, {"--history-max-bytes", "1048576"});
  cluster.wait_leader();
  const std::string snapshot = path("behind.snapshot");
  {
    auto behind = open_store(options(cluster.socket(1), snapshot));
    ASSERT_TRUE(behind);
    Session session;
    ASSERT_TRUE(behind->put("first", "1", session));
    ASSERT_TRUE(behind->replica().save_snapshot());
  }
  auto live = open_store(options(cluster.socket(1)));
  ASSERT_TRUE(live);
  Session session;
  const std::string filler(1000, 'v');
  for (int i = 0; i < kCommands; ++i) {
    ASSERT_TRUE(live->put("k" + std::to_string(i % 50), filler + std::to_string(i), session));
  }
  // The live replica answers state requests while the other one restarts (until it is done).
  std::atomic<bool> stop{false};
  std::thread server([&] {
    while (!stop) (void)live->replica().poll(20ms);
  });
  const std::string saved = read_file_bytes(snapshot);
  std::unique_ptr<KvStore> restarted;
  // Retention runs once a second: until it trimmed the history, a restart simply replays.
  for (const auto deadline = SteadyClock::now() + 20s; SteadyClock::now() < deadline;) {
    write_file_bytes(snapshot, saved);  // the same old snapshot each time
    restarted = open_store(options(cluster.socket(1), snapshot));
    if (!restarted || restarted->replica().state_transfers() > 0) break;
    std::this_thread::sleep_for(200ms);
  }
  stop = true;
  server.join();
  ASSERT_TRUE(restarted);
  EXPECT_EQ(restarted->replica().state_transfers(), 1u) << "the history was never trimmed";
  ASSERT_TRUE(restarted->replica().sync());
  ASSERT_TRUE(live->replica().sync());
  EXPECT_EQ(restarted->machine().entries(), live->machine().entries());
  EXPECT_EQ(restarted->machine().get("first"), "1");
}

// The teeth of the checker on a real cluster: a local read labelled strong at a replica that has
// not taken in the latest write is caught; the same read through the total order is not.
TEST_F(KvCluster, TheCheckerCatchesALocalReadLabelledStrong) {
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  auto writer = open_store(options(cluster.socket(1)));
  auto reader = open_store(options(cluster.socket(2)));
  ASSERT_TRUE(writer && reader);
  Session ws, rs;
  std::vector<Operation> history;
  auto record_put = [&](const std::string& value) {
    Operation op{Operation::Kind::kPut, 1, "k", value};
    op.call_ns = now_ns();
    ASSERT_TRUE(writer->put("k", value, ws));
    op.return_ns = now_ns();
    history.push_back(op);
  };
  auto record_get = [&](Consistency level) {
    Operation op{Operation::Kind::kGet, 2, "k"};
    op.call_ns = now_ns();
    auto read = reader->get("k", level, rs);
    ASSERT_TRUE(read);
    op.return_ns = now_ns();
    op.output = read.value().value;
    history.push_back(op);  // labelled strong whatever level served it
  };
  record_put("1");
  ASSERT_TRUE(reader->replica().sync());
  record_put("2");  // acknowledged; the reader does not read its events meanwhile
  record_get(Consistency::kStrong);
  EXPECT_TRUE(check_linearizable(history).linearizable);
  record_put("3");
  record_get(Consistency::kEventual);  // the broken path: the local replica, without waiting
  const auto verdict = check_linearizable(history);
  EXPECT_FALSE(verdict.linearizable)
      << "the reader answered " << history.back().output.value_or("null");
}

// Randomized concurrent clients (one Client each) on every daemon; the leader is killed and
// restarted mid-run, and every client restarts its replica from its snapshot once. Each key
// is a separate short history (linearizability is per key); >= 100 of them are checked.
TEST_F(KvCluster, RandomizedHistoriesAreLinearizableThroughLeaderKillsAndReplicaRestarts) {
  const bool long_run = std::getenv("BCAST_KV_LONG") != nullptr;
  const int kClients = 6;
  const int ops_per_client = long_run ? 1500 : 260;
  const int ops_per_key = 10;
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();

  std::mutex mutex;
  std::vector<Operation> history;
  std::vector<std::string> problems;
  std::atomic<int> op_counter{0};
  std::atomic<int> done_clients{0};
  std::atomic<bool> killed{false};

  auto client_main = [&](int client) {
    const int node = client % 3 + 1;
    const std::string snapshot = path("c" + std::to_string(client) + ".snapshot");
    auto o = options(cluster.socket(node), snapshot);
    o.snapshot_every = 7;
    std::mt19937 rng(static_cast<unsigned>(client * 7919 + 1));
    Session session;
    std::uint64_t last_sequential = 0;
    std::unique_ptr<KvStore> store;
    bool restarted_once = false;
    auto problem = [&](const std::string& text) {
      std::lock_guard lock(mutex);
      problems.push_back("client " + std::to_string(client) + ": " + text);
    };
    for (int n = 0; n < ops_per_client; ++n) {
      if (!store || (!restarted_once && n == ops_per_client / 2)) {
        restarted_once = restarted_once || store != nullptr;
        store.reset();  // a replica restart: from its snapshot, then replay
        for (auto deadline = SteadyClock::now() + 30s; !store && SteadyClock::now() < deadline;) {
          auto opened = KvStore::open(o);
          if (opened) {
            store = std::move(opened.value());
          } else {
            std::this_thread::sleep_for(100ms);  // its daemon is down until restarted
          }
        }
        if (!store) return problem("could not reopen its replica");
      }
      const std::string key = "h" + std::to_string(op_counter++ / ops_per_key);
      const int dice = static_cast<int>(rng() % 100);
      const std::string value = std::to_string(client * 100000 + n);
      Operation op;
      op.client = client;
      op.key = key;
      op.call_ns = now_ns();
      if (dice < 10) {  // sequential: a prefix that never goes backwards (checked here)
        auto read = store->get(key, Consistency::kSequential, session);
        if (!read) {
          store.reset();
          continue;
        }
        if (read.value().gseq < last_sequential) problem("a sequential read went backwards");
        last_sequential = read.value().gseq;
        continue;
      }
      Result<json> reply = make_error(ErrorCode::kInvalidArgument, "");
      if (dice < 40) {
        op.kind = Operation::Kind::kGet;
        auto read = store->get(key, Consistency::kStrong, session);
        if (read) {
          op.return_ns = now_ns();
          op.output = read.value().value;
          std::lock_guard lock(mutex);
          history.push_back(op);
        } else {
          store.reset();  // an unknown read tells nothing: left out
        }
        continue;
      }
      if (dice < 65) {
        op.kind = Operation::Kind::kPut;
        op.value = value;
        reply = store->put(key, value, session);
      } else if (dice < 80) {
        op.kind = Operation::Kind::kCas;
        auto current = store->machine().get(key);  // a likely guess, sometimes stale
        op.expected = current;
        op.value = value;
        reply = store->compare_and_set(key, current, value, session);
      } else if (dice < 95) {
        op.kind = Operation::Kind::kIncr;
        op.value = "3";
        reply = store->increment(key, 3, session);
      } else {
        op.kind = Operation::Kind::kDelete;
        reply = store->remove(key, session);
      }
      if (reply) {
        op.return_ns = now_ns();
        if (reply.value().value("ok", false) != true) problem("refused: " + reply.value().dump());
        op.output = value_of(reply.value());
        op.flag = reply.value().value("swapped", false) || reply.value().value("existed", false);
      } else {
        op.known = false;  // it may or may not have been applied
        store.reset();
      }
      std::lock_guard lock(mutex);
      history.push_back(op);
    }
    ++done_clients;
  };

  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) clients.emplace_back(client_main, c);
  // The sequencer crash: kill the leader a third of the way in, restart it a little later.
  while (op_counter < kClients * ops_per_client / 3 && done_clients < kClients) {
    std::this_thread::sleep_for(10ms);
  }
  const int leader = cluster.wait_leader();
  cluster.kill(leader);
  killed = true;
  std::this_thread::sleep_for(1s);
  cluster.restart(leader);
  for (auto& t : clients) t.join();
  if (HasFailure()) return;
  ASSERT_TRUE(problems.empty()) << problems.front() << "\n" << cluster.all_logs();

  std::set<std::string> keys;
  std::size_t unknown = 0;
  for (const auto& op : history) {
    keys.insert(op.key);
    unknown += op.known ? 0 : 1;
  }
  std::cout << history.size() << " operations, " << keys.size() << " histories (keys), " << unknown
            << " of unknown outcome\n";
  EXPECT_GE(keys.size(), 100u);
  const auto verdict = check_linearizable(history);
  EXPECT_TRUE(verdict.linearizable) << "key " << verdict.key << ":\n" << verdict.explanation;
  EXPECT_TRUE(killed);
}

// A new replica that nobody answers falls back to replaying the history from its start: when
// the agreed view shows it alone, and when another member is there but silent (a timeout).
// What its live join delivered before the fallback must not count: it once did (its own state
// request, delivered after it saw itself alone, set the applied position past every command
// the replay then skipped, and `bcast-kv delete` after `put` said existed:false).
TEST_F(KvCluster, ANewReplicaNobodyAnswersReplaysTheWholeHistory) {
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  {
    auto writer = open_store(options(cluster.socket(1)));
    ASSERT_TRUE(writer);
    Session session;
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->increment("n", 1, session));
  }
  for (int attempt = 0; attempt < 3; ++attempt) {  // alone in the group
    auto replica = open_store(options(cluster.socket(3)));
    ASSERT_TRUE(replica);
    EXPECT_EQ(replica->replica().state_transfers(), 0u);
    EXPECT_EQ(replica->machine().get("n"), "10") << "alone, attempt " << attempt;
  }
  // A silent member (joined, never answers) and traffic that keeps arriving in the group.
  ClientOptions raw;
  raw.socket_path = cluster.socket(2);
  auto silent = Client::connect(raw);
  ASSERT_TRUE(silent);
  ASSERT_TRUE(silent.value().join("kv"));
  std::atomic<bool> stop{false};
  std::thread noise([&] {
    auto spammer = Client::connect(raw);
    while (spammer && !stop) {
      (void)spammer.value().publish_and_wait("kv", Mode::kReliable, Order::kTotal, "noise");
    }
  });
  for (int attempt = 0; attempt < 3; ++attempt) {
    auto o = options(cluster.socket(3));
    o.state_transfer_timeout = 300ms;
    auto replica = open_store(o);
    ASSERT_TRUE(replica);
    EXPECT_EQ(replica->replica().state_transfers(), 0u);
    EXPECT_EQ(replica->machine().get("n"), "10") << "beside a silent member, attempt " << attempt;
  }
  stop = true;
  noise.join();
}

TEST_F(KvCluster, TheCommandLineRunsAgainstALocalCluster) {
  LocalCluster cluster(path("cluster"), 3);
  cluster.wait_leader();
  auto kv = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {BCAST_KV_PATH, "--socket", cluster.socket(2)});
    return integration::run_command(args, 30s);
  };
  auto put = kv({"put", "greeting", "hello"});
  ASSERT_EQ(put.status, 0) << put.output;
  EXPECT_NE(put.output.find("\"ok\":true"), std::string::npos) << put.output;
  auto get = kv({"get", "greeting", "--consistency", "strong"});
  ASSERT_EQ(get.status, 0) << get.output;
  EXPECT_NE(get.output.find("\"value\":\"hello\""), std::string::npos) << get.output;
  auto bad = kv({"get", "greeting", "--consistency", "psychic"});
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("unknown consistency"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace bcast::kv
