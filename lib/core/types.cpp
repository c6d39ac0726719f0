#include "bcast/types.hpp"

namespace bcast {

const char* mode_name(Mode mode) {
  switch (mode) {
    case Mode::kBestEffort:
      return "best-effort";
    case Mode::kReliable:
      return "reliable";
    case Mode::kGossip:
      return "gossip";
  }
  return "unknown";
}

const char* order_name(Order order) {
  switch (order) {
    case Order::kNone:
      return "none";
    case Order::kFifo:
      return "fifo";
    case Order::kCausal:
      return "causal";
    case Order::kTotal:
      return "total";
  }
  return "unknown";
}

std::optional<Mode> parse_mode(std::string_view name) {
  for (Mode m : {Mode::kBestEffort, Mode::kReliable, Mode::kGossip}) {
    if (name == mode_name(m)) return m;
  }
  return std::nullopt;
}

std::optional<Order> parse_order(std::string_view name) {
  for (Order o : {Order::kNone, Order::kFifo, Order::kCausal, Order::kTotal}) {
    if (name == order_name(o)) return o;
  }
  return std::nullopt;
}

}  // namespace bcast
