#include "core/shared_bytes.hpp"

#include <ostream>

namespace bcast {

std::ostream& operator<<(std::ostream& out, const SharedBytes& bytes) {
  return out << bytes.view();
}

}  // namespace bcast
