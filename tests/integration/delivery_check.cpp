#include "delivery_check.hpp"

namespace bcast::integration {
namespace {

std::string show(const std::optional<std::uint64_t>& v) { return v ? std::to_string(*v) : "null"; }

}  // namespace

Expectation expectation_for(const std::string& group, const std::string& mode,
                            const std::string& order) {
  Expectation e;
  e.group = group;
  e.mode = mode;
  e.order = order;
  e.fifo = order != "none";
  e.gap_free = e.fifo && mode != "best-effort";
  e.total = order == "total";
  return e;
}

DeliveryCheck::DeliveryCheck(Expectation expectation, std::vector<Stream> streams)
    : expectation_(std::move(expectation)) {
  for (Stream& s : streams) {
    if (s.receipts.size() > s.payloads.size()) {
      violation("publisher " + s.tag + " got " + std::to_string(s.receipts.size()) +
                " receipts for " + std::to_string(s.payloads.size()) + " messages");
    }
    for (std::size_t i = 0; i < s.receipts.size() && i < s.payloads.size(); ++i) {
      const PubReceipt& r = s.receipts[i];
      const std::string& payload = s.payloads[i];
      acknowledged_.insert(payload);
      if (r.seq != i + 1) {
        violation("receipt " + std::to_string(i + 1) + " of publisher " + s.tag + " has seq " +
                  std::to_string(r.seq));
      }
      if (expectation_.total != r.gseq.has_value()) {
        violation("receipt of " + payload + " has gseq " + show(r.gseq) + " under order " +
                  expectation_.order);
      }
      if (r.gseq) {
        auto [at, inserted] = payload_at_gseq_.emplace(*r.gseq, payload);
        if (!inserted) {
          violation("receipts of " + at->second + " and " + payload + " share gseq " +
                    std::to_string(*r.gseq));
        }
        gseq_of_payload_.emplace(payload, *r.gseq);
      }
    }
    streams_.emplace(s.tag, std::move(s));
  }
}

void DeliveryCheck::violation(const std::string& text) {
  if (violations_.size() >= 40) {
    ++dropped_violations_;
    return;
  }
  violations_.push_back(text);
}

std::string DeliveryCheck::report() const {
  std::string text;
  for (const std::string& v : violations_) text += "  " + v + "\n";
  if (dropped_violations_ > 0) {
    text += "  ... and " + std::to_string(dropped_violations_) + " more\n";
  }
  return text;
}

std::optional<std::uint64_t> DeliveryCheck::gseq_of(const std::string& payload) const {
  auto it = gseq_of_payload_.find(payload);
  if (it == gseq_of_payload_.end()) return std::nullopt;
  return it->second;
}

std::size_t DeliveryCheck::missing(const std::vector<Delivery>& deliveries,
                                   std::uint64_t from_n) const {
  std::set<std::string> seen;
  for (const Delivery& d : deliveries) seen.insert(d.payload);
  std::size_t count = 0;
  for (const std::string& p : acknowledged_) {
    if (from_n > 1) {
      const auto id = parse_payload(p);
      if (id && id->n < from_n) continue;
    }
    count += seen.contains(p) ? 0 : 1;
  }
  return count;
}

void DeliveryCheck::check_subscriber(const std::string& name,
                                     const std::vector<Delivery>& deliveries, bool complete,
                                     bool from_start) {
  std::set<std::string> seen;
  std::map<std::string, std::uint64_t> last_n;  // by tag
  std::optional<std::uint64_t> previous_gseq;
  for (std::size_t i = 0; i < deliveries.size(); ++i) {
    const Delivery& d = deliveries[i];
    const std::string where = name + " delivery #" + std::to_string(i + 1) + " (" + d.payload +
                              ", sender " + d.sender + ", seq " + std::to_string(d.seq) +
                              ", gseq " + show(d.gseq) + ")";
    if (d.group != expectation_.group || d.mode != expectation_.mode ||
        d.order != expectation_.order) {
      violation(where + ": group/mode/order " + d.group + "/" + d.mode + "/" + d.order +
                ", expected " + expectation_.group + "/" + expectation_.mode + "/" +
                expectation_.order);
    }
    const auto id = parse_payload(d.payload);
    const auto stream = id ? streams_.find(id->tag) : streams_.end();
    if (stream == streams_.end() || id->n == 0 || id->n > stream->second.payloads.size() ||
        stream->second.payloads[id->n - 1] != d.payload) {
      violation(where + ": a message nobody published");
      continue;
    }
    if (!seen.insert(d.payload).second) {
      violation(where + ": delivered twice");
      continue;
    }
    if (d.seq != id->n) {
      violation(where + ": seq should be " + std::to_string(id->n) +
                " (the publisher's message number)");
    }
    auto [tag_sender, new_tag] = sender_of_tag_.emplace(id->tag, d.sender);
    if (!new_tag && tag_sender->second != d.sender) {
      violation(where + ": publisher " + id->tag + " was sender " + tag_sender->second +
                " elsewhere");
    }
    auto [sender_tag, new_sender] = tag_of_sender_.emplace(d.sender, id->tag);
    if (!new_sender && sender_tag->second != id->tag) {
      violation(where + ": sender " + d.sender + " also published " + sender_tag->second);
    }
    if (expectation_.fifo) {
      auto last = last_n.find(id->tag);
      if (last != last_n.end() && id->n <= last->second) {
        violation(where + ": out of order after " + id->tag + "-" + std::to_string(last->second));
      } else if (expectation_.gap_free) {
        const std::uint64_t want =
            last != last_n.end() ? last->second + 1 : (from_start ? 1 : id->n);
        if (id->n != want) {
          violation(where + ": gap, expected " + id->tag + "-" + std::to_string(want) + " next");
        }
      }
      last_n[id->tag] = std::max(last_n[id->tag], id->n);
    }
    if (expectation_.total) {
      if (!d.gseq) {
        violation(where + ": no gseq under total order");
        continue;
      }
      if (previous_gseq && *d.gseq != *previous_gseq + 1) {
        violation(where + ": gseq does not follow " + std::to_string(*previous_gseq));
      }
      previous_gseq = d.gseq;
      auto [at, inserted] = payload_at_gseq_.emplace(*d.gseq, d.payload);
      if (!inserted && at->second != d.payload) {
        violation(where + ": gseq " + std::to_string(*d.gseq) + " is " + at->second +
                  " elsewhere (or in its receipt)");
      }
      auto [of, fresh] = gseq_of_payload_.emplace(d.payload, *d.gseq);
      if (!fresh && of->second != *d.gseq) {
        violation(where + ": has gseq " + std::to_string(of->second) +
                  " elsewhere (or in its receipt)");
      }
    } else if (d.gseq) {
      violation(where + ": gseq set without total order");
    }
  }
  if (complete) {
    std::vector<std::string> absent;
    for (const std::string& p : acknowledged_) {
      if (!seen.contains(p)) absent.push_back(p);
    }
    if (!absent.empty()) {
      std::string list;
      for (std::size_t i = 0; i < absent.size() && i < 10; ++i) list += " " + absent[i];
      violation(name + " never delivered " + std::to_string(absent.size()) +
                " acknowledged message(s):" + list + (absent.size() > 10 ? " ..." : ""));
    }
  }
}

}  // namespace bcast::integration
