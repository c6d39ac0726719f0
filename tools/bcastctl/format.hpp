// How bcastctl prints what it receives: the JSON lines of the external contract (DESIGN.md,
// "The external contract"; tests parse them) and the readable lines shown without --json.
// Every function returns one line without its newline.
#pragma once

#include <string>
#include <string_view>

#include "bcast/client.hpp"

namespace bcast::ctl {

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. A payload that is
// not valid UTF-8 cannot be a JSON string, so it goes out as "payload_b64" instead.
bool is_valid_utf8(std::string_view text);
// Standard base64 (RFC 4648, with padding).
std::string base64(std::string_view bytes);

// {"type":"message","group":G,"sender":S,"seq":N,"gseq":N|null,"mode":M,"order":O,
//  "stream_seq":N,"payload":TEXT}  ("payload_b64":BASE64 when the payload is not UTF-8;
//  "stream_seq" only when the daemon gives it: not for total order)
std::string message_json(const Delivery& delivery);
// {"type":"view","group":G,"members":[node ids]} for the view after a join;
// {"type":"view","group":G,"view_id":N,"members":[{"sender":S,"node":N,"name":"..."}],
//  "joined":[...],"left":[...],"cause":"...","gseq":N} for an agreed group view.
std::string view_json(const View& view);
// {"type":"gap","group":G,"origin":O,"node":N,"mode":M,"from_seq":A,"to_seq":B|null,
//  "reason":R} for a stream gap (to_seq null: no end), {"type":"gap","group":G,"from_gseq":A,
//  "to_gseq":B,"reason":R} for a total-order gap; G is "" when the gap may concern any group.
std::string gap_json(const Gap& gap);
// {"seq":N,"gseq":N|null}
std::string receipt_json(const Receipt& receipt);
// {"node_id":N,"role":R,"term":N,"leader":N|null,"members":[...],"commit_index":N,
//  "cluster_id":"HEX","problems":[TEXT...]}
std::string status_json(const Status& status);
// {"cluster_id":"HEX","leader":N|null,"members":[{"node":N,"address":A,"role":"voter"|"learner",
//  "leader":B,"identity_bound":B,"promote_when_caught_up":B,"match_index":N|null,
//  "reachable":B|null}...]}
std::string cluster_json(const ClusterInfo& info);
// One line per member.
std::string cluster_text(const ClusterInfo& info);
// {"node_id":N,"members":[...],"peers":[{"node":N,"reachable":B,"last_heard_ms":N|null}],
//  "daemons_down":[...]}: this daemon's failure detector (who it reaches) and the daemons the
//  agreed group views hold down.
std::string members_json(const Status& status);

std::string message_text(const Delivery& delivery);
std::string view_text(const View& view);
std::string gap_text(const Gap& gap);
// Several lines, separated by newlines.
std::string status_text(const Status& status);
std::string members_text(const Status& status);

}  // namespace bcast::ctl
