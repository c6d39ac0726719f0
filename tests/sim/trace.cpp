#include "trace.hpp"

#include <cstdio>

namespace bcast::sim {

void Trace::add(std::uint64_t now_us, const std::string& line) {
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "%10.3fms ", static_cast<double>(now_us) / 1000.0);
  std::string full = stamp + line;
  if (print_all_) std::printf("%s\n", full.c_str());
  lines_.push_back(std::move(full));
  if (lines_.size() > keep_lines_) lines_.pop_front();
}

std::string Trace::tail() const {
  std::string out;
  for (const auto& line : lines_) out += line + "\n";
  return out;
}

}  // namespace bcast::sim
