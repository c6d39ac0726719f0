#include "core/membership/membership_messages.hpp"

namespace bcast {

const char* refusal_reason_name(RefusalReason reason) {
  switch (reason) {
    case RefusalReason::kClusterMismatch:
      return "cluster-mismatch";
    case RefusalReason::kIdentityMismatch:
      return "identity-mismatch";
    case RefusalReason::kNotMember:
      return "not-member";
  }
  return "unknown";
}

const char* admin_kind_name(AdminRequest::Kind kind) {
  switch (kind) {
    case AdminRequest::Kind::kAdd:
      return "add";
    case AdminRequest::Kind::kPromote:
      return "promote";
    case AdminRequest::Kind::kRemove:
      return "remove";
    case AdminRequest::Kind::kTransferLeader:
      return "transfer-leader";
  }
  return "unknown";
}

}  // namespace bcast
