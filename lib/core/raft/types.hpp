// Raft's data: log entries, the durable hard state, cluster configurations and snapshots.
// Names follow the Raft paper (Ongaro & Ousterhout 2014) and Ongaro's thesis.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bcast/types.hpp"
#include "core/shared_bytes.hpp"

namespace bcast::raft {

enum class EntryType : std::uint8_t {
  kNormal = 0,      // an application command, opaque to Raft
  kConfChange = 1,  // a single-server membership change (data holds an encoded ConfChange)
  kLeaderNoop = 2,  // appended by every new leader so it can commit entries of earlier terms
  kMembership = 3,  // a record for the cluster registry (core/membership/cluster_registry.hpp):
                    // the cluster's id, a member's identity and boot count; opaque to Raft
};

struct Entry {
  Term term = 0;
  LogIndex index = 0;
  EntryType type = EntryType::kNormal;
  SharedBytes data;  // shared, not copied, by the log, storage requests and Appends

  bool operator==(const Entry&) const = default;
};

// What must survive a crash besides the log: the current term, the vote cast in it, and the
// highest index known committed (the last only speeds up restart; it need not be synced).
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  LogIndex commit = 0;

  bool operator==(const HardState&) const = default;
};

// A cluster configuration: voters decide elections and commitment; learners only receive the
// log. Both lists are kept sorted and disjoint.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;

  bool is_voter(NodeId id) const;
  bool is_learner(NodeId id) const;
  bool contains(NodeId id) const { return is_voter(id) || is_learner(id); }
  bool operator==(const ConfState&) const = default;
};

enum class ConfChangeType : std::uint8_t {
  kAddVoter = 0,    // adds a new voter, or promotes an existing learner
  kAddLearner = 1,  // adds a new learner (a voter cannot be demoted this way)
  kRemoveNode = 2,  // removes a voter or learner
};

struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddVoter;
  NodeId node = kNoNode;
  // Not Raft's business, carried along so that one committed entry makes a member and says how
  // to reach it (the cluster registry keeps them): the peer endpoint of an added node, and
  // whether a learner is to be promoted by the leader once it has caught up, and its CURVE
  // public key (Z85, kPublicKeyChars; empty if none was given) that every daemon lets in.
  std::string address;
  bool promote_when_caught_up = false;
  std::string public_key;
  static constexpr std::size_t kPublicKeyChars = 40;

  bool operator==(const ConfChange&) const = default;
};

// ConfChange entries: type (1 byte), node id (8 bytes, little-endian), then optionally flags
// (1 byte: bit 0 promote_when_caught_up, bit 1 a public key follows), the public key if bit 1
// (kPublicKeyChars bytes) and the address (the rest). Entries written before keys existed never
// set bit 1, so they decode as they did. The core needs no serialization library for it.
std::string encode_conf_change(const ConfChange& change);
std::optional<ConfChange> decode_conf_change(std::string_view data);

// The configuration that results from applying `change` to `conf`, or nullopt if the change
// is not allowed (removing an absent node, demoting a voter, adding an existing member).
std::optional<ConfState> apply_conf_change(const ConfState& conf, const ConfChange& change);

struct SnapshotMeta {
  LogIndex index = 0;  // the last entry the snapshot covers
  Term term = 0;       // the term of that entry
  ConfState conf;      // the configuration as of that entry

  bool operator==(const SnapshotMeta&) const = default;
};

// A snapshot of the application state machine. The data is shared, not copied, as it passes
// from the state machine to Raft, to storage and onto the wire.
struct Snapshot {
  SnapshotMeta meta;
  std::shared_ptr<const std::string> data;
};

}  // namespace bcast::raft
