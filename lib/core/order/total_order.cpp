#include "core/order/total_order.hpp"

#include "core/byte_codec.hpp"

namespace bcast {

void TotalOrder::apply(const raft::Entry& entry, Outbox& out) {
  if (entry.type != raft::EntryType::kNormal) return;
  auto batch = decode_message_batch(entry.data);
  if (!batch) {
    ++anomalies_;
    return;
  }
  for (BroadcastMessage& m : *batch) {
    std::uint64_t& upto = sequenced_upto_[m.origin()];
    if (m.stream_seq <= upto) continue;  // proposed again after a leader change: has a position
    if (m.stream_seq != upto + 1) {
      ++anomalies_;  // the leader proposes each origin's messages in order; never expected
      continue;
    }
    upto = m.stream_seq;
    if (m.withdrawn) continue;  // keeps its place in the origin's stream, takes no position
    if (m.group.empty()) {      // a control record: no position either
      if (control_sink_) control_sink_(m, last_gseq_, out);
      continue;
    }
    const std::uint64_t gseq = ++last_gseq_;
    if (m.origin() == self_) own_sequenced_.emplace_back(m.stream_seq, gseq);
    out.deliveries.push_back(Delivery{std::move(m.group), m.sender, m.seq, gseq, m.mode, m.order,
                                      std::move(m.payload), 0, m.stream_seq});
  }
}

std::shared_ptr<const std::string> TotalOrder::snapshot() const {
  std::string image;
  put_le<std::uint64_t>(image, last_gseq_);
  put_le<std::uint32_t>(image, static_cast<std::uint32_t>(sequenced_upto_.size()));
  for (const auto& [origin, upto] : sequenced_upto_) {
    put_le<std::uint32_t>(image, origin);
    put_le<std::uint64_t>(image, upto);
  }
  return std::make_shared<const std::string>(std::move(image));
}

Result<void> TotalOrder::restore(const std::string& image) {
  ByteReader in(image);
  std::uint64_t last_gseq = 0;
  std::uint32_t count = 0;
  if (!in.read(last_gseq) || !in.read(count) || count > in.remaining_bytes() / 12) {
    return make_error(ErrorCode::kCorrupt, "total-order snapshot is truncated");
  }
  std::map<OriginId, std::uint64_t> sequenced;
  for (std::uint32_t i = 0; i < count; ++i) {
    std::uint32_t origin = 0;
    std::uint64_t upto = 0;
    if (!in.read(origin) || !in.read(upto)) {
      return make_error(ErrorCode::kCorrupt, "total-order snapshot is truncated");
    }
    sequenced[origin] = upto;
  }
  last_gseq_ = last_gseq;
  sequenced_upto_ = std::move(sequenced);
  own_sequenced_.clear();
  return {};
}

std::uint64_t TotalOrder::sequenced_upto(OriginId origin) const {
  auto it = sequenced_upto_.find(origin);
  return it == sequenced_upto_.end() ? 0 : it->second;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> TotalOrder::take_own_sequenced() {
  return std::exchange(own_sequenced_, {});
}

}  // namespace bcast
