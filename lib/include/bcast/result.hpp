// Expected failures are values: every fallible call returns a Result carrying either its value
// or an Error with a code a program can branch on and a message a person can read.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace bcast {

enum class ErrorCode : std::uint8_t {
  kInvalidArgument = 1,    // the caller asked for something malformed or not allowed
  kNotLeader = 2,          // only the Raft leader can do this; retry at the leader
  kBusy = 3,               // a bounded queue is full; retry later
  kTooLarge = 4,           // a message or frame exceeds a configured limit
  kCorrupt = 5,            // stored or received data failed a checksum or structure check
  kIo = 6,                 // the operating system refused a file or socket operation
  kTimeout = 7,            // the operation did not complete in its allotted time
  kUnavailable = 8,        // the service is temporarily unable (no quorum, shutting down)
  kProtocol = 9,           // a peer or client broke the wire protocol
  kNotFound = 10,          // the named thing does not exist
  kPermissionDenied = 11,  // the caller is not allowed to (docs/security.md)
};

// Stable lower-case name of a code, used in logs and on the wire ("not_leader", ...).
const char* error_code_name(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Error& error() const { return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT: implicit by design

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return error_; }

 private:
  Error error_{ErrorCode::kInvalidArgument, {}};
  bool ok_ = true;
};

inline Error make_error(ErrorCode code, std::string message) {
  return Error{code, std::move(message)};
}

}  // namespace bcast
