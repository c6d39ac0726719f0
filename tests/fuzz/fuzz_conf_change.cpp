// libFuzzer target: the ConfChange encoding (core/raft/types.hpp), which arrives inside log
// entries from peers and from disk, and the rules for applying a change to a configuration.
//
// Invariants, each aborting when broken:
//  * decode_conf_change never crashes on any bytes, and whatever decodes re-encodes to exactly
//    the input: one encoding per change, nothing ignored;
//  * every change with a real node id survives encode then decode unchanged, and a change naming
//    kNoNode is refused;
//  * apply_conf_change, on a configuration built from the input (sorted, disjoint voters and
//    learners) and the change decoded from its first 9 bytes, refuses exactly what the header
//    says is not allowed (removing an absent node, demoting a voter, adding an existing member)
//    plus removing the last voter, and otherwise returns sorted, disjoint lists that differ from
//    the old ones by that one node.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/raft/types.hpp"

namespace {

using bcast::NodeId;
using bcast::raft::ConfChange;
using bcast::raft::ConfChangeType;
using bcast::raft::ConfState;

constexpr std::size_t kEncodedBytes = 9;

[[noreturn]] void fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_conf_change: %s\n", what.c_str());
  std::abort();
}

std::vector<NodeId> without(std::vector<NodeId> ids, NodeId id) {
  ids.erase(std::remove(ids.begin(), ids.end(), id), ids.end());
  return ids;
}

bool sorted_and_disjoint(const ConfState& conf) {
  const auto strictly_sorted = [](const std::vector<NodeId>& ids) {
    return std::adjacent_find(ids.begin(), ids.end(), std::greater_equal<>()) == ids.end();
  };
  if (!strictly_sorted(conf.voters) || !strictly_sorted(conf.learners)) return false;
  return std::none_of(conf.voters.begin(), conf.voters.end(),
                      [&](NodeId id) { return conf.is_learner(id); });
}

// A configuration from the bytes after the encoded change: byte b names node (b & 63) + 1 and
// puts it among the voters (top bits 01 or 11), the learners (10) or nowhere (00). A node named
// twice keeps its first role, so the lists stay disjoint; few node ids make collisions with
// the change's node likely.
ConfState configuration_from(const std::string& bytes) {
  ConfState conf;
  std::vector<NodeId> seen;
  for (std::size_t i = kEncodedBytes; i < bytes.size(); ++i) {
    const auto byte = static_cast<std::uint8_t>(bytes[i]);
    const NodeId id = (byte & 63) + 1;
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    seen.push_back(id);
    const int role = byte >> 6;
    if (role == 0) continue;
    (role == 2 ? conf.learners : conf.voters).push_back(id);
  }
  std::sort(conf.voters.begin(), conf.voters.end());
  std::sort(conf.learners.begin(), conf.learners.end());
  return conf;
}

void check_apply(const ConfState& conf, const ConfChange& change) {
  const NodeId node = change.node;
  const auto next = bcast::raft::apply_conf_change(conf, change);
  bool allowed = false;
  ConfState expected;
  switch (change.type) {
    case ConfChangeType::kAddVoter:
      allowed = !conf.is_voter(node);
      expected.voters = conf.voters;
      expected.voters.push_back(node);
      std::sort(expected.voters.begin(), expected.voters.end());
      expected.learners = without(conf.learners, node);
      break;
    case ConfChangeType::kAddLearner:
      allowed = !conf.contains(node);
      expected.voters = conf.voters;
      expected.learners = conf.learners;
      expected.learners.push_back(node);
      std::sort(expected.learners.begin(), expected.learners.end());
      break;
    case ConfChangeType::kRemoveNode:
      expected.voters = without(conf.voters, node);
      expected.learners = without(conf.learners, node);
      allowed = conf.contains(node) && !expected.voters.empty();
      break;
  }
  if (next.has_value() != allowed) {
    fail(std::string("apply_conf_change ") + (allowed ? "refused" : "allowed") + " change type " +
         std::to_string(static_cast<int>(change.type)) + " of node " + std::to_string(node));
  }
  if (!next) return;
  if (!sorted_and_disjoint(*next)) fail("apply_conf_change produced unsorted or shared ids");
  if (!(*next == expected)) fail("apply_conf_change changed more than the one node");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);

  // Decode, re-encode: the same bytes.
  if (const auto change = bcast::raft::decode_conf_change(bytes)) {
    if (bcast::raft::encode_conf_change(*change) != bytes) {
      fail("decoded change re-encodes to different bytes");
    }
  }

  const std::string head = bytes.substr(0, kEncodedBytes);
  if (head.size() < kEncodedBytes) return 0;

  // Encode, decode: the same change, from any type and node id.
  ConfChange built;
  built.type = static_cast<ConfChangeType>(static_cast<std::uint8_t>(head[0]) % 3);
  for (std::size_t i = 1; i < kEncodedBytes; ++i) {
    built.node |= static_cast<NodeId>(static_cast<std::uint8_t>(head[i])) << (8 * (i - 1));
  }
  const auto round_trip = bcast::raft::decode_conf_change(bcast::raft::encode_conf_change(built));
  if (built.node == bcast::kNoNode) {
    if (round_trip) fail("a change of kNoNode decoded");
  } else if (!round_trip || !(*round_trip == built)) {
    fail("an encoded change does not decode to itself");
  }

  // Applying the change the head decodes to; node ids above 64 (most of them) are never members,
  // which still exercises the add paths, so the head is used as is.
  if (const auto change = bcast::raft::decode_conf_change(head)) {
    const ConfState conf = configuration_from(bytes);
    if (!sorted_and_disjoint(conf)) fail("harness built an invalid configuration");
    check_apply(conf, *change);
  }
  return 0;
}
