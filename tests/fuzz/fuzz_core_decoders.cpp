// libFuzzer target: the core's own decoders of bytes that arrive inside Raft entries and
// snapshots, from peers and from disk:
//  * decode_message_batch (core/bcast/message.hpp): the batch of total-order messages that is
//    one Raft entry's data;
//  * ClusterRegistry::decode (core/membership/cluster_registry.hpp): the registry image inside
//    a snapshot;
//  * ClusterRegistry::apply of a kMembership or ConfChange entry: the registry's records.
// The first input byte selects one; the rest is the bytes.
//
// Invariants, each aborting when broken:
//  * no decoder crashes, reads out of bounds or hangs on any bytes;
//  * whatever decodes is a fixed point once re-encoded: decode(encode(decode(x))) succeeds and
//    re-encodes to the same bytes (the encoders write only what the decoders accept, and one
//    encoding stands for one value);
//  * a record the registry cannot decode is counted as an anomaly, never applied halfway: the
//    registry's image is unchanged.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/bcast/message.hpp"
#include "core/membership/cluster_registry.hpp"

namespace {

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_core_decoders: %s\n", what.c_str());
  std::abort();
}

void check_message_batch(std::string_view bytes) {
  const auto batch = bcast::decode_message_batch(bytes);
  if (!batch) return;
  const std::string encoded = bcast::encode_message_batch(*batch);
  const auto again = bcast::decode_message_batch(encoded);
  if (!again) fail("a re-encoded message batch does not decode");
  if (again->size() != batch->size()) fail("a message batch changes size when re-encoded");
  if (bcast::encode_message_batch(*again) != encoded) fail("message batch is no fixed point");
}

void check_registry_image(std::string_view bytes) {
  auto registry = bcast::ClusterRegistry::decode(bytes);
  if (!registry) {
    if (registry.error().message.empty()) fail("registry image refused without a reason");
    return;
  }
  const std::string encoded = registry.value().encode();
  auto again = bcast::ClusterRegistry::decode(encoded);
  if (!again) fail("a re-encoded registry image does not decode: " + again.error().message);
  if (again.value().encode() != encoded) fail("registry image is no fixed point");
}

void check_registry_record(std::uint8_t selector, std::string_view bytes) {
  bcast::ClusterRegistry registry;
  bcast::raft::Entry entry;
  entry.term = 1;
  entry.index = 1;
  entry.type =
      (selector & 1) ? bcast::raft::EntryType::kMembership : bcast::raft::EntryType::kConfChange;
  entry.data = bcast::SharedBytes(bytes);
  const std::string before = registry.encode();
  registry.apply(entry);
  const std::string after = registry.encode();
  if (registry.anomalies() > 0 && after != before) {
    fail("an undecodable registry record changed the registry");
  }
  auto again = bcast::ClusterRegistry::decode(after);
  if (!again || again.value().encode() != after) fail("registry after a record: no fixed point");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (selector % 3) {
    case 0:
      check_message_batch(bytes);
      break;
    case 1:
      check_registry_image(bytes);
      break;
    default:
      check_registry_record(static_cast<std::uint8_t>(selector / 3), bytes);
      break;
  }
  return 0;
}
