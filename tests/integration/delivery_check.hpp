// Checks what subscribers printed against what publishers were told, independently of the code
// under test: integrity (no duplicate, no invented message), per-sender order, total order
// (one gseq -> one message everywhere, consecutive at each subscriber, matching the receipts),
// and completeness (every acknowledged message reached every subscriber that must have it).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "cluster.hpp"

namespace bcast::integration {

struct Expectation {
  std::string group;
  std::string mode;
  std::string order;
  bool fifo = false;      // per-sender order (fifo, causal, total)
  bool gap_free = false;  // ... and no gaps (every mode but best-effort)
  bool total = false;     // gseq set and agreed; else gseq null
};

// What one publishing connection sent: payloads "TAG-N" in publish order, and the receipts it
// got (receipt i acknowledges payloads[i]).
struct Stream {
  std::string tag;
  std::vector<std::string> payloads;
  std::vector<PubReceipt> receipts;
};

Expectation expectation_for(const std::string& group, const std::string& mode,
                            const std::string& order);

class DeliveryCheck {
 public:
  DeliveryCheck(Expectation expectation, std::vector<Stream> streams);

  // `complete`: every acknowledged message must be among the deliveries. `from_start`: the
  // subscriber was joined before anything was published (so gap-free streams start at 1).
  void check_subscriber(const std::string& name, const std::vector<Delivery>& deliveries,
                        bool complete, bool from_start);
  // Acknowledged messages ("TAG-N" with N >= from_n) not yet among `deliveries`.
  std::size_t missing(const std::vector<Delivery>& deliveries, std::uint64_t from_n = 1) const;
  // The gseq each subscriber and receipt agreed on for `payload`, if any.
  std::optional<std::uint64_t> gseq_of(const std::string& payload) const;

  const std::vector<std::string>& violations() const { return violations_; }
  std::string report() const;  // the first violations, one a line

 private:
  void violation(const std::string& text);

  Expectation expectation_;
  std::map<std::string, Stream> streams_;  // by tag
  std::set<std::string> acknowledged_;
  std::map<std::string, std::string> sender_of_tag_;
  std::map<std::string, std::string> tag_of_sender_;
  std::map<std::uint64_t, std::string> payload_at_gseq_;
  std::map<std::string, std::uint64_t> gseq_of_payload_;
  std::vector<std::string> violations_;
  std::size_t dropped_violations_ = 0;
};

}  // namespace bcast::integration
