/* The C ABI of the bcastd client library: join groups on the local bcastd, publish to them,
 * receive what they deliver. A C99 header over lib/include/bcast/client.hpp; libbcast_c.so.1.
 *
 *   bcast_client* client = NULL;
 *   bcast_error* error = NULL;
 *   if (bcast_connect_path("/tmp/bcastd.sock", &client, &error) != BCAST_OK) {
 *     fprintf(stderr, "%s\n", bcast_error_message(error));
 *     bcast_error_free(error);
 *     return 1;
 *   }
 *   bcast_join(client, "chat", 4, NULL);
 *   uint64_t id;
 *   bcast_publish(client, "chat", 4, BCAST_MODE_RELIABLE, BCAST_ORDER_FIFO, "hi", 2, &id, NULL);
 *   bcast_event* event = NULL;
 *   while (bcast_next_event(client, 1000, &event, NULL) == BCAST_OK && event != NULL) {
 *     if (bcast_event_kind(event) == BCAST_EVENT_DELIVERY) { ... }
 *     bcast_event_free(event);
 *   }
 *   bcast_client_close(client);
 *
 * The wire protocol underneath is docs/protocol.md; the guarantees are docs/guarantees.md.
 *
 * ABI stability. Only opaque handles, fixed-width integers, size_t, char and void pointers cross
 * this boundary; no struct layout is part of the ABI. Later versions add functions, event kinds
 * and error codes, never change or remove them: a program built against this header keeps
 * working with any libbcast_c.so.1. So a program must treat an event kind or error code it does
 * not know as "skip it" (free the event; report the code with bcast_code_name()).
 *
 * Errors. Every fallible function returns BCAST_OK (0) or a bcast_code, and takes a last
 * argument `bcast_error** error`: when not NULL, *error is set to NULL on success and to a new
 * error (code and a message for people) on failure, which the caller frees with
 * bcast_error_free(). Pass NULL to ignore the message. A NULL handle or out-pointer the
 * function needs is BCAST_E_INVALID_ARGUMENT; nothing here aborts or throws.
 *
 * Threading. A bcast_client is used from one thread at a time (it starts no threads of its own;
 * ZeroMQ's I/O thread runs inside it). Different clients may be used from different threads.
 * Errors, events and statuses are independent values, owned by the caller.
 *
 * Events. Receipts, deliveries, views and error events arrive through bcast_next_event() (or
 * bcast_dispatch() with a callback), in the order the daemon sent them. Calls that wait for
 * their own reply (connect, join, leave, status, publish with a full window, publish_and_wait)
 * keep whatever else arrives meanwhile for the next bcast_next_event(); nothing is lost.
 *
 * Publishing is pipelined: bcast_publish() returns a request id at once while fewer than
 * max_in_flight publishes are unacknowledged (else it first waits for receipts, up to the
 * request timeout). Every publish ends in exactly one BCAST_EVENT_RECEIPT or one
 * BCAST_EVENT_ERROR with its request id.
 *
 * Event loops. bcast_client_fd() is a file descriptor to poll for reading. It is
 * edge-triggered (ZeroMQ's ZMQ_FD): when it is readable, and after any call on the client,
 * drain with bcast_next_event(client, 0, ...) (or bcast_dispatch(client, 0, ...)) until no
 * event is returned, and only then poll again. It does not signal a lost connection: poll with
 * a timeout (say a second) and drain after it too; the drain then reports BCAST_E_UNAVAILABLE.
 */
#ifndef BCAST_BCAST_H
#define BCAST_BCAST_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define BCAST_API __attribute__((visibility("default")))
#else
#define BCAST_API
#endif

/* The handles, all opaque. */
typedef struct bcast_error bcast_error;     /* a failure: code and message */
typedef struct bcast_options bcast_options; /* how to connect */
typedef struct bcast_client bcast_client;   /* one connection to the local daemon, one sender */
typedef struct bcast_event bcast_event;     /* a receipt, delivery, view or error event */
typedef struct bcast_status bcast_status;   /* the local daemon's view of the cluster */

/* ---- Versions ------------------------------------------------------------------------------ */

/* The ABI version: the major of libbcast_c.so.N. Programs may check it at run time against the
 * header they were built with. */
#define BCAST_ABI_VERSION 1
BCAST_API int bcast_abi_version(void);
/* The bcastd release the library comes from ("0.1.0"). */
BCAST_API const char* bcast_version(void);
/* The client protocol version the library speaks (docs/protocol.md, "hello"). */
BCAST_API uint32_t bcast_protocol_version(void);

/* ---- Codes and errors ---------------------------------------------------------------------- */

/* Return codes. The numbers are those of bcast::ErrorCode and stable. */
enum {
  BCAST_OK = 0,
  BCAST_E_INVALID_ARGUMENT = 1,   /* malformed or not allowed: a bad group name, option, handle */
  BCAST_E_NOT_LEADER = 2,         /* (between daemons; not expected by clients) */
  BCAST_E_BUSY = 3,               /* a bounded queue is full: retry later */
  BCAST_E_TOO_LARGE = 4,          /* a payload over the daemon's max_message_bytes */
  BCAST_E_CORRUPT = 5,            /* (storage and peers; not expected by clients) */
  BCAST_E_IO = 6,                 /* the operating system refused a socket operation */
  BCAST_E_TIMEOUT = 7,            /* no answer in time (a total-order publish: no position) */
  BCAST_E_UNAVAILABLE = 8,        /* no daemon, or the connection was lost: connect again */
  BCAST_E_PROTOCOL = 9,           /* the daemon refused the request as malformed, or vice versa */
  BCAST_E_NOT_FOUND = 10,         /* the named thing does not exist */
  BCAST_E_PERMISSION_DENIED = 11, /* not allowed: group permissions (docs/security.md) */
  BCAST_E_NO_MEMORY = 64          /* this library could not allocate */
};

/* "ok", "invalid_argument", ..., "no_memory"; "unknown" for a code this library does not know.
 * Static storage. */
BCAST_API const char* bcast_code_name(int code);

BCAST_API int bcast_error_code(const bcast_error* error);
/* NUL-terminated; valid until bcast_error_free(). */
BCAST_API const char* bcast_error_message(const bcast_error* error);
BCAST_API void bcast_error_free(bcast_error* error); /* NULL is fine */

/* ---- Services ------------------------------------------------------------------------------ */

/* How a message spreads between daemons, and what order the receivers enforce (see
 * docs/guarantees.md; best-effort with causal or total order is refused). */
enum { BCAST_MODE_BEST_EFFORT = 0, BCAST_MODE_RELIABLE = 1, BCAST_MODE_GOSSIP = 2 };
enum { BCAST_ORDER_NONE = 0, BCAST_ORDER_FIFO = 1, BCAST_ORDER_CAUSAL = 2, BCAST_ORDER_TOTAL = 3 };
/* Wire names ("best-effort", "total"); NULL for an unknown value. Static storage. */
BCAST_API const char* bcast_mode_name(int mode);
BCAST_API const char* bcast_order_name(int order);
/* The value of a wire name; BCAST_E_INVALID_ARGUMENT for an unknown name. */
BCAST_API int bcast_parse_mode(const char* name, int* mode);
BCAST_API int bcast_parse_order(const char* name, int* order);

/* ---- Connecting ---------------------------------------------------------------------------- */

/* Defaults: no socket path (required), no client name, max_in_flight 1024, request timeout
 * 5000 ms, max frame 64 MiB. NULL if memory ran out. */
BCAST_API bcast_options* bcast_options_new(void);
BCAST_API void bcast_options_free(bcast_options* options); /* NULL is fine */
/* The daemon's client socket: the path given to `bcastd --client-socket`, or a ZeroMQ endpoint
 * ("ipc://..."). NUL-terminated; copied. */
BCAST_API int bcast_options_set_socket_path(bcast_options* options, const char* path);
/* Shown in the daemon's logs; at most 255 bytes; copied. */
BCAST_API int bcast_options_set_client_name(bcast_options* options, const char* name);
/* Publishes unacknowledged before bcast_publish() waits: 1 to 2^20 (checked on connect). */
BCAST_API int bcast_options_set_max_in_flight(bcast_options* options, size_t max_in_flight);
/* How long connect, join, leave, status and a publish waiting for room wait. Keep it above the
 * daemon's total-order timeout (3 s) when waiting for total-order receipts. */
BCAST_API int bcast_options_set_request_timeout_ms(bcast_options* options, int64_t timeout_ms);
/* The largest frame accepted from the daemon (must exceed its max_message_bytes). */
BCAST_API int bcast_options_set_max_frame_bytes(bcast_options* options, int64_t max_frame_bytes);

/* Connects, says hello, waits up to the request timeout for the welcome. BCAST_E_UNAVAILABLE if
 * no daemon answers in time; the daemon's code if it refuses (BCAST_E_BUSY: too many clients;
 * BCAST_E_PROTOCOL: an unsupported protocol version); BCAST_E_INVALID_ARGUMENT for bad
 * options. On success *client is a new client, closed with bcast_client_close(). */
BCAST_API int bcast_connect(const bcast_options* options, bcast_client** client,
                            bcast_error** error);
/* bcast_connect() with default options and `socket_path`. */
BCAST_API int bcast_connect_path(const char* socket_path, bcast_client** client,
                                 bcast_error** error);
/* Closes the connection (unsent publishes are dropped; sent ones are the daemon's) and frees the
 * client. NULL is fine. */
BCAST_API void bcast_client_close(bcast_client* client);

/* ---- Requests ------------------------------------------------------------------------------ */

/* Group names are 1..255 bytes (`group`, `group_len`: not NUL-terminated; any bytes). */

/* Deliveries of the group reach this client from the daemon's reply on (waits for it); a
 * BCAST_EVENT_VIEW of the group follows. Joining twice is not an error. */
BCAST_API int bcast_join(bcast_client* client, const char* group, size_t group_len,
                         bcast_error** error);
BCAST_API int bcast_leave(bcast_client* client, const char* group, size_t group_len,
                          bcast_error** error);
/* Joins and replays the group's total-order messages from gseq `from_gseq` (0: the oldest the
 * daemon's history holds), then the live ones, with no gap and no duplicate at the switch; a
 * position older than the history is a gap event (reason "history-trimmed") first. Fails with
 * BCAST_E_UNAVAILABLE when the daemon keeps no history. (BCAST_C_1.1) */
BCAST_API int bcast_join_from(bcast_client* client, const char* group, size_t group_len,
                              uint64_t from_gseq, bcast_error** error);

/* Sends a publish and sets *request_id (may be NULL); its receipt or refusal comes later as an
 * event with that id. Waits only while max_in_flight publishes are unacknowledged (then
 * BCAST_E_TIMEOUT after the request timeout). BCAST_E_TOO_LARGE at once for a payload over the
 * daemon's limit. `payload` may be NULL when `payload_len` is 0. */
BCAST_API int bcast_publish(bcast_client* client, const char* group, size_t group_len, int mode,
                            int order, const void* payload, size_t payload_len,
                            uint64_t* request_id, bcast_error** error);
/* bcast_publish() and wait (up to `timeout_ms`; negative: the request timeout) for its receipt,
 * returned in *receipt (a BCAST_EVENT_RECEIPT the caller frees) rather than queued; a refusal
 * comes back as the error. On BCAST_E_TIMEOUT the publish stays in flight and its outcome
 * arrives later as an event. */
BCAST_API int bcast_publish_and_wait(bcast_client* client, const char* group, size_t group_len,
                                     int mode, int order, const void* payload, size_t payload_len,
                                     int64_t timeout_ms, bcast_event** receipt,
                                     bcast_error** error);

/* ---- Events -------------------------------------------------------------------------------- */

/* Event kinds. Later versions add more (group views with members' clients, gaps, replay): skip
 * and free a kind you do not know. */
enum {
  BCAST_EVENT_RECEIPT = 1,  /* a publish acknowledged: request_id, seq, gseq (total order) */
  BCAST_EVENT_DELIVERY = 2, /* a message of a joined group: group, sender, seq, gseq, mode,
                               order, payload */
  BCAST_EVENT_VIEW = 3,     /* the daemons serving a joined group: group, members */
  BCAST_EVENT_ERROR = 4,    /* a refused publish (request_id), or a problem not tied to a
                               request (request_id 0): error_code, error_message */
  BCAST_EVENT_GAP = 5       /* messages the daemon will never deliver (docs/guarantees.md,
                               "Gaps"), before anything delivered after them: group (empty: any
                               group), mode (stream gaps), bcast_event_gap(),
                               bcast_event_gap_reason() */
};

/* Waits up to `timeout_ms` (0: only what is already there; negative: forever) for the next
 * event. BCAST_OK with *event NULL: none in time, or a signal interrupted the wait. Once the
 * connection is lost, returns BCAST_E_UNAVAILABLE (after the events that arrived before) and
 * so does every later call: connect a new client. */
BCAST_API int bcast_next_event(bcast_client* client, int64_t timeout_ms, bcast_event** event,
                               bcast_error** error);
BCAST_API void bcast_event_free(bcast_event* event); /* NULL is fine */

/* A callback for bcast_dispatch(); the event is valid only during the call (it is freed after). */
typedef void (*bcast_event_callback)(const bcast_event* event, void* user_data);
/* Calls `callback` for each event: waits up to `timeout_ms` for the first (as
 * bcast_next_event()), then takes the ones already there without waiting, at most `max_events`
 * in all (0: no limit). *dispatched (may be NULL) counts the calls. An error (a lost
 * connection) is returned after the events before it were dispatched. */
BCAST_API int bcast_dispatch(bcast_client* client, int64_t timeout_ms, size_t max_events,
                             bcast_event_callback callback, void* user_data, size_t* dispatched,
                             bcast_error** error);

/* Accessors. Each returns a neutral value (0, NULL, -1) for a NULL event or a kind without the
 * field. Strings and payloads are owned by the event: valid until bcast_event_free(). */
BCAST_API int bcast_event_kind(const bcast_event* event);
BCAST_API uint64_t bcast_event_request_id(const bcast_event* event); /* receipt, error */
BCAST_API uint64_t bcast_event_seq(const bcast_event* event);        /* receipt, delivery */
/* 1 and *gseq set when the event has a global position (total order), else 0. */
BCAST_API int bcast_event_gseq(const bcast_event* event, uint64_t* gseq);
/* Group name (delivery, view, gap); *len (may be NULL) its length; also NUL-terminated. */
BCAST_API const char* bcast_event_group(const bcast_event* event, size_t* len);
BCAST_API uint64_t bcast_event_sender(const bcast_event* event); /* delivery: cluster-unique */
BCAST_API int bcast_event_mode(const bcast_event* event);        /* delivery; else -1 */
BCAST_API int bcast_event_order(const bcast_event* event);       /* delivery; else -1 */
/* Payload bytes (delivery); *len (may be NULL) their count. Non-NULL for a delivery even when
 * empty. */
BCAST_API const void* bcast_event_payload(const bcast_event* event, size_t* len);
BCAST_API size_t bcast_event_member_count(const bcast_event* event);           /* view */
BCAST_API uint64_t bcast_event_member(const bcast_event* event, size_t index); /* node id */
BCAST_API int bcast_event_error_code(const bcast_event* event);                /* error */
BCAST_API const char* bcast_event_error_message(const bcast_event* event);     /* error */
/* A gap's range. 1: a stream gap, positions *from..*to of the stream of daemon incarnation
 * *origin (sender >> 32 of its senders) for bcast_event_mode() (a delivery's
 * bcast_event_stream_seq()); 2: a total-order gap, gseq *from..*to; 0: not a gap. *to is
 * UINT64_MAX when the range has no end. Any pointer may be NULL. */
BCAST_API int bcast_event_gap(const bcast_event* event, uint64_t* origin, uint64_t* from,
                              uint64_t* to);
/* "excluded", "origin-lost", "snapshot", "best-effort-hold" (accept others); NULL if not a gap. */
BCAST_API const char* bcast_event_gap_reason(const bcast_event* event);
/* A delivery's position in its origin's stream for its mode, which gaps name (0: total order). */
BCAST_API uint64_t bcast_event_stream_seq(const bcast_event* event);

/* ---- Status and client facts --------------------------------------------------------------- */

/* Asks the local daemon for its view of the cluster (waits for the reply). */
BCAST_API int bcast_get_status(bcast_client* client, bcast_status** status, bcast_error** error);
BCAST_API void bcast_status_free(bcast_status* status); /* NULL is fine */
BCAST_API uint64_t bcast_status_node_id(const bcast_status* status);
/* "leader", "follower", "candidate", "learner" (accept others). Valid until freed. */
BCAST_API const char* bcast_status_role(const bcast_status* status);
BCAST_API uint64_t bcast_status_term(const bcast_status* status);
/* 1 and *leader set when a leader is known, else 0. */
BCAST_API int bcast_status_leader(const bcast_status* status, uint64_t* leader);
BCAST_API size_t bcast_status_member_count(const bcast_status* status);
BCAST_API uint64_t bcast_status_member(const bcast_status* status, size_t index);
/* The Raft commit index (docs/protocol.md defines it). */
BCAST_API uint64_t bcast_status_commit_index(const bcast_status* status);

/* The fd to poll for events (see "Event loops" above); -1 for a NULL or failed client. */
BCAST_API int bcast_client_fd(const bcast_client* client);
BCAST_API uint64_t bcast_client_sender(const bcast_client* client);  /* from the welcome */
BCAST_API uint64_t bcast_client_node_id(const bcast_client* client); /* the local daemon's */
BCAST_API uint64_t bcast_client_max_message_bytes(const bcast_client* client);
BCAST_API size_t bcast_client_in_flight(const bcast_client* client); /* unacknowledged publishes */
/* 1 when bcast_next_event(client, 0, ...) would return an event without reading the socket. */
BCAST_API int bcast_client_has_queued_events(const bcast_client* client);

#ifdef __cplusplus
}
#endif

#endif /* BCAST_BCAST_H */
