// bcastctl's output lines: the JSON of the external contract, byte for byte.
#include <gtest/gtest.h>

#include <string>

#include "format.hpp"

namespace bcast::ctl {
namespace {

TEST(BcastctlFormatTest, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8(""));
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80"));  // é € 😀
  EXPECT_TRUE(is_valid_utf8(std::string("nul\0inside", 10)));
  EXPECT_FALSE(is_valid_utf8("\xff"));
  EXPECT_FALSE(is_valid_utf8("\xc3"));              // cut short
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));      // a surrogate
  EXPECT_FALSE(is_valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(is_valid_utf8("\x80"));              // a lone continuation byte
}

TEST(BcastctlFormatTest, Base64) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64(std::string("\xff\x00\xfe", 3)), "/wD+");
}

Delivery delivery(std::string payload, std::optional<std::uint64_t> gseq) {
  return Delivery{"chat",        281474976710657ULL, 3, gseq, Mode::kReliable,
                  Order::kTotal, std::move(payload)};
}

TEST(BcastctlFormatTest, MessageJsonMatchesTheContract) {
  EXPECT_EQ(message_json(delivery("hello \"you\"", 7)),
            R"({"type":"message","group":"chat","sender":281474976710657,"seq":3,"gseq":7,)"
            R"("mode":"reliable","order":"total","payload":"hello \"you\""})");
  EXPECT_EQ(message_json(delivery("x", std::nullopt)),
            R"({"type":"message","group":"chat","sender":281474976710657,"seq":3,"gseq":null,)"
            R"("mode":"reliable","order":"total","payload":"x"})");
}

TEST(BcastctlFormatTest, MessageJsonCarriesTheStreamPositionWhenGiven) {
  Delivery d{"chat", 281474976710657ULL, 3, std::nullopt, Mode::kGossip, Order::kFifo, "x", 12};
  EXPECT_EQ(message_json(d),
            R"({"type":"message","group":"chat","sender":281474976710657,"seq":3,"gseq":null,)"
            R"("mode":"gossip","order":"fifo","stream_seq":12,"payload":"x"})");
}

TEST(BcastctlFormatTest, GapJsonAndText) {
  Gap stream;
  stream.reason = "excluded";
  stream.origin = (3u << 16) | 2u;
  stream.mode = Mode::kReliable;
  stream.from = 5;
  stream.to = 9;
  EXPECT_EQ(gap_json(stream),
            R"({"type":"gap","group":"","origin":196610,"node":3,"mode":"reliable",)"
            R"("from_seq":5,"to_seq":9,"reason":"excluded"})");
  EXPECT_EQ(gap_text(stream),
            "(any group) gap: reliable messages 5..9 of origin 196610 (node 3) will never be "
            "delivered (excluded)");
  stream.to.reset();
  stream.group = "chat";
  stream.reason = "origin-lost";
  EXPECT_EQ(gap_json(stream),
            R"({"type":"gap","group":"chat","origin":196610,"node":3,"mode":"reliable",)"
            R"("from_seq":5,"to_seq":null,"reason":"origin-lost"})");
  Gap total;
  total.kind = Gap::Kind::kTotal;
  total.reason = "snapshot";
  total.from = 10;
  total.to = 40;
  EXPECT_EQ(gap_json(total),
            R"({"type":"gap","group":"","from_gseq":10,"to_gseq":40,"reason":"snapshot"})");
  EXPECT_EQ(gap_text(total),
            "(any group) gap: total-order positions 10..40 will never be delivered (snapshot)");
}

TEST(BcastctlFormatTest, BinaryPayloadsGoAsBase64) {
  EXPECT_EQ(message_json(delivery(std::string("\xff\x00\xfe", 3), 1)),
            R"({"type":"message","group":"chat","sender":281474976710657,"seq":3,"gseq":1,)"
            R"("mode":"reliable","order":"total","payload_b64":"/wD+"})");
  // Valid UTF-8 stays text, control characters escaped by JSON.
  EXPECT_EQ(message_json(delivery("caf\xc3\xa9\n", 1)),
            "{\"type\":\"message\",\"group\":\"chat\",\"sender\":281474976710657,\"seq\":3,"
            "\"gseq\":1,\"mode\":\"reliable\",\"order\":\"total\",\"payload\":\"caf\xc3\xa9\\n\"}");
}

TEST(BcastctlFormatTest, ViewReceiptStatusJson) {
  EXPECT_EQ(view_json(View{"chat", {1, 2, 3}}),
            R"({"type":"view","group":"chat","members":[1,2,3]})");
  View agreed{"chat", {1, 2}};
  agreed.view_id = 3;
  agreed.group_members = {ViewMember{281474976710657, 1, "a"}};
  agreed.left = {ViewMember{562949953421313, 2, ""}};
  agreed.cause = "disconnect";
  agreed.gseq = 12;
  EXPECT_EQ(view_json(agreed),
            R"({"type":"view","group":"chat","view_id":3,"members":[{"sender":281474976710657,)"
            R"("node":1,"name":"a"}],"joined":[],"left":[{"sender":562949953421313,"node":2,)"
            R"("name":""}],"cause":"disconnect","gseq":12})");
  EXPECT_EQ(view_text(agreed),
            "chat view 3 (disconnect, after gseq 12): members 281474976710657@1(a); joined -; "
            "left 562949953421313@2");
  EXPECT_EQ(receipt_json(Receipt{9, 4, std::nullopt}), R"({"seq":4,"gseq":null})");
  EXPECT_EQ(receipt_json(Receipt{9, 4, 12}), R"({"seq":4,"gseq":12})");
  Status status{2, "follower", 5, 1, {1, 2, 3}, 40, 0xabc, {}};
  EXPECT_EQ(status_json(status),
            R"({"node_id":2,"role":"follower","term":5,"leader":1,"members":[1,2,3],)"
            R"("commit_index":40,"cluster_id":"0000000000000abc","problems":[]})");
  status.leader.reset();
  status.role = "candidate";
  status.problems = {"refused by node 3: x"};
  EXPECT_EQ(status_json(status),
            R"({"node_id":2,"role":"candidate","term":5,"leader":null,"members":[1,2,3],)"
            R"("commit_index":40,"cluster_id":"0000000000000abc",)"
            R"("problems":["refused by node 3: x"]})");
  EXPECT_EQ(members_json(status),
            R"({"node_id":2,"members":[1,2,3],"peers":[],"daemons_down":[]})");
  EXPECT_EQ(members_text(status), "1\n2\n3");
  // Who this daemon reaches (its failure detector), and what the agreed views hold down.
  status.peers = {Status::Peer{1, true, 12}, Status::Peer{3, false, std::nullopt}};
  status.daemons_down = {3};
  EXPECT_EQ(members_json(status),
            R"({"node_id":2,"members":[1,2,3],"peers":[{"node":1,"reachable":true,)"
            R"("last_heard_ms":12},{"node":3,"reachable":false,"last_heard_ms":null}],)"
            R"("daemons_down":[3]})");
  EXPECT_EQ(members_text(status), "1 reachable, heard 12 ms ago\n2 (this daemon)\n3 unreachable");
}

TEST(BcastctlFormatTest, ClusterJsonAndText) {
  ClusterInfo info;
  info.cluster_id = 0x1f;
  info.leader = 1;
  info.members = {{1, "tcp://10.0.0.1:7401", "voter", true, false, 12, std::nullopt},
                  {4, "tcp://10.0.0.4:7401", "learner", false, true, std::nullopt, false,
                   "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"}};
  EXPECT_EQ(cluster_json(info),
            R"({"cluster_id":"000000000000001f","leader":1,"members":[)"
            R"({"node":1,"address":"tcp://10.0.0.1:7401","role":"voter","leader":true,)"
            R"("identity_bound":true,"promote_when_caught_up":false,"match_index":12,)"
            R"("reachable":null,"public_key":null},)"
            R"({"node":4,"address":"tcp://10.0.0.4:7401","role":"learner","leader":false,)"
            R"("identity_bound":false,"promote_when_caught_up":true,"match_index":null,)"
            R"("reachable":false,"public_key":"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"}]})");
  EXPECT_EQ(cluster_text(info),
            "cluster 000000000000001f, leader 1\n"
            "1  voter (leader)  tcp://10.0.0.1:7401  match 12\n"
            "4  learner (promoted once caught up)  tcp://10.0.0.4:7401  UNREACHABLE  (identity "
            "not yet recorded)  key rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7");
}

TEST(BcastctlFormatTest, ReadableLines) {
  EXPECT_EQ(message_text(delivery("hi", 7)),
            "chat sender=281474976710657 seq=3 gseq=7 reliable/total: hi");
  EXPECT_EQ(message_text(delivery("a\nb", std::nullopt)),
            "chat sender=281474976710657 seq=3 reliable/total: (3 bytes, base64) YQpi");
  EXPECT_EQ(view_text(View{"chat", {1, 2}}), "chat view: members 1 2");
}

}  // namespace
}  // namespace bcast::ctl
