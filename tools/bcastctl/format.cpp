#include "format.hpp"

#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace bcast::ctl {
namespace {

// ordered_json keeps keys in the order the contract lists them; people read these lines too.
using Json = nlohmann::ordered_json;

Json optional_number(const std::optional<std::uint64_t>& value) {
  return value ? Json(*value) : Json(nullptr);
}

std::string hex_id(std::uint64_t id) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(id));
  return buffer;
}

std::string optional_text(const std::optional<std::uint64_t>& value) {
  return value ? std::to_string(*value) : std::string("none");
}

std::string node_list(const std::vector<NodeId>& nodes) {
  std::string text;
  for (NodeId node : nodes) {
    if (!text.empty()) text += ' ';
    text += std::to_string(node);
  }
  return text;
}

// Printable UTF-8 without control characters is shown as is; anything else as base64, so a
// payload can never garble the terminal or split a line.
std::string readable_payload(std::string_view payload) {
  bool plain = is_valid_utf8(payload);
  for (unsigned char c : payload) plain = plain && (c >= 0x20 || c == '\t') && c != 0x7f;
  if (plain) return std::string(payload);
  return "(" + std::to_string(payload.size()) + " bytes, base64) " + base64(payload);
}

std::string problems_text(const std::vector<std::string>& problems) {
  std::string text;
  for (const std::string& problem : problems) text += "\nPROBLEM: " + problem;
  return text;
}

}  // namespace

bool is_valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    std::size_t length = 0;
    std::uint32_t code = 0;
    std::uint32_t min = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xe0) == 0xc0) {
      length = 2;
      code = byte & 0x1f;
      min = 0x80;
    } else if ((byte & 0xf0) == 0xe0) {
      length = 3;
      code = byte & 0x0f;
      min = 0x800;
    } else if ((byte & 0xf8) == 0xf0) {
      length = 4;
      code = byte & 0x07;
      min = 0x10000;
    } else {
      return false;
    }
    if (i + length > text.size()) return false;
    for (std::size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) return false;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return false;
    i += length;
  }
  return true;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t triple = (static_cast<unsigned char>(bytes[i]) << 16) |
                                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                                 static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(triple >> 18) & 0x3f];
    out += kAlphabet[(triple >> 12) & 0x3f];
    out += kAlphabet[(triple >> 6) & 0x3f];
    out += kAlphabet[triple & 0x3f];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t triple = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) triple |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(triple >> 18) & 0x3f];
    out += kAlphabet[(triple >> 12) & 0x3f];
    out += rest == 2 ? kAlphabet[(triple >> 6) & 0x3f] : '=';
    out += '=';
  }
  return out;
}

std::string message_json(const Delivery& d) {
  Json line;
  line["type"] = "message";
  line["group"] = d.group;
  line["sender"] = d.sender;
  line["seq"] = d.seq;
  line["gseq"] = optional_number(d.gseq);
  line["mode"] = mode_name(d.mode);
  line["order"] = order_name(d.order);
  if (d.stream_seq != 0) line["stream_seq"] = d.stream_seq;
  if (is_valid_utf8(d.payload)) {
    line["payload"] = d.payload;
  } else {
    line["payload_b64"] = base64(d.payload);
  }
  return line.dump();
}

std::string view_json(const View& view) {
  Json line;
  line["type"] = "view";
  line["group"] = view.group;
  if (!view.view_id) {  // the daemons, right after a join
    line["members"] = view.members;
    return line.dump();
  }
  const auto members = [](const std::vector<ViewMember>& list) {
    Json array = Json::array();
    for (const ViewMember& m : list) {
      Json member;
      member["sender"] = m.sender;
      member["node"] = m.node;
      member["name"] = m.name;
      array.push_back(std::move(member));
    }
    return array;
  };
  line["view_id"] = *view.view_id;
  line["members"] = members(view.group_members);
  line["joined"] = members(view.joined);
  line["left"] = members(view.left);
  line["cause"] = view.cause;
  line["gseq"] = view.gseq;
  return line.dump();
}

std::string gap_json(const Gap& gap) {
  Json line;
  line["type"] = "gap";
  line["group"] = gap.group;
  if (gap.kind == Gap::Kind::kStream && gap.origin == 0) {
    line["origin"] = 0;  // any origin's messages, in any mode (e.g. while disconnected)
  } else if (gap.kind == Gap::Kind::kStream) {
    line["origin"] = gap.origin;
    line["node"] = gap.origin >> 16;
    line["mode"] = mode_name(gap.mode);
    line["from_seq"] = gap.from;
    line["to_seq"] = optional_number(gap.to);
  } else {
    line["from_gseq"] = gap.from;
    line["to_gseq"] = optional_number(gap.to);
  }
  line["reason"] = gap.reason;
  return line.dump();
}

std::string receipt_json(const Receipt& receipt) {
  Json line;
  line["seq"] = receipt.seq;
  line["gseq"] = optional_number(receipt.gseq);
  return line.dump();
}

std::string status_json(const Status& status) {
  Json line;
  line["node_id"] = status.node_id;
  line["role"] = status.role;
  line["term"] = status.term;
  line["leader"] = optional_number(status.leader);
  line["members"] = status.members;
  line["commit_index"] = status.commit_index;
  line["cluster_id"] = hex_id(status.cluster_id);
  line["problems"] = status.problems;
  return line.dump();
}

std::string cluster_json(const ClusterInfo& info) {
  Json out;
  out["cluster_id"] = hex_id(info.cluster_id);
  out["leader"] = optional_number(info.leader);
  Json members = Json::array();
  for (const ClusterMember& m : info.members) {
    Json member;
    member["node"] = m.node;
    member["address"] = m.address;
    member["role"] = m.role;
    member["leader"] = info.leader && *info.leader == m.node;
    member["identity_bound"] = m.identity_bound;
    member["promote_when_caught_up"] = m.promote_when_caught_up;
    member["match_index"] = optional_number(m.match_index);
    member["reachable"] = m.reachable ? Json(*m.reachable) : Json(nullptr);
    member["public_key"] = m.public_key.empty() ? Json(nullptr) : Json(m.public_key);
    members.push_back(std::move(member));
  }
  out["members"] = std::move(members);
  return out.dump();
}

std::string cluster_text(const ClusterInfo& info) {
  std::string text =
      "cluster " + hex_id(info.cluster_id) + ", leader " + optional_text(info.leader);
  for (const ClusterMember& m : info.members) {
    text += "\n" + std::to_string(m.node) + "  " + m.role;
    if (info.leader && *info.leader == m.node) text += " (leader)";
    if (m.promote_when_caught_up) text += " (promoted once caught up)";
    text += "  " + (m.address.empty() ? std::string("(no address)") : m.address);
    if (m.match_index) text += "  match " + std::to_string(*m.match_index);
    if (m.reachable) text += *m.reachable ? "  reachable" : "  UNREACHABLE";
    if (!m.identity_bound) text += "  (identity not yet recorded)";
    if (!m.public_key.empty()) text += "  key " + m.public_key;
  }
  return text;
}

std::string members_json(const Status& status) {
  Json out;
  out["node_id"] = status.node_id;
  out["members"] = status.members;
  Json peers = Json::array();
  for (const Status::Peer& p : status.peers) {
    Json peer;
    peer["node"] = p.node;
    peer["reachable"] = p.reachable;
    peer["last_heard_ms"] = optional_number(p.last_heard_ms);
    peers.push_back(std::move(peer));
  }
  out["peers"] = std::move(peers);
  out["daemons_down"] = status.daemons_down;
  return out.dump();
}

std::string message_text(const Delivery& d) {
  std::string line =
      d.group + " sender=" + std::to_string(d.sender) + " seq=" + std::to_string(d.seq);
  if (d.gseq) line += " gseq=" + std::to_string(*d.gseq);
  line += std::string(" ") + mode_name(d.mode) + "/" + order_name(d.order) + ": ";
  return line + readable_payload(d.payload);
}

std::string gap_text(const Gap& gap) {
  const std::string group = gap.group.empty() ? "(any group)" : gap.group;
  const std::string to = gap.to ? std::to_string(*gap.to) : std::string("end");
  std::string what;
  if (gap.kind == Gap::Kind::kStream && gap.origin == 0) {
    what = "messages of any origin that are not in total order";
  } else if (gap.kind == Gap::Kind::kStream) {
    what = std::string(mode_name(gap.mode)) + " messages " + std::to_string(gap.from) + ".." + to +
           " of origin " + std::to_string(gap.origin) + " (node " +
           std::to_string(gap.origin >> 16) + ")";
  } else {
    what = "total-order positions " + std::to_string(gap.from) + ".." + to;
  }
  return group + " gap: " + what + " will never be delivered (" + gap.reason + ")";
}

std::string view_text(const View& view) {
  if (!view.view_id) return view.group + " view: members " + node_list(view.members);
  const auto names = [](const std::vector<ViewMember>& list) {
    std::string text;
    for (const ViewMember& m : list) {
      text += " " + std::to_string(m.sender) + "@" + std::to_string(m.node);
      if (!m.name.empty()) text += "(" + m.name + ")";
    }
    return text.empty() ? std::string(" -") : text;
  };
  return view.group + " view " + std::to_string(*view.view_id) + " (" + view.cause +
         ", after gseq " + std::to_string(view.gseq) + "): members" + names(view.group_members) +
         "; joined" + names(view.joined) + "; left" + names(view.left);
}

std::string status_text(const Status& status) {
  return "node " + std::to_string(status.node_id) + ": " + status.role + ", term " +
         std::to_string(status.term) + "\nleader: " + optional_text(status.leader) +
         "\nmembers: " + node_list(status.members) +
         "\ncommit index: " + std::to_string(status.commit_index) +
         "\ncluster: " + hex_id(status.cluster_id) +
         (status.problems.empty() ? std::string() : problems_text(status.problems));
}

std::string members_text(const Status& status) {
  std::string text;
  for (NodeId node : status.members) {
    if (!text.empty()) text += '\n';
    text += std::to_string(node);
    if (node == status.node_id && !status.peers.empty()) text += " (this daemon)";
    for (const Status::Peer& p : status.peers) {
      if (p.node != node) continue;
      text += p.reachable ? " reachable" : " unreachable";
      if (p.last_heard_ms) text += ", heard " + std::to_string(*p.last_heard_ms) + " ms ago";
    }
  }
  return text;
}

}  // namespace bcast::ctl
