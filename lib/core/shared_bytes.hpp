// Immutable bytes shared by every copy of the value that holds them.
//
// A Raft entry can carry a 16 MiB batch of payloads; the log, the persist request, the Append to
// each follower and the committed work handed to the state machine all hold the same entry. With
// std::string each of them copied the bytes, which stalled the event loop long enough for
// followers to time out; SharedBytes copies a pointer instead. The bytes never change once made.
#pragma once

#include <compare>
#include <cstddef>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

namespace bcast {

class SharedBytes {
 public:
  SharedBytes() = default;
  SharedBytes(std::string bytes)  // NOLINT(google-explicit-constructor): a value, like a string
      : bytes_(bytes.empty() ? nullptr : std::make_shared<const std::string>(std::move(bytes))) {}
  SharedBytes(const char* text) : SharedBytes(std::string(text)) {}         // NOLINT
  SharedBytes(std::string_view bytes) : SharedBytes(std::string(bytes)) {}  // NOLINT

  std::string_view view() const { return bytes_ ? std::string_view(*bytes_) : std::string_view(); }
  operator std::string_view() const { return view(); }  // NOLINT
  const char* data() const { return view().data(); }
  std::size_t size() const { return bytes_ ? bytes_->size() : 0; }
  bool empty() const { return size() == 0; }
  std::string str() const { return std::string(view()); }

  friend bool operator==(const SharedBytes& a, const SharedBytes& b) {
    return a.view() == b.view();
  }
  friend bool operator==(const SharedBytes& a, std::string_view b) { return a.view() == b; }
  friend bool operator==(const SharedBytes& a, const char* b) { return a.view() == b; }
  friend std::ostream& operator<<(std::ostream& out, const SharedBytes& bytes);

 private:
  std::shared_ptr<const std::string> bytes_;
};

}  // namespace bcast
