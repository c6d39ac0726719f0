#include "core/node_state.hpp"

#include "core/byte_codec.hpp"

namespace bcast {
namespace {

constexpr std::string_view kImagePrefix = "BCN2";
constexpr std::string_view kImagePrefixBeforeViews = "BCN1";

}  // namespace

NodeState::NodeState(OriginId self) : sequencer_(self) {
  sequencer_.set_control_sink([this](const BroadcastMessage& m, std::uint64_t gseq, Outbox& out) {
    const auto record = m.payload ? decode_group_record(*m.payload) : std::nullopt;
    if (!record) {
      ++view_anomalies_;
      return;
    }
    std::vector<ViewChange> changed;
    views_.apply(*record, gseq, changed);
    for (ViewChange& view : changed) {
      announce_view(out, std::move(view));
      if (late_view_bug_) ++out.views.back().before_delivery;  // after the next delivery
    }
  });
}

void NodeState::apply(const raft::Entry& entry, Outbox& out) {
  registry_.apply(entry);
  sequencer_.apply(entry, out);
}

std::shared_ptr<const std::string> NodeState::snapshot() const {
  std::string image(kImagePrefix);
  put_bytes(image, registry_.encode());
  put_bytes(image, views_.encode());
  image += *sequencer_.snapshot();
  return std::make_shared<const std::string>(std::move(image));
}

Result<void> NodeState::restore(const std::string& image) {
  const bool with_views = image.rfind(kImagePrefix, 0) == 0;
  if (!with_views && image.rfind(kImagePrefixBeforeViews, 0) != 0) {
    registry_ = ClusterRegistry{};
    views_ = GroupViews{};
    return sequencer_.restore(image);
  }
  const auto truncated = make_error(ErrorCode::kCorrupt, "node snapshot is truncated");
  ByteReader in(std::string_view(image).substr(kImagePrefix.size()));
  std::string_view registry_image;
  if (!in.read_bytes(registry_image)) return truncated;
  auto registry = ClusterRegistry::decode(registry_image);
  if (!registry) return registry.error();
  GroupViews views;
  if (with_views) {
    std::string_view views_image;
    if (!in.read_bytes(views_image)) return truncated;
    auto decoded = GroupViews::decode(views_image);
    if (!decoded) return decoded.error();
    views = std::move(decoded.value());
  }
  if (auto restored = sequencer_.restore(std::string(in.rest())); !restored) return restored;
  registry_ = std::move(registry.value());
  views_ = std::move(views);
  return {};
}

}  // namespace bcast
