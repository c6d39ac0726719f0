// An application outside the bcast tree, built against an installed bcast (find_package or
// pkg-config) by tests/ops/install_test.sh: it uses only <bcast/...> headers and the installed
// library, publishes one total-order message to a running daemon and waits for its delivery.
//
//   consumer SOCKET   prints "delivered gseq N" and exits 0, or a reason and exits 1
#include <bcast/client.hpp>
#include <chrono>
#include <cstdio>
#include <string>
#include <variant>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: consumer SOCKET\n");
    return 2;
  }
  auto client = bcast::Client::connect({.socket_path = argv[1]});
  if (!client) {
    std::fprintf(stderr, "connect: %s\n", client.error().message.c_str());
    return 1;
  }
  if (auto joined = client.value().join("consumer"); !joined) {
    std::fprintf(stderr, "join: %s\n", joined.error().message.c_str());
    return 1;
  }
  auto receipt = client.value().publish_and_wait("consumer", bcast::Mode::kReliable,
                                                 bcast::Order::kTotal, "from outside");
  if (!receipt || !receipt.value().gseq) {
    std::fprintf(stderr, "publish: %s\n", receipt ? "no gseq" : receipt.error().message.c_str());
    return 1;
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto event = client.value().next_event(std::chrono::milliseconds(200));
    if (!event) {
      std::fprintf(stderr, "next_event: %s\n", event.error().message.c_str());
      return 1;
    }
    if (!event.value()) continue;
    if (const auto* delivery = std::get_if<bcast::Delivery>(&*event.value())) {
      if (delivery->payload == "from outside" && delivery->gseq == receipt.value().gseq) {
        std::printf("delivered gseq %llu\n", static_cast<unsigned long long>(*delivery->gseq));
        return 0;
      }
    }
  }
  std::fprintf(stderr, "no delivery within 10 s\n");
  return 1;
}
