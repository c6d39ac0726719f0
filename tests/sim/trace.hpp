// The run's event log. Keeps the last lines in a ring (printed when a checker fails) or, with
// --trace, prints every line as it happens.
#pragma once

#include <cstdint>
#include <deque>
#include <string>

namespace bcast::sim {

class Trace {
 public:
  explicit Trace(bool print_all, std::size_t keep_lines = 400)
      : print_all_(print_all), keep_lines_(keep_lines) {}

  void add(std::uint64_t now_us, const std::string& line);
  // The kept lines, oldest first.
  std::string tail() const;

 private:
  bool print_all_;
  std::size_t keep_lines_;
  std::deque<std::string> lines_;
};

}  // namespace bcast::sim
