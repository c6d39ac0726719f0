// The Raft core without I/O: the log's append and slice, a leader committing entries on the
// acknowledgements of two (synthesized) followers, and a whole three-node cluster in memory.
// items/s is entries appended, sliced or committed per second.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/raft/raft.hpp"
#include "core/raft/raft_log.hpp"

namespace bcast::raft {
namespace {

// Entries, or bytes of entry data, between compactions, so long runs of large entries stay in
// bounded memory.
constexpr LogIndex kCompactEvery = 256;
constexpr std::uint64_t kCompactBytes = 16 << 20;

// --- RaftLog -----------------------------------------------------------------------------------

// A leader's own proposals: Args = {entries per trace, bytes per entry} (the data is shared, not
// copied, so the size should not matter).
void BM_RaftLogAppend(benchmark::State& state) {
  const std::size_t count = static_cast<std::size_t>(state.range(0));
  const SharedBytes data(std::string(static_cast<std::size_t>(state.range(1)), 'x'));
  for (auto _ : state) {
    state.PauseTiming();
    auto log = std::make_unique<RaftLog>(SnapshotMeta{}, std::vector<Entry>{});
    state.ResumeTiming();
    for (std::size_t i = 1; i <= count; ++i) log->append({1, i, EntryType::kNormal, data});
    if (log->last_index() != count) {
      state.SkipWithError("RaftLog lost an entry");
      break;
    }
    benchmark::DoNotOptimize(log->data_bytes());
    state.PauseTiming();
    log.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}
BENCHMARK(BM_RaftLogAppend)
    ->ArgNames({"entries", "entry_bytes"})
    ->Args({1024, 64})
    ->Args({1024, 1 << 20});

// What the leader does for every Append: slices of up to 64 entries under max_append_bytes
// (1 MiB) from a log of 4096 entries; Arg = bytes per entry.
void BM_RaftLogSlice(benchmark::State& state) {
  constexpr LogIndex kEntries = 4096;
  constexpr LogIndex kSliceEntries = 64;
  const SharedBytes data(std::string(static_cast<std::size_t>(state.range(0)), 'x'));
  RaftLog log(SnapshotMeta{}, {});
  for (LogIndex i = 1; i <= kEntries; ++i) log.append({1, i, EntryType::kNormal, data});
  LogIndex low = 1;
  std::size_t sliced = 0;
  for (auto _ : state) {
    std::vector<Entry> slice = log.slice(low, low + kSliceEntries - 1, 1 << 20);
    if (slice.empty() || slice.front().index != low) {
      state.SkipWithError("RaftLog::slice returned the wrong entries");
      break;
    }
    sliced += slice.size();
    benchmark::DoNotOptimize(slice);
    low = low + kSliceEntries > kEntries ? 1 : low + kSliceEntries;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(sliced));
}
BENCHMARK(BM_RaftLogSlice)
    ->ArgName("entry_bytes")
    ->Arg(64)
    ->Arg(1 << 10)
    ->Arg(64 << 10)
    ->Arg(1 << 20);

// --- Raft nodes in memory ----------------------------------------------------------------------

RaftOptions options_for(NodeId id) {
  RaftOptions o;
  o.id = id;
  o.retained_entries_behind_snapshot = 0;
  o.max_uncommitted_bytes = 1ULL << 40;  // the benchmark commits every round
  return o;
}

// Three voters with perfect disks and a perfect network: every Outbox is "persisted" at once
// (on_persisted with its last entry) and its messages queued for delivery.
class MemoryCluster {
 public:
  MemoryCluster() {
    const ConfState conf{{1, 2, 3}, {}};
    for (NodeId id = 1; id <= 3; ++id) {
      nodes_[id] = std::make_unique<Raft>(options_for(id), Rng(id * 7919), conf, RaftState{});
    }
  }

  Raft& node(NodeId id) { return *nodes_.at(id); }

  void handle(NodeId id, Outbox& out) {
    while (true) {
      for (Envelope& e : out.messages) queue_.push_back(std::get<Message>(std::move(e.message)));
      out.messages.clear();
      if (out.persist.entries.empty()) break;
      const Entry& last = out.persist.entries.back();
      const LogIndex index = last.index;
      const Term term = last.term;
      Outbox more;
      node(id).on_persisted(index, term, more);
      out = std::move(more);
    }
    CommittedWork work = node(id).take_committed();
    benchmark::DoNotOptimize(work);
  }

  void deliver_all() {
    while (!queue_.empty()) {
      Message m = std::move(queue_.front());
      queue_.pop_front();
      Outbox out;
      node(m.to).step(m, out);
      handle(m.to, out);
    }
  }

  bool elect(NodeId id) {
    Outbox out;
    node(id).campaign(out);
    handle(id, out);
    deliver_all();
    return node(id).role() == Role::kLeader;
  }

  // Snapshots everything applied on every node (the state machine's image is empty here).
  void compact_all() {
    for (auto& [id, raft] : nodes_) {
      if (raft->log().applied() <= raft->log().snapshot_meta().index) continue;
      Outbox out;
      auto compacted =
          raft->compact(raft->log().applied(), std::make_shared<const std::string>(), out);
      benchmark::DoNotOptimize(compacted);
      handle(id, out);
    }
    deliver_all();
  }

 private:
  std::map<NodeId, std::unique_ptr<Raft>> nodes_;
  std::deque<Message> queue_;
};

// The leader alone: proposes a batch, flushes it, hears its own disk and two followers'
// acknowledgements (synthesized, as the followers would send them) and commits. Args = {entries
// per batch, bytes per entry}.
void BM_RaftLeaderCommit(benchmark::State& state) {
  const std::size_t batch = static_cast<std::size_t>(state.range(0));
  const std::string data(static_cast<std::size_t>(state.range(1)), 'x');
  MemoryCluster cluster;
  if (!cluster.elect(1)) {
    state.SkipWithError("node 1 was not elected");
    return;
  }
  Raft& leader = cluster.node(1);
  LogIndex compacted_at = leader.log().committed();
  for (auto _ : state) {
    Outbox out;
    for (std::size_t i = 0; i < batch; ++i) {
      auto proposed = leader.propose(data, out);
      benchmark::DoNotOptimize(proposed);
    }
    leader.flush(out);
    const LogIndex last = leader.log().last_index();
    Outbox more;
    leader.on_persisted(last, leader.term(), more);
    for (NodeId follower : {NodeId{2}, NodeId{3}}) {
      Message ack;
      ack.type = MessageType::kAppendResponse;
      ack.from = follower;
      ack.to = 1;
      ack.term = leader.term();
      ack.index = last;
      leader.step(ack, more);
    }
    if (leader.log().committed() != last) {
      state.SkipWithError("the leader did not commit on a quorum's acknowledgements");
      break;
    }
    CommittedWork work = leader.take_committed();
    benchmark::DoNotOptimize(work);
    benchmark::DoNotOptimize(out);
    benchmark::DoNotOptimize(more);
    if (last - compacted_at >= kCompactEvery || leader.log().data_bytes() >= kCompactBytes) {
      Outbox compaction;
      auto compacted =
          leader.compact(leader.log().applied(), std::make_shared<const std::string>(), compaction);
      benchmark::DoNotOptimize(compacted);
      compacted_at = last;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch * data.size()));
}

// Three nodes: the leader's batch goes through both followers' logs and back. Args as above.
void BM_RaftClusterCommit(benchmark::State& state) {
  const std::size_t batch = static_cast<std::size_t>(state.range(0));
  const std::string data(static_cast<std::size_t>(state.range(1)), 'x');
  MemoryCluster cluster;
  if (!cluster.elect(1)) {
    state.SkipWithError("node 1 was not elected");
    return;
  }
  Raft& leader = cluster.node(1);
  LogIndex compacted_at = leader.log().committed();
  for (auto _ : state) {
    Outbox out;
    for (std::size_t i = 0; i < batch; ++i) {
      auto proposed = leader.propose(data, out);
      benchmark::DoNotOptimize(proposed);
    }
    leader.flush(out);
    cluster.handle(1, out);
    cluster.deliver_all();
    const LogIndex last = leader.log().last_index();
    if (leader.log().committed() != last) {
      state.SkipWithError("the cluster did not commit the batch");
      break;
    }
    if (last - compacted_at >= kCompactEvery || leader.log().data_bytes() >= kCompactBytes) {
      cluster.compact_all();
      compacted_at = last;
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * batch * data.size()));
}

void commit_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"batch", "entry_bytes"});
  b->Args({1, 64})->Args({64, 64})->Args({64, 1 << 10})->Args({1, 64 << 10})->Args({1, 1 << 20});
}
BENCHMARK(BM_RaftLeaderCommit)->Apply(commit_args);
BENCHMARK(BM_RaftClusterCommit)->Apply(commit_args);

}  // namespace
}  // namespace bcast::raft
