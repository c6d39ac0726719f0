// The order managers: FIFO hold-back (StreamFifo), causal order (CausalOrder) and the total-order
// sequencer's state machine (TotalOrder). Each iteration feeds a fresh manager a whole trace of
// messages and checks every one came out; items/s is deliveries per second. "Out of order"
// traces shuffle the messages within windows of 16, as repair and relays reorder them.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/order/causal_order.hpp"
#include "core/order/stream_fifo.hpp"
#include "core/order/total_order.hpp"
#include "core/rng.hpp"

namespace bcast {
namespace {

constexpr std::size_t kReorderWindow = 16;
const OriginId kSelf = make_origin_id(1, 1);

OriginId origin_number(std::size_t i) { return make_origin_id(2 + i, 1); }

BroadcastMessage message_from(OriginId origin, std::uint64_t stream_seq, Order order) {
  BroadcastMessage m;
  m.sender = make_sender_id(origin_node(origin), origin & 0xffff, 1);
  m.seq = stream_seq;
  m.stream_seq = stream_seq;
  m.group = "news";
  m.mode = Mode::kReliable;
  m.order = order;
  m.payload = std::make_shared<const std::string>(64, 'x');
  return m;
}

// Shuffles each window of kReorderWindow messages (deterministically).
void reorder(std::vector<BroadcastMessage>& messages) {
  Rng rng(7);
  for (std::size_t begin = 0; begin < messages.size(); begin += kReorderWindow) {
    const std::size_t end = std::min(messages.size(), begin + kReorderWindow);
    for (std::size_t i = end - 1; i > begin; --i) {
      std::swap(messages[i], messages[rng.uniform(begin, i)]);
    }
  }
}

// --- FIFO: one origin's reliable stream; Arg = messages per trace -----------------------------

void fifo(benchmark::State& state, bool out_of_order) {
  const std::size_t count = static_cast<std::size_t>(state.range(0));
  const OriginId origin = origin_number(0);
  const StreamKey stream{origin, Mode::kReliable};
  std::vector<BroadcastMessage> trace;
  for (std::size_t i = 1; i <= count; ++i) trace.push_back(message_from(origin, i, Order::kFifo));
  if (out_of_order) reorder(trace);

  std::vector<BroadcastMessage> ready;
  ready.reserve(count);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<BroadcastMessage> arriving = trace;
    StreamFifo held;
    ready.clear();
    std::vector<bool> arrived(count + 1, false);
    std::uint64_t received_upto = 0;
    state.ResumeTiming();
    // What the reliable engine does per arrival: the stream's contiguous prefix moves, and the
    // FIFO queue releases up to it.
    for (BroadcastMessage& m : arriving) {
      arrived[m.stream_seq] = true;
      held.hold(std::move(m));
      while (received_upto < count && arrived[received_upto + 1]) ++received_upto;
      held.release(stream, received_upto, ready);
    }
    if (ready.size() != count) {
      state.SkipWithError("StreamFifo did not deliver every message");
      break;
    }
    benchmark::DoNotOptimize(ready.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}
void BM_FifoInOrder(benchmark::State& state) { fifo(state, false); }
void BM_FifoOutOfOrder(benchmark::State& state) { fifo(state, true); }
BENCHMARK(BM_FifoInOrder)->Arg(1024);
BENCHMARK(BM_FifoOutOfOrder)->Arg(1024);

// --- Causal: origins publish in turn, each having delivered everything before; Args = {messages
// per trace, origins} (the clock carries one entry per origin) --------------------------------

std::vector<BroadcastMessage> causal_trace(std::size_t count, std::size_t origins) {
  std::vector<std::uint64_t> sent(origins, 0);
  std::vector<BroadcastMessage> trace;
  for (std::size_t i = 0; i < count; ++i) {
    const std::size_t publisher = i % origins;
    ++sent[publisher];
    BroadcastMessage m = message_from(origin_number(publisher), sent[publisher], Order::kCausal);
    for (std::size_t o = 0; o < origins; ++o) {
      if (sent[o] > 0) m.causal.set(origin_number(o), sent[o]);
    }
    trace.push_back(std::move(m));
  }
  return trace;
}

void causal(benchmark::State& state, bool out_of_order) {
  const std::size_t count = static_cast<std::size_t>(state.range(0));
  const std::size_t origins = static_cast<std::size_t>(state.range(1));
  std::vector<BroadcastMessage> trace = causal_trace(count, origins);
  if (out_of_order) reorder(trace);

  std::vector<BroadcastMessage> ready;
  ready.reserve(count);
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<BroadcastMessage> arriving = trace;
    CausalOrder order(kSelf);
    std::vector<BroadcastMessage> dropped;
    for (std::size_t o = 0; o < origins; ++o) {
      order.set_cut(origin_number(o), 0, false, ready, dropped);
    }
    ready.clear();
    state.ResumeTiming();
    for (BroadcastMessage& m : arriving) order.on_message(std::move(m), ready);
    if (ready.size() != count) {
      state.SkipWithError("CausalOrder did not deliver every message");
      break;
    }
    benchmark::DoNotOptimize(ready.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
}
void BM_CausalInOrder(benchmark::State& state) { causal(state, false); }
void BM_CausalOutOfOrder(benchmark::State& state) { causal(state, true); }
BENCHMARK(BM_CausalInOrder)->ArgNames({"messages", "origins"})->Args({1024, 3})->Args({1024, 16});
BENCHMARK(BM_CausalOutOfOrder)
    ->ArgNames({"messages", "origins"})
    ->Args({1024, 3})
    ->Args({1024, 16});

// --- Total: applying committed Raft entries, each a batch of messages from 3 origins; Args =
// {messages per entry, payload bytes}. With duplicates, every entry is in the log twice (an
// origin retried its batch with a new leader) and the second copy must be skipped. --------------

std::vector<raft::Entry> total_log(std::size_t entries, std::size_t per_entry,
                                   std::size_t payload_bytes, bool duplicated) {
  std::vector<std::uint64_t> next(3, 1);
  std::vector<raft::Entry> log;
  for (std::size_t e = 0; e < entries; ++e) {
    std::vector<BroadcastMessage> batch;
    for (std::size_t i = 0; i < per_entry; ++i) {
      const std::size_t o = i % 3;
      BroadcastMessage m = message_from(origin_number(o), next[o]++, Order::kTotal);
      m.payload = std::make_shared<const std::string>(payload_bytes, 'x');
      batch.push_back(std::move(m));
    }
    const SharedBytes data(encode_message_batch(batch));
    for (int copy = 0; copy < (duplicated ? 2 : 1); ++copy) {
      log.push_back({1, log.size() + 1, raft::EntryType::kNormal, data});
    }
  }
  return log;
}

void total(benchmark::State& state, bool duplicated) {
  const std::size_t per_entry = static_cast<std::size_t>(state.range(0));
  const std::size_t payload_bytes = static_cast<std::size_t>(state.range(1));
  // About 1024 messages per trace, but at most 64 MiB of payload.
  const std::size_t entries = std::max<std::size_t>(
      1, std::min(1024 / per_entry, (std::size_t{64} << 20) / (per_entry * payload_bytes)));
  const std::vector<raft::Entry> log = total_log(entries, per_entry, payload_bytes, duplicated);
  const std::size_t count = entries * per_entry;
  for (auto _ : state) {
    state.PauseTiming();
    auto order = std::make_unique<TotalOrder>(kSelf);
    Outbox out;
    state.ResumeTiming();
    for (const raft::Entry& entry : log) order->apply(entry, out);
    if (out.deliveries.size() != count || order->anomalies() != 0) {
      state.SkipWithError("TotalOrder did not position every message exactly once");
      break;
    }
    benchmark::DoNotOptimize(out.deliveries.data());
    state.PauseTiming();
    order.reset();  // not timed: freeing the deliveries
    out = Outbox{};
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * count));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * count * payload_bytes));
}
void BM_TotalApply(benchmark::State& state) { total(state, false); }
void BM_TotalApplyWithDuplicates(benchmark::State& state) { total(state, true); }
void total_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"per_entry", "payload_bytes"});
  b->Args({1, 64})->Args({64, 64})->Args({64, 1 << 10})->Args({16, 64 << 10})->Args({1, 1 << 20});
}
BENCHMARK(BM_TotalApply)->Apply(total_args);
BENCHMARK(BM_TotalApplyWithDuplicates)->Args({64, 64})->ArgNames({"per_entry", "payload_bytes"});

}  // namespace
}  // namespace bcast
