// The C ABI (bindings/c/include/bcast/bcast.h) over bcast::Client (lib/include/bcast/client.hpp).
//
// Every entry point is a thin, exception-proof adapter: C arguments are checked and converted,
// the C++ call runs inside guarded(), and its Result becomes a code and, when asked for, a
// bcast_error. No C++ exception or type crosses the boundary.
#include <chrono>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "bcast/bcast.h"
#include "bcast/client.hpp"
#include "codec/client_protocol.hpp"

struct bcast_error {
  int code;
  std::string message;
};

struct bcast_options {
  bcast::ClientOptions options;
};

struct bcast_client {
  explicit bcast_client(bcast::Client c) : client(std::move(c)) {}
  bcast::Client client;
};

// One event, whatever its kind: the fields a kind does not use keep their neutral values, which
// the accessors return. New kinds add fields here and accessors in the header.
struct bcast_event {
  int kind = 0;
  std::uint64_t request_id = 0;
  std::uint64_t seq = 0;
  std::optional<std::uint64_t> gseq;
  std::string group;
  std::uint64_t sender = 0;
  int mode = -1;
  int order = -1;
  std::string payload;
  std::vector<std::uint64_t> members;
  int error_code = BCAST_OK;
  std::string error_message;
  std::uint64_t stream_seq = 0;  // delivery
  int gap_kind = 0;              // gap: 1 stream, 2 total order
  std::uint64_t gap_origin = 0;
  std::uint64_t gap_from = 0;
  std::uint64_t gap_to = 0;
  std::string gap_reason;
};

struct bcast_status {
  bcast::Status status;
};

namespace {

// Returned when even the error could not be allocated; bcast_error_free() leaves it alone.
bcast_error g_no_memory{BCAST_E_NO_MEMORY, "out of memory"};

int fail(bcast_error** error, int code, std::string_view message) {
  if (error != nullptr) {
    try {
      *error = new bcast_error{code, std::string(message)};
    } catch (...) {
      *error = &g_no_memory;
    }
  }
  return code;
}

int fail(bcast_error** error, const bcast::Error& e) {
  return fail(error, static_cast<int>(e.code), e.message);
}

// Runs `body` (which returns a code, having reported any failure through `error`) with every
// exception turned into a code: nothing may unwind into C.
template <typename Body>
int guarded(bcast_error** error, Body&& body) {
  if (error != nullptr) *error = nullptr;
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return fail(error, BCAST_E_NO_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(error, BCAST_E_IO, e.what());
  } catch (...) {
    return fail(error, BCAST_E_IO, "unexpected failure in libbcast_c");
  }
}

int invalid(bcast_error** error, std::string_view what) {
  return fail(error, BCAST_E_INVALID_ARGUMENT, what);
}

// Negative timeouts mean "without limit": a year is as good, and cannot overflow the clock.
std::chrono::milliseconds timeout_of(std::int64_t timeout_ms) {
  if (timeout_ms < 0) return std::chrono::hours(24 * 365);
  return std::chrono::milliseconds(timeout_ms);
}

std::optional<bcast::Mode> mode_of(int mode) {
  if (mode < BCAST_MODE_BEST_EFFORT || mode > BCAST_MODE_GOSSIP) return std::nullopt;
  return static_cast<bcast::Mode>(mode);
}

std::optional<bcast::Order> order_of(int order) {
  if (order < BCAST_ORDER_NONE || order > BCAST_ORDER_TOTAL) return std::nullopt;
  return static_cast<bcast::Order>(order);
}

// A (pointer, length) pair from C: NULL is only fine for nothing.
std::optional<std::string_view> bytes_of(const void* data, std::size_t size) {
  if (data == nullptr) return size == 0 ? std::optional(std::string_view()) : std::nullopt;
  return std::string_view(static_cast<const char*>(data), size);
}

bcast_event* event_of(bcast::Event&& event) {
  auto* out = new bcast_event;
  std::visit(
      [out](auto&& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, bcast::Receipt>) {
          out->kind = BCAST_EVENT_RECEIPT;
          out->request_id = e.request_id;
          out->seq = e.seq;
          out->gseq = e.gseq;
        } else if constexpr (std::is_same_v<T, bcast::Delivery>) {
          out->kind = BCAST_EVENT_DELIVERY;
          out->group = std::move(e.group);
          out->sender = e.sender;
          out->seq = e.seq;
          out->gseq = e.gseq;
          out->mode = static_cast<int>(e.mode);
          out->order = static_cast<int>(e.order);
          out->payload = std::move(e.payload);
          out->stream_seq = e.stream_seq;
        } else if constexpr (std::is_same_v<T, bcast::View>) {
          out->kind = BCAST_EVENT_VIEW;
          out->group = std::move(e.group);
          out->members = std::move(e.members);
        } else if constexpr (std::is_same_v<T, bcast::Gap>) {
          out->kind = BCAST_EVENT_GAP;
          out->group = std::move(e.group);
          const bool stream = e.kind == bcast::Gap::Kind::kStream;
          out->gap_kind = stream ? 1 : 2;
          if (stream) out->mode = static_cast<int>(e.mode);
          out->gap_origin = e.origin;
          out->gap_from = e.from;
          out->gap_to = e.to.value_or(UINT64_MAX);
          out->gap_reason = std::move(e.reason);
        } else {
          static_assert(std::is_same_v<T, bcast::RequestError>);
          out->kind = BCAST_EVENT_ERROR;
          out->request_id = e.request_id;
          out->error_code = static_cast<int>(e.error.code);
          out->error_message = std::move(e.error.message);
        }
      },
      std::move(event));
  return out;
}

// The shared part of join and leave.
template <typename Call>
int group_request(bcast_client* client, const char* group, std::size_t group_len,
                  bcast_error** error, Call call) {
  return guarded(error, [&]() -> int {
    if (client == nullptr) return invalid(error, "no client");
    auto name = bytes_of(group, group_len);
    if (!name) return invalid(error, "group is NULL");
    auto done = call(client->client, *name);
    return done ? BCAST_OK : fail(error, done.error());
  });
}

}  // namespace

extern "C" {

// ---- Versions ----

int bcast_abi_version(void) { return BCAST_ABI_VERSION; }
const char* bcast_version(void) { return BCAST_VERSION_STRING; }
uint32_t bcast_protocol_version(void) { return bcast::protocol::kVersion; }

// ---- Codes and errors ----

const char* bcast_code_name(int code) {
  if (code == BCAST_OK) return "ok";
  if (code == BCAST_E_NO_MEMORY) return "no_memory";
  if (code >= BCAST_E_INVALID_ARGUMENT && code <= BCAST_E_PERMISSION_DENIED) {
    return bcast::error_code_name(static_cast<bcast::ErrorCode>(code));
  }
  return "unknown";
}

int bcast_error_code(const bcast_error* error) {
  return error ? error->code : BCAST_E_INVALID_ARGUMENT;
}
const char* bcast_error_message(const bcast_error* error) {
  return error ? error->message.c_str() : "no error";
}
void bcast_error_free(bcast_error* error) {
  if (error != &g_no_memory) delete error;
}

// ---- Services ----

const char* bcast_mode_name(int mode) {
  auto m = mode_of(mode);
  return m ? bcast::mode_name(*m) : nullptr;
}
const char* bcast_order_name(int order) {
  auto o = order_of(order);
  return o ? bcast::order_name(*o) : nullptr;
}
int bcast_parse_mode(const char* name, int* mode) {
  if (name == nullptr || mode == nullptr) return BCAST_E_INVALID_ARGUMENT;
  auto parsed = bcast::parse_mode(name);
  if (!parsed) return BCAST_E_INVALID_ARGUMENT;
  *mode = static_cast<int>(*parsed);
  return BCAST_OK;
}
int bcast_parse_order(const char* name, int* order) {
  if (name == nullptr || order == nullptr) return BCAST_E_INVALID_ARGUMENT;
  auto parsed = bcast::parse_order(name);
  if (!parsed) return BCAST_E_INVALID_ARGUMENT;
  *order = static_cast<int>(*parsed);
  return BCAST_OK;
}

// ---- Connecting ----

bcast_options* bcast_options_new(void) { return new (std::nothrow) bcast_options; }
void bcast_options_free(bcast_options* options) { delete options; }

int bcast_options_set_socket_path(bcast_options* options, const char* path) {
  return guarded(nullptr, [&]() -> int {
    if (options == nullptr || path == nullptr) return BCAST_E_INVALID_ARGUMENT;
    options->options.socket_path = path;
    return BCAST_OK;
  });
}
int bcast_options_set_client_name(bcast_options* options, const char* name) {
  return guarded(nullptr, [&]() -> int {
    if (options == nullptr || name == nullptr) return BCAST_E_INVALID_ARGUMENT;
    options->options.client_name = name;
    return BCAST_OK;
  });
}
int bcast_options_set_max_in_flight(bcast_options* options, size_t max_in_flight) {
  if (options == nullptr) return BCAST_E_INVALID_ARGUMENT;
  options->options.max_in_flight = max_in_flight;
  return BCAST_OK;
}
int bcast_options_set_request_timeout_ms(bcast_options* options, int64_t timeout_ms) {
  if (options == nullptr || timeout_ms < 0) return BCAST_E_INVALID_ARGUMENT;
  options->options.request_timeout = std::chrono::milliseconds(timeout_ms);
  return BCAST_OK;
}
int bcast_options_set_max_frame_bytes(bcast_options* options, int64_t max_frame_bytes) {
  if (options == nullptr || max_frame_bytes <= 0) return BCAST_E_INVALID_ARGUMENT;
  options->options.max_frame_bytes = max_frame_bytes;
  return BCAST_OK;
}

int bcast_connect(const bcast_options* options, bcast_client** client, bcast_error** error) {
  return guarded(error, [&]() -> int {
    if (options == nullptr) return invalid(error, "no options");
    if (client == nullptr) return invalid(error, "nowhere to put the client");
    *client = nullptr;
    auto connected = bcast::Client::connect(options->options);
    if (!connected) return fail(error, connected.error());
    *client = new bcast_client(std::move(connected).value());
    return BCAST_OK;
  });
}

int bcast_connect_path(const char* socket_path, bcast_client** client, bcast_error** error) {
  return guarded(error, [&]() -> int {
    if (socket_path == nullptr) return invalid(error, "no socket path");
    bcast_options options;
    options.options.socket_path = socket_path;
    return bcast_connect(&options, client, error);
  });
}

void bcast_client_close(bcast_client* client) { delete client; }

// ---- Requests ----

int bcast_join(bcast_client* client, const char* group, size_t group_len, bcast_error** error) {
  return group_request(client, group, group_len, error,
                       [](bcast::Client& c, std::string_view g) { return c.join(g); });
}

int bcast_join_from(bcast_client* client, const char* group, size_t group_len, uint64_t from_gseq,
                    bcast_error** error) {
  return group_request(
      client, group, group_len, error,
      [from_gseq](bcast::Client& c, std::string_view g) { return c.join(g, from_gseq); });
}

int bcast_leave(bcast_client* client, const char* group, size_t group_len, bcast_error** error) {
  return group_request(client, group, group_len, error,
                       [](bcast::Client& c, std::string_view g) { return c.leave(g); });
}

int bcast_publish(bcast_client* client, const char* group, size_t group_len, int mode, int order,
                  const void* payload, size_t payload_len, uint64_t* request_id,
                  bcast_error** error) {
  return guarded(error, [&]() -> int {
    if (client == nullptr) return invalid(error, "no client");
    auto name = bytes_of(group, group_len);
    auto body = bytes_of(payload, payload_len);
    auto m = mode_of(mode);
    auto o = order_of(order);
    if (!name || !body) return invalid(error, "group or payload is NULL");
    if (!m) return invalid(error, "unknown mode " + std::to_string(mode));
    if (!o) return invalid(error, "unknown order " + std::to_string(order));
    auto id = client->client.publish(*name, *m, *o, *body);
    if (!id) return fail(error, id.error());
    if (request_id != nullptr) *request_id = id.value();
    return BCAST_OK;
  });
}

int bcast_publish_and_wait(bcast_client* client, const char* group, size_t group_len, int mode,
                           int order, const void* payload, size_t payload_len, int64_t timeout_ms,
                           bcast_event** receipt, bcast_error** error) {
  return guarded(error, [&]() -> int {
    if (client == nullptr) return invalid(error, "no client");
    if (receipt == nullptr) return invalid(error, "nowhere to put the receipt");
    *receipt = nullptr;
    auto name = bytes_of(group, group_len);
    auto body = bytes_of(payload, payload_len);
    auto m = mode_of(mode);
    auto o = order_of(order);
    if (!name || !body) return invalid(error, "group or payload is NULL");
    if (!m) return invalid(error, "unknown mode " + std::to_string(mode));
    if (!o) return invalid(error, "unknown order " + std::to_string(order));
    std::optional<std::chrono::milliseconds> timeout;
    if (timeout_ms >= 0) timeout = std::chrono::milliseconds(timeout_ms);
    auto done = client->client.publish_and_wait(*name, *m, *o, *body, timeout);
    if (!done) return fail(error, done.error());
    *receipt = event_of(bcast::Event(std::move(done).value()));
    return BCAST_OK;
  });
}

// ---- Events ----

int bcast_next_event(bcast_client* client, int64_t timeout_ms, bcast_event** event,
                     bcast_error** error) {
  return guarded(error, [&]() -> int {
    if (client == nullptr) return invalid(error, "no client");
    if (event == nullptr) return invalid(error, "nowhere to put the event");
    *event = nullptr;
    auto next = client->client.next_event(timeout_of(timeout_ms));
    if (!next) return fail(error, next.error());
    if (next.value()) *event = event_of(std::move(*next.value()));
    return BCAST_OK;
  });
}

void bcast_event_free(bcast_event* event) { delete event; }

int bcast_dispatch(bcast_client* client, int64_t timeout_ms, size_t max_events,
                   bcast_event_callback callback, void* user_data, size_t* dispatched,
                   bcast_error** error) {
  if (dispatched != nullptr) *dispatched = 0;
  return guarded(error, [&]() -> int {
    if (client == nullptr) return invalid(error, "no client");
    if (callback == nullptr) return invalid(error, "no callback");
    std::size_t count = 0;
    auto wait = timeout_of(timeout_ms);
    while (max_events == 0 || count < max_events) {
      auto next = client->client.next_event(wait);
      if (!next) return fail(error, next.error());
      if (!next.value()) break;
      wait = std::chrono::milliseconds(0);  // only the first event is waited for
      bcast_event* event = event_of(std::move(*next.value()));
      callback(event, user_data);
      delete event;
      ++count;
      if (dispatched != nullptr) *dispatched = count;
    }
    return BCAST_OK;
  });
}

int bcast_event_kind(const bcast_event* event) { return event ? event->kind : 0; }
uint64_t bcast_event_request_id(const bcast_event* event) { return event ? event->request_id : 0; }
uint64_t bcast_event_seq(const bcast_event* event) { return event ? event->seq : 0; }
int bcast_event_gseq(const bcast_event* event, uint64_t* gseq) {
  if (event == nullptr || !event->gseq) return 0;
  if (gseq != nullptr) *gseq = *event->gseq;
  return 1;
}
const char* bcast_event_group(const bcast_event* event, size_t* len) {
  const bool has = event && (event->kind == BCAST_EVENT_DELIVERY ||
                             event->kind == BCAST_EVENT_VIEW || event->kind == BCAST_EVENT_GAP);
  if (len != nullptr) *len = has ? event->group.size() : 0;
  return has ? event->group.c_str() : nullptr;
}
uint64_t bcast_event_sender(const bcast_event* event) { return event ? event->sender : 0; }
int bcast_event_mode(const bcast_event* event) { return event ? event->mode : -1; }
int bcast_event_order(const bcast_event* event) { return event ? event->order : -1; }
const void* bcast_event_payload(const bcast_event* event, size_t* len) {
  const bool has = event && event->kind == BCAST_EVENT_DELIVERY;
  if (len != nullptr) *len = has ? event->payload.size() : 0;
  return has ? event->payload.data() : nullptr;
}
size_t bcast_event_member_count(const bcast_event* event) {
  return event ? event->members.size() : 0;
}
uint64_t bcast_event_member(const bcast_event* event, size_t index) {
  return event && index < event->members.size() ? event->members[index] : 0;
}
int bcast_event_error_code(const bcast_event* event) { return event ? event->error_code : 0; }
const char* bcast_event_error_message(const bcast_event* event) {
  return event && event->kind == BCAST_EVENT_ERROR ? event->error_message.c_str() : nullptr;
}

int bcast_event_gap(const bcast_event* event, uint64_t* origin, uint64_t* from, uint64_t* to) {
  if (event == nullptr || event->kind != BCAST_EVENT_GAP) return 0;
  if (origin != nullptr) *origin = event->gap_origin;
  if (from != nullptr) *from = event->gap_from;
  if (to != nullptr) *to = event->gap_to;
  return event->gap_kind;
}
const char* bcast_event_gap_reason(const bcast_event* event) {
  return event && event->kind == BCAST_EVENT_GAP ? event->gap_reason.c_str() : nullptr;
}
uint64_t bcast_event_stream_seq(const bcast_event* event) { return event ? event->stream_seq : 0; }

// ---- Status and client facts ----

int bcast_get_status(bcast_client* client, bcast_status** status, bcast_error** error) {
  return guarded(error, [&]() -> int {
    if (client == nullptr) return invalid(error, "no client");
    if (status == nullptr) return invalid(error, "nowhere to put the status");
    *status = nullptr;
    auto got = client->client.status();
    if (!got) return fail(error, got.error());
    *status = new bcast_status{std::move(got).value()};
    return BCAST_OK;
  });
}

void bcast_status_free(bcast_status* status) { delete status; }
uint64_t bcast_status_node_id(const bcast_status* s) { return s ? s->status.node_id : 0; }
const char* bcast_status_role(const bcast_status* s) {
  return s ? s->status.role.c_str() : nullptr;
}
uint64_t bcast_status_term(const bcast_status* s) { return s ? s->status.term : 0; }
int bcast_status_leader(const bcast_status* s, uint64_t* leader) {
  if (s == nullptr || !s->status.leader) return 0;
  if (leader != nullptr) *leader = *s->status.leader;
  return 1;
}
size_t bcast_status_member_count(const bcast_status* s) { return s ? s->status.members.size() : 0; }
uint64_t bcast_status_member(const bcast_status* s, size_t index) {
  return s && index < s->status.members.size() ? s->status.members[index] : 0;
}
uint64_t bcast_status_commit_index(const bcast_status* s) { return s ? s->status.commit_index : 0; }

int bcast_client_fd(const bcast_client* client) {
  if (client == nullptr) return -1;
  try {
    return client->client.fd();
  } catch (...) {
    return -1;
  }
}
uint64_t bcast_client_sender(const bcast_client* c) { return c ? c->client.sender() : 0; }
uint64_t bcast_client_node_id(const bcast_client* c) { return c ? c->client.node_id() : 0; }
uint64_t bcast_client_max_message_bytes(const bcast_client* c) {
  return c ? c->client.max_message_bytes() : 0;
}
size_t bcast_client_in_flight(const bcast_client* c) { return c ? c->client.in_flight() : 0; }
int bcast_client_has_queued_events(const bcast_client* c) {
  return c && c->client.has_queued_events() ? 1 : 0;
}

}  // extern "C"
