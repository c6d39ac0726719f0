// The checker has teeth: each deliberately broken delivery record is caught (no processes).
#include "delivery_check.hpp"

#include <gtest/gtest.h>

namespace bcast::integration {
namespace {

Delivery message(const std::string& payload, std::uint64_t seq, std::optional<std::uint64_t> gseq,
                 const std::string& sender, const std::string& order = "total") {
  return Delivery{"g", sender, seq, gseq, "reliable", order, payload};
}

std::vector<Stream> two_streams(bool total) {
  auto receipt = [&](std::uint64_t seq, std::uint64_t gseq) {
    return PubReceipt{seq, total ? std::optional<std::uint64_t>(gseq) : std::nullopt};
  };
  return {{"A", {"A-1", "A-2"}, {receipt(1, 1), receipt(2, 3)}},
          {"B", {"B-1", "B-2"}, {receipt(1, 2), receipt(2, 4)}}};
}

// A correct total-order record: A-1 B-1 A-2 B-2 at gseq 1..4.
std::vector<Delivery> good_total() {
  return {message("A-1", 1, 1, "10"), message("B-1", 1, 2, "20"), message("A-2", 2, 3, "10"),
          message("B-2", 2, 4, "20")};
}

std::size_t violations(const std::string& order, const std::vector<Delivery>& deliveries,
                       bool complete = true, const std::vector<Delivery>& other = good_total()) {
  DeliveryCheck check(expectation_for("g", "reliable", order), two_streams(order == "total"));
  if (!other.empty()) check.check_subscriber("other", other, complete, true);
  check.check_subscriber("sub", deliveries, complete, true);
  return check.violations().size();
}

TEST(DeliveryCheckTeeth, AcceptsACorrectRecord) {
  EXPECT_EQ(violations("total", good_total()), 0u);
}

TEST(DeliveryCheckTeeth, CatchesDuplicatesAndInventions) {
  auto d = good_total();
  d.push_back(message("A-2", 2, 5, "10"));
  EXPECT_GT(violations("total", d), 0u);
  d = good_total();
  d.push_back(message("A-3", 3, 5, "10"));
  EXPECT_GT(violations("total", d), 0u);
  d = good_total();
  d[0].payload = "Z-1";
  EXPECT_GT(violations("total", d), 0u);
}

TEST(DeliveryCheckTeeth, CatchesLossReorderAndSenderMixups) {
  auto d = good_total();
  d.pop_back();
  EXPECT_GT(violations("total", d), 0u);  // an acknowledged message missing
  EXPECT_EQ(violations("total", d, false), 0u);
  d = good_total();
  std::swap(d[0], d[2]);  // A-2 before A-1
  EXPECT_GT(violations("total", d, true, {}), 0u);
  d = good_total();
  d[1].sender = "10";  // B-1 from A's sender
  EXPECT_GT(violations("total", d), 0u);
  d = good_total();
  d[2].seq = 7;
  EXPECT_GT(violations("total", d), 0u);
}

TEST(DeliveryCheckTeeth, CatchesGapsUnderFifo) {
  std::vector<Delivery> d = {message("A-2", 2, std::nullopt, "10", "fifo"),
                             message("B-1", 1, std::nullopt, "20", "fifo"),
                             message("B-2", 2, std::nullopt, "20", "fifo")};
  EXPECT_GT(violations("fifo", d, false, {}), 0u);
  d.insert(d.begin(), message("A-1", 1, std::nullopt, "10", "fifo"));
  EXPECT_EQ(violations("fifo", d, true, {}), 0u);
}

TEST(DeliveryCheckTeeth, CatchesTotalOrderDisagreement) {
  // Another subscriber (and the receipts) put B-1 at 2 and A-2 at 3; this one swaps them.
  std::vector<Delivery> d = {message("A-1", 1, 1, "10"), message("A-2", 2, 2, "10"),
                             message("B-1", 1, 3, "20"), message("B-2", 2, 4, "20")};
  EXPECT_GT(violations("total", d), 0u);
  d = good_total();
  d[3].gseq = 5;  // a hole in the sequence
  EXPECT_GT(violations("total", d, false, {}), 0u);
  d = good_total();
  d[3].gseq.reset();
  EXPECT_GT(violations("total", d, false, {}), 0u);
  d = {message("A-1", 1, 1, "10", "fifo")};
  EXPECT_GT(violations("fifo", d, false, {}), 0u);  // gseq without total order
}

}  // namespace
}  // namespace bcast::integration
