// Agreed group views: who is in each group, as every daemon agrees it.
//
// A group's members are client connections (sender id, the daemon's node id, the client's
// name). A change of membership is a GroupRecord that travels the total-order stream like a
// total-order message (core/order/total_order.hpp: a message of the reserved empty group): it is
// committed through Raft and applied by every daemon at the same place among the total-order
// messages. So every daemon sees the same sequence of views per group, and each view takes
// effect at a global position: view v with `gseq` G follows every total-order message with
// gseq <= G and precedes every one above. Any two daemons that deliver views v and v+1 of a
// group deliver the same total-order messages between them (virtual synchrony on the
// total-order stream). A record takes no gseq of its own.
//
// Records are idempotent (a join of a member, a leave of a non-member change nothing and make no
// view), so their senders may repeat them until they see them applied (see ViewKeeper).
//
// A daemon the leader stops hearing from (excluded after the peer timeout) has its members
// suspended: they leave every view with cause daemon-failed. When the leader hears from the same
// incarnation again, they are restored (cause daemon-returned). Members of an older incarnation
// of a node (its clients died with the process) are dropped when a newer one is seen.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "bcast/result.hpp"
#include "bcast/types.hpp"
#include "core/bcast/message.hpp"

namespace bcast {

struct GroupMember {
  SenderId sender = 0;
  NodeId node = kNoNode;
  std::string name;  // the client's name from its hello (may be empty)
  auto operator<=>(const GroupMember&) const = default;
};

enum class ViewCause : std::uint8_t {
  kJoin,
  kLeave,
  kDisconnect,      // the client's connection closed (or the client process died)
  kDaemonFailed,    // the leader stopped hearing from the member's daemon, or it restarted
  kDaemonReturned,  // the same daemon incarnation is heard again: its members are restored
};
// "join", "leave", "disconnect", "daemon-failed", "daemon-returned".
const char* view_cause_name(ViewCause cause);

// One group's new view, for the clients of the group on this daemon.
struct ViewChange {
  std::string group;
  std::uint64_t view_id = 0;         // 1, 2, 3, ... per group, the same on every daemon
  std::vector<GroupMember> members;  // sorted by sender
  std::vector<GroupMember> joined;
  std::vector<GroupMember> left;
  ViewCause cause = ViewCause::kJoin;
  // Takes effect after the total-order message at this global position (0: before any).
  std::uint64_t gseq = 0;
  bool operator==(const ViewChange&) const = default;
};

struct GroupRecord {
  enum class Kind : std::uint8_t {
    kJoin,        // member joins group
    kLeave,       // member.sender leaves group
    kDisconnect,  // member.sender leaves every group
    kNodeDown,    // node's members are suspended
    kNodeUp,      // node is heard again as incarnation `origin`
  };
  Kind kind = Kind::kJoin;
  std::string group;
  GroupMember member;
  NodeId node = kNoNode;  // kNodeDown, kNodeUp
  OriginId origin = 0;    // kNodeUp
  bool operator==(const GroupRecord&) const = default;
};
std::string encode_group_record(const GroupRecord& record);
std::optional<GroupRecord> decode_group_record(std::string_view bytes);

class GroupViews {
 public:
  // Applies a committed record; appends the views it changes (in group order) to `views`.
  void apply(const GroupRecord& record, std::uint64_t gseq, std::vector<ViewChange>& views);

  bool is_member(const std::string& group, SenderId sender) const;
  // Every member (of any group) hosted by `node`, with its groups.
  std::map<SenderId, std::set<std::string>> members_on(NodeId node) const;
  const std::set<NodeId>& down_nodes() const { return down_; }
  // Daemons that host at least one member.
  std::set<NodeId> hosting_nodes() const;
  std::vector<GroupMember> members(const std::string& group) const;
  std::uint64_t view_id(const std::string& group) const;

  std::string encode() const;
  static Result<GroupViews> decode(std::string_view image);
  bool operator==(const GroupViews&) const = default;

 private:
  struct Group {
    std::uint64_t view_id = 0;
    std::map<SenderId, GroupMember> members;
    bool operator==(const Group&) const = default;
  };
  struct Suspended {
    std::string group;
    GroupMember member;
    bool operator==(const Suspended&) const = default;
  };
  // Adds (or removes) members of one group and records the view if anything changed.
  void change(const std::string& group, const std::vector<GroupMember>& joined,
              const std::vector<SenderId>& leaving, ViewCause cause, std::uint64_t gseq,
              std::vector<ViewChange>& views);
  void node_down(NodeId node, std::uint64_t gseq, std::vector<ViewChange>& views);
  void node_up(NodeId node, OriginId origin, std::uint64_t gseq, std::vector<ViewChange>& views);

  std::map<std::string, Group> groups_;
  std::set<NodeId> down_;
  std::map<NodeId, std::vector<Suspended>> suspended_;
};

}  // namespace bcast
