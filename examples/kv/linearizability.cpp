// Wing & Gong's linearizability search with Lowe's cache (linearizability.hpp).
#include "linearizability.hpp"

#include <algorithm>
#include <charconv>
#include <map>
#include <set>
#include <sstream>

namespace bcast::kv {
namespace {

using Register = std::optional<std::string>;

std::optional<long long> to_integer(const Register& value) {
  if (!value) return 0;
  long long number = 0;
  const auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), number);
  if (error != std::errc() || end != value->data() + value->size()) return std::nullopt;
  return number;
}

// The sequential specification of one key: does `op` applied to `state` give its recorded
// output, and what is the state after it?
bool step(const Register& state, const Operation& op, Register& next) {
  next = state;
  switch (op.kind) {
    case Operation::Kind::kGet:
      return !op.known || op.output == state;
    case Operation::Kind::kPut:
      next = op.value;
      return true;
    case Operation::Kind::kDelete:
      next.reset();
      return !op.known || op.flag == state.has_value();
    case Operation::Kind::kCas: {
      const bool swaps = state == op.expected;
      if (swaps) next = op.value;
      return !op.known || (op.flag == swaps && op.output == state);
    }
    case Operation::Kind::kIncr: {
      const auto current = to_integer(state);
      const auto by = to_integer(op.value);
      if (!current || !by) return !op.known;  // the store refuses it and changes nothing
      next = std::to_string(*current + *by);
      return !op.known || op.output == next;
    }
  }
  return false;
}

// One key's history as Lowe's doubly linked list of call and return entries, in time order.
struct Entry {
  bool is_call = false;
  std::size_t op = 0;
  std::int64_t time = 0;
  std::size_t match = 0;  // a call's return entry
  std::size_t prev = 0, next = 0;
};

bool check_key(const std::vector<const Operation*>& ops) {
  const std::size_t n = ops.size();
  std::vector<Entry> entries;
  entries.reserve(2 * n + 1);
  for (std::size_t i = 0; i < n; ++i) {
    entries.push_back({true, i, ops[i]->call_ns, 0, 0, 0});
    entries.push_back({false, i, ops[i]->return_ns, 0, 0, 0});
  }
  // Calls before returns at equal times: the permissive choice (never a false alarm).
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.is_call && !b.is_call;
  });
  const std::size_t head = entries.size();  // sentinel index
  entries.push_back({});
  std::vector<std::size_t> call_of(n), return_of(n);
  for (std::size_t i = 0; i < head; ++i) {
    (entries[i].is_call ? call_of : return_of)[entries[i].op] = i;
  }
  for (std::size_t i = 0; i < n; ++i) entries[call_of[i]].match = return_of[i];
  for (std::size_t i = 0; i <= head; ++i) {
    entries[i].next = (i + 1) % (head + 1);
    entries[i].prev = (i + head) % (head + 1);
  }
  auto lift = [&](std::size_t call) {
    for (std::size_t e : {call, entries[call].match}) {
      entries[entries[e].prev].next = entries[e].next;
      entries[entries[e].next].prev = entries[e].prev;
    }
  };
  auto unlift = [&](std::size_t call) {
    for (std::size_t e : {entries[call].match, call}) {
      entries[entries[e].prev].next = e;
      entries[entries[e].next].prev = e;
    }
  };

  std::vector<bool> linearized(n, false);
  std::set<std::pair<std::vector<bool>, Register>> seen;
  std::vector<std::pair<std::size_t, Register>> stack;  // call entry, state before it
  Register state;
  std::size_t entry = entries[head].next;
  while (entries[head].next != head) {
    if (entry == head) return false;  // cannot happen: a return entry ends every path
    const Entry& current = entries[entry];
    if (current.is_call) {
      Register next;
      if (step(state, *ops[current.op], next)) {
        linearized[current.op] = true;
        if (seen.emplace(linearized, next).second) {
          stack.emplace_back(entry, state);
          state = std::move(next);
          lift(entry);
          entry = entries[head].next;
          continue;
        }
        linearized[current.op] = false;
      }
      entry = current.next;
    } else {
      // An operation returned without having been linearized: undo the latest choice.
      if (stack.empty()) return false;
      auto [call, before] = std::move(stack.back());
      stack.pop_back();
      linearized[entries[call].op] = false;
      state = std::move(before);
      unlift(call);
      entry = entries[call].next;
    }
  }
  return true;
}

const char* kind_name(Operation::Kind kind) {
  switch (kind) {
    case Operation::Kind::kPut:
      return "put";
    case Operation::Kind::kDelete:
      return "delete";
    case Operation::Kind::kCas:
      return "cas";
    case Operation::Kind::kIncr:
      return "incr";
    case Operation::Kind::kGet:
      return "get";
  }
  return "?";
}

std::string show(const Register& value) { return value ? "\"" + *value + "\"" : "null"; }

}  // namespace

std::string describe(const Operation& op) {
  std::ostringstream out;
  out << "client " << op.client << " [" << op.call_ns << ", ";
  if (op.known) {
    out << op.return_ns;
  } else {
    out << "inf";
  }
  out << "] " << kind_name(op.kind) << "(" << op.key;
  if (op.kind == Operation::Kind::kCas) out << ", expected " << show(op.expected);
  if (op.value) out << ", " << *op.value;
  out << ")";
  if (!op.known) return out.str() + " -> unknown";
  out << " -> " << show(op.output);
  if (op.kind == Operation::Kind::kCas || op.kind == Operation::Kind::kDelete) {
    out << (op.flag ? " true" : " false");
  }
  return out.str();
}

CheckResult check_linearizable(const std::vector<Operation>& history) {
  std::map<std::string, std::vector<const Operation*>> by_key;
  for (const auto& op : history) by_key[op.key].push_back(&op);
  for (const auto& [key, ops] : by_key) {
    if (check_key(ops)) continue;
    CheckResult result{false, key, {}};
    auto sorted = ops;
    std::sort(sorted.begin(), sorted.end(),
              [](const Operation* a, const Operation* b) { return a->call_ns < b->call_ns; });
    for (const auto* op : sorted) result.explanation += describe(*op) + "\n";
    return result;
  }
  return {};
}

}  // namespace bcast::kv
