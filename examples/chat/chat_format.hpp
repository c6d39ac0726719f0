// What a chat line looks like on the wire and on the terminal; I/O free.
//   wire:      {"chat":1,"nick":"alice","text":"hello"}   (JSON text: `bcastctl sub` shows it)
//   terminal:  "<alice> hello", "* bob joined lobby", "* bob left lobby (disconnect)"
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "bcast/client.hpp"
#include "bcast/result.hpp"

namespace bcast::chat {

inline constexpr std::size_t kMaxNickBytes = 64;

// kInvalidArgument: an empty or too long nick, or text that is not UTF-8.
Result<std::string> encode_line(std::string_view nick, std::string_view text);
// "<nick> text"; a payload that is not a chat line is shown as such, never dropped silently.
std::string format_delivery(const Delivery& delivery);
// The notices of an agreed view (none for the daemons' view that follows a join): one per
// member that joined or left, naming `self`'s own arrival with who is there.
std::vector<std::string> format_view(const View& view, SenderId self);

}  // namespace bcast::chat
