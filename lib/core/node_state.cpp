#include "core/node_state.hpp"

#include "core/byte_codec.hpp"

namespace bcast {
namespace {

constexpr std::string_view kImagePrefix = "BCN1";

}  // namespace

void NodeState::apply(const raft::Entry& entry, Outbox& out) {
  registry_.apply(entry);
  sequencer_.apply(entry, out);
}

std::shared_ptr<const std::string> NodeState::snapshot() const {
  std::string image(kImagePrefix);
  put_bytes(image, registry_.encode());
  image += *sequencer_.snapshot();
  return std::make_shared<const std::string>(std::move(image));
}

Result<void> NodeState::restore(const std::string& image) {
  if (image.rfind(kImagePrefix, 0) != 0) {
    registry_ = ClusterRegistry{};
    return sequencer_.restore(image);
  }
  ByteReader in(std::string_view(image).substr(kImagePrefix.size()));
  std::string_view registry_image;
  if (!in.read_bytes(registry_image)) {
    return make_error(ErrorCode::kCorrupt, "node snapshot is truncated");
  }
  auto registry = ClusterRegistry::decode(registry_image);
  if (!registry) return registry.error();
  if (auto restored = sequencer_.restore(std::string(in.rest())); !restored) return restored;
  registry_ = std::move(registry.value());
  return {};
}

}  // namespace bcast
