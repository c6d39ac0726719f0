// The wire codecs: the peer codec (one msgpack frame per Envelope), the core's own batch
// encoding of total-order messages (the data of a Raft entry), and the client protocol's
// delivery header. Each benchmark reports bytes/s of encoded frame.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "codec/client_protocol.hpp"
#include "codec/peer_codec.hpp"
#include "core/outbox.hpp"

namespace bcast {
namespace {

const OriginId kOrigin = make_origin_id(2, 1);

BroadcastMessage message_of(std::uint64_t stream_seq, std::size_t payload_bytes) {
  BroadcastMessage m;
  m.sender = make_sender_id(origin_node(kOrigin), kOrigin & 0xffff, 1);
  m.seq = stream_seq;
  m.stream_seq = stream_seq;
  m.group = "news";
  m.mode = Mode::kReliable;
  m.order = Order::kFifo;
  m.payload = std::make_shared<const std::string>(payload_bytes, 'x');
  return m;
}

Envelope envelope_of(PeerMessage message) {
  Envelope e;
  e.from = 2;
  e.to = 1;
  e.origin = kOrigin;
  e.cluster_id = 0x1234;
  e.identity = 0x5678;
  e.message = std::move(message);
  return e;
}

Envelope data_push(std::size_t payload_bytes) {
  return envelope_of(DataPush{message_of(7, payload_bytes), 0, false});
}

Envelope raft_append(std::size_t entries, std::size_t entry_bytes) {
  raft::Message m;
  m.type = raft::MessageType::kAppend;
  m.from = 2;
  m.to = 1;
  m.term = 3;
  m.index = 100;
  m.log_term = 3;
  m.commit = 99;
  const SharedBytes data(std::string(entry_bytes, 'x'));
  for (std::size_t i = 0; i < entries; ++i) {
    m.entries.push_back({3, 101 + i, raft::EntryType::kNormal, data});
  }
  return envelope_of(std::move(m));
}

Envelope total_forward(std::size_t messages, std::size_t payload_bytes) {
  TotalForward forward;
  for (std::size_t i = 0; i < messages; ++i) {
    BroadcastMessage m = message_of(i + 1, payload_bytes);
    m.order = Order::kTotal;
    forward.messages.push_back(std::move(m));
  }
  return envelope_of(std::move(forward));
}

// Frames up to 1 MiB of payload, and more for the 64-entry Appends: the decoder's default
// limit (64 MiB) is what the daemon uses.
void encode(benchmark::State& state, const Envelope& envelope) {
  std::size_t frame_bytes = 0;
  for (auto _ : state) {
    std::string frame = codec::encode_envelope(envelope);
    frame_bytes = frame.size();
    benchmark::DoNotOptimize(frame);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame_bytes));
  state.counters["frame_bytes"] = static_cast<double>(frame_bytes);
}

// Decodes and checks the message kind, so a codec that stops round-tripping fails the run.
template <typename Expected>
void decode(benchmark::State& state, const Envelope& envelope) {
  const std::string frame = codec::encode_envelope(envelope);
  for (auto _ : state) {
    Result<Envelope> decoded = codec::decode_envelope(frame);
    if (!decoded.ok() || !std::holds_alternative<Expected>(decoded.value().message)) {
      state.SkipWithError("decode_envelope did not round-trip");
      break;
    }
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}

// --- DataPush: one BroadcastMessage, Arg = payload bytes --------------------------------------

void BM_EncodeDataPush(benchmark::State& state) {
  encode(state, data_push(static_cast<std::size_t>(state.range(0))));
}
void BM_DecodeDataPush(benchmark::State& state) {
  decode<DataPush>(state, data_push(static_cast<std::size_t>(state.range(0))));
}
BENCHMARK(BM_EncodeDataPush)->Arg(64)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);
BENCHMARK(BM_DecodeDataPush)->Arg(64)->Arg(1 << 10)->Arg(64 << 10)->Arg(1 << 20);

// --- Raft Append: Args = {entries, bytes per entry} -------------------------------------------

void append_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"entries", "entry_bytes"});
  b->Args({1, 64})->Args({64, 64})->Args({64, 1 << 10})->Args({16, 64 << 10})->Args({1, 1 << 20});
}
void BM_EncodeRaftAppend(benchmark::State& state) {
  encode(state, raft_append(static_cast<std::size_t>(state.range(0)),
                            static_cast<std::size_t>(state.range(1))));
}
void BM_DecodeRaftAppend(benchmark::State& state) {
  decode<raft::Message>(state, raft_append(static_cast<std::size_t>(state.range(0)),
                                           static_cast<std::size_t>(state.range(1))));
}
BENCHMARK(BM_EncodeRaftAppend)->Apply(append_args);
BENCHMARK(BM_DecodeRaftAppend)->Apply(append_args);

// --- TotalForward batch: Args = {messages, payload bytes each} --------------------------------

void forward_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"messages", "payload_bytes"});
  b->Args({1, 64})->Args({64, 64})->Args({64, 1 << 10})->Args({16, 64 << 10});
}
void BM_EncodeTotalForward(benchmark::State& state) {
  encode(state, total_forward(static_cast<std::size_t>(state.range(0)),
                              static_cast<std::size_t>(state.range(1))));
}
void BM_DecodeTotalForward(benchmark::State& state) {
  decode<TotalForward>(state, total_forward(static_cast<std::size_t>(state.range(0)),
                                            static_cast<std::size_t>(state.range(1))));
}
BENCHMARK(BM_EncodeTotalForward)->Apply(forward_args);
BENCHMARK(BM_DecodeTotalForward)->Apply(forward_args);

// --- The data of a total-order Raft entry (core/byte_codec), Args as for TotalForward ---------

std::vector<BroadcastMessage> batch_of(std::size_t messages, std::size_t payload_bytes) {
  return std::get<TotalForward>(total_forward(messages, payload_bytes).message).messages;
}
void BM_EncodeMessageBatch(benchmark::State& state) {
  const auto batch =
      batch_of(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string data = encode_message_batch(batch);
    bytes = data.size();
    benchmark::DoNotOptimize(data);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
}
void BM_DecodeMessageBatch(benchmark::State& state) {
  const auto batch =
      batch_of(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
  const std::string data = encode_message_batch(batch);
  for (auto _ : state) {
    auto decoded = decode_message_batch(data);
    if (!decoded || decoded->size() != batch.size()) {
      state.SkipWithError("decode_message_batch did not round-trip");
      break;
    }
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * data.size()));
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * batch.size()));
}
BENCHMARK(BM_EncodeMessageBatch)->Apply(forward_args);
BENCHMARK(BM_DecodeMessageBatch)->Apply(forward_args);

// --- Client protocol: a delivery header (the payload travels as its own frame, untouched) -----

protocol::Header delivery_header() {
  protocol::Header h;
  h.type = protocol::MessageType::kDelivery;
  h.group = "news";
  h.sender = make_sender_id(2, 1, 1);
  h.seq = 12345;
  h.gseq = 67890;
  h.mode = Mode::kReliable;
  h.order = Order::kTotal;
  h.stream_seq = 0;
  return h;
}
void BM_EncodeDeliveryHeader(benchmark::State& state) {
  const protocol::Header header = delivery_header();
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string frame = protocol::encode_header(header);
    bytes = frame.size();
    benchmark::DoNotOptimize(frame);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * bytes));
}
void BM_DecodeDeliveryHeader(benchmark::State& state) {
  const std::string frame = protocol::encode_header(delivery_header());
  for (auto _ : state) {
    Result<protocol::Header> decoded = protocol::decode_header(frame);
    if (!decoded.ok() || decoded.value().type != protocol::MessageType::kDelivery) {
      state.SkipWithError("decode_header did not round-trip a delivery");
      break;
    }
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * frame.size()));
}
BENCHMARK(BM_EncodeDeliveryHeader);
BENCHMARK(BM_DecodeDeliveryHeader);

}  // namespace
}  // namespace bcast
