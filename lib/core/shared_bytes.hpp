// Immutable bytes shared by every copy of the value that holds them.
//
// A Raft entry can carry a 16 MiB batch of payloads; the log, the persist request, the Append to
// each follower and the committed work handed to the state machine all hold the same entry. With
// std::string each of them copied the bytes, which stalled the event loop long enough for
// followers to time out; SharedBytes copies a pointer instead. The bytes never change once made.
//
// The bytes may also be a part of a buffer someone else made (borrow): an entry received from
// the leader keeps the frame it came in, instead of being copied out of it.
#pragma once

#include <compare>
#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace bcast {

class SharedBytes {
 public:
  SharedBytes() = default;
  SharedBytes(std::string bytes);                                           // NOLINT: a value
  SharedBytes(const char* text) : SharedBytes(std::string(text)) {}         // NOLINT
  SharedBytes(std::string_view bytes) : SharedBytes(std::string(bytes)) {}  // NOLINT
  SharedBytes(const SharedBytes&) = default;
  SharedBytes& operator=(const SharedBytes&) = default;
  // A moved-from value is empty (its view must not outlive the owner it gave away).
  SharedBytes(SharedBytes&& other) noexcept
      : owner_(std::move(other.owner_)), view_(std::exchange(other.view_, {})) {}
  SharedBytes& operator=(SharedBytes&& other) noexcept {
    owner_ = std::move(other.owner_);
    view_ = std::exchange(other.view_, {});
    return *this;
  }
  // `bytes` inside a buffer that `owner` keeps alive (and unchanged) for as long as it is held.
  static SharedBytes borrow(std::shared_ptr<const void> owner, std::string_view bytes);

  std::string_view view() const { return view_; }
  operator std::string_view() const { return view(); }  // NOLINT
  const char* data() const { return view_.data(); }
  std::size_t size() const { return view_.size(); }
  bool empty() const { return size() == 0; }
  std::string str() const { return std::string(view()); }
  // What keeps the bytes alive (nullptr when empty): for handing them on without a copy.
  const std::shared_ptr<const void>& owner() const { return owner_; }

  friend bool operator==(const SharedBytes& a, const SharedBytes& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const SharedBytes& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const SharedBytes& a, const char* b) { return a.view() == b; }
  friend std::ostream& operator<<(std::ostream& out, const SharedBytes& bytes);

 private:
  std::shared_ptr<const void> owner_;
  std::string_view view_;
};

}  // namespace bcast
