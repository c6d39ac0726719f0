// The messages Raft nodes exchange. One struct serves every type; each field's meaning per
// type is documented below. The codec (lib/codec) maps it to the wire.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/raft/types.hpp"

namespace bcast::raft {

enum class MessageType : std::uint8_t {
  kPreVote = 0,          // "would you vote for me in term+1?" (thesis §9.6); changes no state
  kPreVoteResponse = 1,  //
  kVote = 2,             // RequestVote
  kVoteResponse = 3,     //
  kAppend = 4,           // AppendEntries carrying entries
  kAppendResponse = 5,   //
  kHeartbeat = 6,        // AppendEntries without entries: asserts leadership, carries commit
  kHeartbeatResponse = 7,
  kInstallSnapshot = 8,  // the leader's snapshot, for a follower whose next entry was compacted
  kTimeoutNow = 9,       // leadership transfer: "campaign now, the leader steps aside"
};

const char* message_type_name(MessageType type);

// Vote and PreVote requests set `context` to this when a leadership transfer triggered the
// campaign: voters then grant even while they still hear from the current leader.
inline constexpr std::uint64_t kCampaignTransfer = 1;

struct Message {
  MessageType type = MessageType::kHeartbeat;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;  // the sender's term; for PreVote, the term the sender would campaign in

  // Append: the index and term of the entry preceding `entries` (prevLogIndex/prevLogTerm).
  // Vote, PreVote: the candidate's last log index and term.
  // AppendResponse: on success the highest index now matching the leader; on reject the index
  // the rejected Append probed.
  LogIndex index = 0;
  Term log_term = 0;

  // Append, Heartbeat: the leader's commit index (leaderCommit).
  LogIndex commit = 0;

  std::vector<Entry> entries;  // Append

  // Responses: whether the request was refused.
  bool reject = false;
  // AppendResponse with reject: a hint for fast backtracking, the largest index at or below
  // the probed one whose term is at most the probed term, and that entry's term.
  LogIndex reject_hint = 0;
  Term reject_hint_term = 0;

  // Heartbeat and HeartbeatResponse: the leader's tick count when the heartbeat was sent,
  // echoed back so the leader can time its lease. Vote/PreVote: kCampaignTransfer or 0.
  std::uint64_t context = 0;

  std::optional<Snapshot> snapshot;  // InstallSnapshot
};

// True for the messages a candidate sends and the replies it collects.
inline bool is_vote_request(MessageType t) {
  return t == MessageType::kVote || t == MessageType::kPreVote;
}
inline bool is_response(MessageType t) {
  return t == MessageType::kPreVoteResponse || t == MessageType::kVoteResponse ||
         t == MessageType::kAppendResponse || t == MessageType::kHeartbeatResponse;
}

}  // namespace bcast::raft
