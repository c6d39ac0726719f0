#include "core/shared_bytes.hpp"

#include <ostream>

namespace bcast {

SharedBytes::SharedBytes(std::string bytes) {
  if (bytes.empty()) return;
  auto owned = std::make_shared<const std::string>(std::move(bytes));
  view_ = *owned;
  owner_ = std::move(owned);
}

SharedBytes SharedBytes::borrow(std::shared_ptr<const void> owner, std::string_view bytes) {
  SharedBytes shared;
  if (bytes.empty()) return shared;
  shared.owner_ = std::move(owner);
  shared.view_ = bytes;
  return shared;
}

std::ostream& operator<<(std::ostream& out, const SharedBytes& bytes) {
  return out << bytes.view();
}

}  // namespace bcast
