// One core Node end to end: a local client publishes and the Node produces its Outbox (the
// receipt, the pushes to peers, the local delivery). items/s is publishes per second; the
// outbox is not carried out (no encoding, no I/O).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/node.hpp"

namespace bcast {
namespace {

// Node 1 of a three-voter cluster whose peers are up (their credit is unlimited, so flow control
// never refuses) but not heard from yet.
std::unique_ptr<Node> make_node() {
  NodeOptions options;
  options.raft.id = 1;
  options.unheard_share_bytes = 1ULL << 50;
  options.max_stored_bytes = 1ULL << 50;
  raft::ConfState conf;
  conf.voters = {1, 2, 3};
  return std::make_unique<Node>(options, Rng(42), conf, raft::RaftState{});
}

// Args = {payload bytes}; the mode and order are the benchmark's. A fresh Node every
// kPublishesPerNode publishes keeps the repair store (which never becomes stable here: the peers
// never acknowledge) from growing without bound.
void publish(benchmark::State& state, Mode mode, Order order) {
  constexpr std::size_t kPublishesPerNode = 1024;
  PublishRequest request;
  request.group = "news";
  request.mode = mode;
  request.order = order;
  request.payload =
      std::make_shared<const std::string>(static_cast<std::size_t>(state.range(0)), 'x');
  std::unique_ptr<Node> node;
  std::size_t published = kPublishesPerNode;
  std::size_t messages = 0;
  for (auto _ : state) {
    if (published == kPublishesPerNode) {
      state.PauseTiming();
      node = make_node();
      request.sender = node->open_sender();
      published = 0;
      state.ResumeTiming();
    }
    Outbox out;
    Result<std::uint64_t> seq = node->publish(request, out);
    node->flush(out);
    if (!seq.ok() || out.receipts.empty()) {
      state.SkipWithError(seq.ok() ? "no receipt" : seq.error().message.c_str());
      break;
    }
    ++published;
    messages += out.messages.size();
    benchmark::DoNotOptimize(out);
  }
  // No bytes/s: the payload is shared by pointer, never copied, so its size costs nothing here.
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
  state.counters["envelopes_per_publish"] =
      state.iterations() ? static_cast<double>(messages) / state.iterations() : 0;
}

void BM_NodePublishReliableFifo(benchmark::State& state) {
  publish(state, Mode::kReliable, Order::kFifo);
}
void BM_NodePublishBestEffort(benchmark::State& state) {
  publish(state, Mode::kBestEffort, Order::kNone);
}
BENCHMARK(BM_NodePublishReliableFifo)
    ->ArgName("payload_bytes")
    ->Arg(64)
    ->Arg(1 << 10)
    ->Arg(64 << 10)
    ->Arg(1 << 20);
BENCHMARK(BM_NodePublishBestEffort)->ArgName("payload_bytes")->Arg(64)->Arg(1 << 10);

}  // namespace
}  // namespace bcast
