// libFuzzer target: the peer wire format (codec/peer_codec.hpp), which decodes every frame a
// peer daemon, or anyone able to reach the peer socket, sends.
//
// The whole input is one frame, decoded with the default DecodeLimits. Whatever the bytes:
//  * decode_envelope returns (it never throws or aborts; the fuzzer's timeout and memory limit
//    catch hangs and allocations a short frame merely claims), and a refusal is kProtocol with
//    a reason;
//  * encode(decode(x)) is a fixed point: when x decodes, its re-encoding decodes too, and
//    re-encoding that gives exactly the same bytes; so the encoder writes only what the decoder
//    accepts, and one encoding stands for one message;
//  * the second decode gives, field by field, the envelope the first one gave. The byte check
//    alone misses an encoder or decoder that puts one field's value in another's place (the
//    corruption repeats identically on every pass); the field comparison catches it.
// A violation aborts, so the fuzzer keeps the input. A decoder that always drops a field, the
// same way on every pass, is beyond any check built on decode alone: the unit tests'
// field-by-field round trips of full sample messages (tests/codec) catch that.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "codec/peer_codec.hpp"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_peer_codec: %s\n", what.c_str());
  std::abort();
}

// Field-by-field comparison of two decoded envelopes: each returns the first field that differs,
// or nullptr. (Most core message types have no operator==.)
using Diff = const char*;
#define BCAST_SAME(field) \
  if (!(a.field == b.field)) return #field

bool same_payload(const std::shared_ptr<const std::string>& a,
                  const std::shared_ptr<const std::string>& b) {
  return a == nullptr ? b == nullptr : b != nullptr && *a == *b;
}

Diff diff(const bcast::raft::Message& a, const bcast::raft::Message& b) {
  BCAST_SAME(type);
  BCAST_SAME(from);
  BCAST_SAME(to);
  BCAST_SAME(term);
  BCAST_SAME(index);
  BCAST_SAME(log_term);
  BCAST_SAME(commit);
  BCAST_SAME(entries);
  BCAST_SAME(reject);
  BCAST_SAME(reject_hint);
  BCAST_SAME(reject_hint_term);
  BCAST_SAME(context);
  BCAST_SAME(snapshot.has_value());
  if (a.snapshot) {
    BCAST_SAME(snapshot->meta);
    if (!same_payload(a.snapshot->data, b.snapshot->data)) return "snapshot->data";
  }
  return nullptr;
}

Diff diff(const bcast::BroadcastMessage& a, const bcast::BroadcastMessage& b) {
  BCAST_SAME(sender);
  BCAST_SAME(seq);
  BCAST_SAME(stream_seq);
  BCAST_SAME(group);
  BCAST_SAME(mode);
  BCAST_SAME(order);
  BCAST_SAME(causal);
  BCAST_SAME(withdrawn);
  if (!same_payload(a.payload, b.payload)) return "payload";
  return nullptr;
}

Diff diff(const bcast::DataPush& a, const bcast::DataPush& b) {
  if (Diff d = diff(a.message, b.message)) return d;
  BCAST_SAME(hops);
  BCAST_SAME(repair);
  return nullptr;
}

Diff diff(const bcast::StreamPosition& a, const bcast::StreamPosition& b) {
  BCAST_SAME(origin);
  BCAST_SAME(received_upto);
  BCAST_SAME(stable_upto);
  BCAST_SAME(cut_known);
  BCAST_SAME(cut);
  BCAST_SAME(highest_received);
  BCAST_SAME(missing);
  BCAST_SAME(lost);
  return nullptr;
}

Diff diff(const bcast::Digest& a, const bcast::Digest& b) {
  BCAST_SAME(from);
  BCAST_SAME(mode);
  BCAST_SAME(streams.size());
  for (std::size_t i = 0; i < a.streams.size(); ++i) {
    if (Diff d = diff(a.streams[i], b.streams[i])) return d;
  }
  BCAST_SAME(wants_reply);
  return nullptr;
}

Diff diff(const bcast::Hello& a, const bcast::Hello& b) {
  BCAST_SAME(from);
  return nullptr;
}

Diff diff(const bcast::Welcome& a, const bcast::Welcome& b) {
  BCAST_SAME(from);
  BCAST_SAME(to);
  BCAST_SAME(epoch);
  BCAST_SAME(reliable_cut);
  BCAST_SAME(gossip_cut);
  BCAST_SAME(causal_cut);
  return nullptr;
}

Diff diff(const bcast::TotalForward& a, const bcast::TotalForward& b) {
  BCAST_SAME(messages.size());
  for (std::size_t i = 0; i < a.messages.size(); ++i) {
    if (Diff d = diff(a.messages[i], b.messages[i])) return d;
  }
  return nullptr;
}

Diff diff(const bcast::Refusal& a, const bcast::Refusal& b) {
  BCAST_SAME(reason);
  BCAST_SAME(cluster_id);
  BCAST_SAME(known_identity);
  BCAST_SAME(refused_identity);
  return nullptr;
}

Diff diff(const bcast::JoinRequest& a, const bcast::JoinRequest& b) {
  BCAST_SAME(identity);
  BCAST_SAME(address);
  return nullptr;
}

Diff diff(const bcast::JoinResponse& a, const bcast::JoinResponse& b) {
  BCAST_SAME(accepted);
  BCAST_SAME(reason);
  BCAST_SAME(cluster_id);
  BCAST_SAME(incarnation_floor);
  BCAST_SAME(members);
  BCAST_SAME(reply_address);
  return nullptr;
}

Diff diff(const bcast::AdminForward& a, const bcast::AdminForward& b) {
  BCAST_SAME(request_id);
  BCAST_SAME(request.kind);
  BCAST_SAME(request.node);
  BCAST_SAME(request.address);
  BCAST_SAME(request.learner);
  return nullptr;
}

Diff diff(const bcast::AdminResult& a, const bcast::AdminResult& b) {
  BCAST_SAME(request_id);
  BCAST_SAME(ok);
  BCAST_SAME(code);
  BCAST_SAME(message);
  return nullptr;
}

Diff diff(const bcast::Envelope& a, const bcast::Envelope& b) {
  BCAST_SAME(from);
  BCAST_SAME(to);
  BCAST_SAME(origin);
  BCAST_SAME(cluster_id);
  BCAST_SAME(identity);
  BCAST_SAME(message.index());
  return std::visit(
      [&](const auto& message) -> Diff {
        using T = std::decay_t<decltype(message)>;
        return diff(message, std::get<T>(b.message));
      },
      a.message);
}

#undef BCAST_SAME

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view frame(reinterpret_cast<const char*>(data), size);

  auto decoded = bcast::codec::decode_envelope(frame);
  if (!decoded) {
    if (decoded.error().code != bcast::ErrorCode::kProtocol) {
      fail("refused with code " + std::string(bcast::error_code_name(decoded.error().code)) +
           " instead of kProtocol: " + decoded.error().message);
    }
    if (decoded.error().message.empty()) fail("refused without a reason");
    return 0;
  }

  const std::string first = bcast::codec::encode_envelope(decoded.value());
  auto again = bcast::codec::decode_envelope(first);
  if (!again) fail("the re-encoding of a decoded frame does not decode: " + again.error().message);
  if (Diff field = diff(decoded.value(), again.value())) {
    fail(std::string("the re-encoding decodes to a different envelope: ") + field + " differs");
  }
  const std::string second = bcast::codec::encode_envelope(again.value());
  if (second != first) {
    fail("encode(decode(x)) is not a fixed point: " + std::to_string(first.size()) +
         " bytes re-encode to " + std::to_string(second.size()) + " different bytes");
  }
  return 0;
}
