// libFuzzer target: the client protocol header (codec/client_protocol.hpp), which the daemon
// decodes from every local application and the client library from its daemon.
//
// The whole input is one header frame, decoded with the default size limit. Whatever the bytes:
//  * decode_header returns (it never throws or aborts), and a refusal is kTooLarge exactly when
//    the frame is over the limit, else kProtocol, with a reason;
//  * peek_request_id, which the daemon calls on frames decode_header refused, returns too, and
//    on a frame that decodes to a type carrying an "id" it returns that id;
//  * encode(decode(x)) is a fixed point: when x decodes, encode_header's bytes decode too, and
//    encoding that header again gives exactly the same bytes; so the encoder writes only what
//    the decoder accepts, and one encoding stands for one header;
//  * the second decode gives, field by field, the header the first one gave. The byte check
//    alone misses an encoder or decoder that puts one field's value in another's place (the
//    corruption repeats identically on every pass); the field comparison catches it.
// A violation aborts, so the fuzzer keeps the input. A decoder that always drops a field, the
// same way on every pass, is beyond any check built on decode alone: the unit tests'
// round trips of every type (tests/client/client_protocol_test.cpp) catch that.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/client_protocol.hpp"

namespace {

// decode_header's default max_bytes.
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_client_header: %s\n", what.c_str());
  std::abort();
}

// The first field in which two decoded headers differ, or nullptr.
const char* diff(const bcast::protocol::Header& a, const bcast::protocol::Header& b) {
#define BCAST_SAME(field) \
  if (!(a.field == b.field)) return #field
  BCAST_SAME(type);
  BCAST_SAME(id);
  BCAST_SAME(version);
  BCAST_SAME(client_name);
  BCAST_SAME(group);
  BCAST_SAME(mode);
  BCAST_SAME(order);
  BCAST_SAME(sender);
  BCAST_SAME(seq);
  BCAST_SAME(gseq);
  BCAST_SAME(node_id);
  BCAST_SAME(max_message_bytes);
  BCAST_SAME(role);
  BCAST_SAME(term);
  BCAST_SAME(leader);
  BCAST_SAME(members);
  BCAST_SAME(commit_index);
  BCAST_SAME(code);
  BCAST_SAME(message);
  BCAST_SAME(supported_versions);
  BCAST_SAME(stream_seq);
  BCAST_SAME(reason);
  BCAST_SAME(origin);
  BCAST_SAME(from_seq);
  BCAST_SAME(to_seq);
  BCAST_SAME(from_gseq);
  BCAST_SAME(to_gseq);
#undef BCAST_SAME
  return nullptr;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using bcast::ErrorCode;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);

  auto decoded = bcast::protocol::decode_header(frame);
  if (!decoded) {
    const ErrorCode expected = size > kMaxHeaderBytes ? ErrorCode::kTooLarge : ErrorCode::kProtocol;
    if (decoded.error().code != expected) {
      fail("refused with code " + std::string(bcast::error_code_name(decoded.error().code)) +
           ", expected " + bcast::error_code_name(expected) + ": " + decoded.error().message);
    }
    if (decoded.error().message.empty()) fail("refused without a reason");
    (void)bcast::protocol::peek_request_id(frame);
    return 0;
  }

  using bcast::protocol::MessageType;
  const MessageType type = decoded.value().type;
  if (type != MessageType::kDelivery && type != MessageType::kView && type != MessageType::kGap &&
      bcast::protocol::peek_request_id(frame) != decoded.value().id) {
    fail("peek_request_id disagrees with decode_header on the id");
  }

  const std::string first = bcast::protocol::encode_header(decoded.value());
  auto again = bcast::protocol::decode_header(first);
  if (!again) {
    fail(std::string("the re-encoding of a decoded ") + bcast::protocol::message_type_name(type) +
         " header does not decode: " + again.error().message);
  }
  if (const char* field = diff(decoded.value(), again.value())) {
    fail(std::string("the re-encoding of a ") + bcast::protocol::message_type_name(type) +
         " header decodes to a different header: " + field + " differs");
  }
  const std::string second = bcast::protocol::encode_header(again.value());
  if (second != first) {
    fail(std::string("encode(decode(x)) is not a fixed point for a ") +
         bcast::protocol::message_type_name(type) + " header: " + std::to_string(first.size()) +
         " bytes re-encode to " + std::to_string(second.size()) + " different bytes");
  }
  return 0;
}
