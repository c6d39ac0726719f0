/* libbcast_c against a real bcastd --dev (tests/conformance/with_bcastd.py starts it and sets
 * BCAST_SOCKET and BCASTD_PID). Plain C99: it also proves the header is C.
 *
 * Every check prints what failed and where; the program exits 1 if any did. */
#define _POSIX_C_SOURCE 200809L
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include "bcast/bcast.h"

static int failures = 0;

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                              \
    }                                                                          \
  } while (0)

/* Checks a call returned BCAST_OK; prints the code otherwise. */
#define CHECK_OK(call)                                                      \
  do {                                                                      \
    int check_code_ = (call);                                               \
    if (check_code_ != BCAST_OK) {                                          \
      fprintf(stderr, "%s:%d: %s returned %s\n", __FILE__, __LINE__, #call, \
              bcast_code_name(check_code_));                                \
      ++failures;                                                           \
    }                                                                       \
  } while (0)

static const char* socket_path;
static const char* const kGroup = "c-abi";

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bcast_client* connect_or_die(void) {
  bcast_client* client = NULL;
  bcast_error* error = NULL;
  if (bcast_connect_path(socket_path, &client, &error) != BCAST_OK) {
    fprintf(stderr, "cannot connect to %s: %s\n", socket_path, bcast_error_message(error));
    exit(1);
  }
  CHECK(error == NULL);
  return client;
}

/* The next event within 5 s, or NULL (a failed check). */
static bcast_event* next_event(bcast_client* client) {
  bcast_event* event = NULL;
  bcast_error* error = NULL;
  int code = bcast_next_event(client, 5000, &event, &error);
  if (code != BCAST_OK) {
    fprintf(stderr, "next_event: %s: %s\n", bcast_code_name(code), bcast_error_message(error));
    bcast_error_free(error);
    ++failures;
    return NULL;
  }
  if (event == NULL) {
    fprintf(stderr, "next_event: nothing within 5 s\n");
    ++failures;
  }
  return event;
}

static void test_versions_and_names(void) {
  int value = -1;
  CHECK(bcast_abi_version() == BCAST_ABI_VERSION);
  CHECK(strlen(bcast_version()) > 0);
  CHECK(bcast_protocol_version() == 1);
  CHECK(strcmp(bcast_code_name(BCAST_OK), "ok") == 0);
  CHECK(strcmp(bcast_code_name(BCAST_E_BUSY), "busy") == 0);
  CHECK(strcmp(bcast_code_name(BCAST_E_NOT_FOUND), "not_found") == 0);
  CHECK(strcmp(bcast_code_name(BCAST_E_NO_MEMORY), "no_memory") == 0);
  CHECK(strcmp(bcast_code_name(4242), "unknown") == 0);
  CHECK(strcmp(bcast_mode_name(BCAST_MODE_BEST_EFFORT), "best-effort") == 0);
  CHECK(strcmp(bcast_order_name(BCAST_ORDER_TOTAL), "total") == 0);
  CHECK(bcast_mode_name(3) == NULL);
  CHECK(bcast_order_name(-1) == NULL);
  CHECK(bcast_parse_mode("gossip", &value) == BCAST_OK && value == BCAST_MODE_GOSSIP);
  CHECK(bcast_parse_order("causal", &value) == BCAST_OK && value == BCAST_ORDER_CAUSAL);
  CHECK(bcast_parse_mode("pigeon", &value) == BCAST_E_INVALID_ARGUMENT);
  CHECK(bcast_parse_order(NULL, &value) == BCAST_E_INVALID_ARGUMENT);
}

static void test_null_handles_are_refused_not_crashed(void) {
  bcast_error* error = NULL;
  CHECK(bcast_join(NULL, "g", 1, &error) == BCAST_E_INVALID_ARGUMENT);
  CHECK(error != NULL && bcast_error_code(error) == BCAST_E_INVALID_ARGUMENT);
  CHECK(error != NULL && strlen(bcast_error_message(error)) > 0);
  bcast_error_free(error);
  CHECK(bcast_publish(NULL, "g", 1, 0, 0, NULL, 0, NULL, NULL) == BCAST_E_INVALID_ARGUMENT);
  CHECK(bcast_next_event(NULL, 0, NULL, NULL) == BCAST_E_INVALID_ARGUMENT);
  CHECK(bcast_connect(NULL, NULL, NULL) == BCAST_E_INVALID_ARGUMENT);
  CHECK(bcast_event_kind(NULL) == 0 && bcast_event_mode(NULL) == -1);
  CHECK(bcast_event_group(NULL, NULL) == NULL && bcast_event_payload(NULL, NULL) == NULL);
  CHECK(bcast_status_role(NULL) == NULL && bcast_client_fd(NULL) == -1);
  CHECK(bcast_event_gap(NULL, NULL, NULL, NULL) == 0 && bcast_event_gap_reason(NULL) == NULL);
  CHECK(bcast_event_stream_seq(NULL) == 0);
  bcast_error_free(NULL);
  bcast_event_free(NULL);
  bcast_status_free(NULL);
  bcast_options_free(NULL);
  bcast_client_close(NULL);
}

static void test_connect_failures(void) {
  bcast_options* options = bcast_options_new();
  bcast_client* client = NULL;
  bcast_error* error = NULL;
  CHECK(options != NULL);
  CHECK_OK(bcast_options_set_socket_path(options, "/nonexistent/bcastd.sock"));
  CHECK_OK(bcast_options_set_request_timeout_ms(options, 300));
  CHECK(bcast_connect(options, &client, &error) == BCAST_E_UNAVAILABLE);
  CHECK(client == NULL);
  CHECK(error != NULL && strstr(bcast_error_message(error), "does not exist") != NULL);
  bcast_error_free(error);
  error = NULL;
  CHECK_OK(bcast_options_set_max_in_flight(options, 0));
  CHECK(bcast_connect(options, &client, &error) == BCAST_E_INVALID_ARGUMENT);
  bcast_error_free(error);
  CHECK(bcast_options_set_request_timeout_ms(options, -5) == BCAST_E_INVALID_ARGUMENT);
  bcast_options_free(options);
}

static void test_connect_and_status(void) {
  bcast_options* options = bcast_options_new();
  bcast_client* client = NULL;
  bcast_status* status = NULL;
  uint64_t leader = 0;
  CHECK_OK(bcast_options_set_socket_path(options, socket_path));
  CHECK_OK(bcast_options_set_client_name(options, "c-test"));
  CHECK_OK(bcast_options_set_max_in_flight(options, 64));
  CHECK_OK(bcast_connect(options, &client, NULL));
  bcast_options_free(options); /* the client keeps its own copy */
  if (client == NULL) return;
  CHECK(bcast_client_sender(client) >> 48 == bcast_client_node_id(client));
  CHECK(bcast_client_max_message_bytes(client) > 0);
  CHECK(bcast_client_fd(client) >= 0);
  CHECK_OK(bcast_get_status(client, &status, NULL));
  if (status != NULL) {
    CHECK(bcast_status_node_id(status) == bcast_client_node_id(client));
    CHECK(strcmp(bcast_status_role(status), "leader") == 0);
    CHECK(bcast_status_leader(status, &leader) == 1 && leader == bcast_status_node_id(status));
    CHECK(bcast_status_member_count(status) >= 1);
    CHECK(bcast_status_member(status, 0) == bcast_status_node_id(status));
    CHECK(bcast_status_member(status, 99) == 0);
    CHECK(bcast_status_commit_index(status) >= 1);
    CHECK(bcast_status_term(status) >= 1);
  }
  bcast_status_free(status);
  bcast_client_close(client);
}

static void test_join_view_and_refusals(void) {
  bcast_client* client = connect_or_die();
  bcast_event* view;
  bcast_error* error = NULL;
  char too_long[300];
  size_t len = 0;
  memset(too_long, 'g', sizeof too_long);
  CHECK_OK(bcast_join(client, kGroup, strlen(kGroup), NULL));
  view = next_event(client);
  if (view != NULL) {
    CHECK(bcast_event_kind(view) == BCAST_EVENT_VIEW);
    CHECK(strcmp(bcast_event_group(view, &len), kGroup) == 0 && len == strlen(kGroup));
    CHECK(bcast_event_member_count(view) >= 1);
    CHECK(bcast_event_member(view, 0) == bcast_client_node_id(client));
    CHECK(bcast_event_payload(view, NULL) == NULL);
  }
  bcast_event_free(view);
  /* Group names publish refuses, join refuses too (docs/protocol.md, "Groups"). */
  CHECK(bcast_join(client, "", 0, &error) == BCAST_E_INVALID_ARGUMENT);
  CHECK(error != NULL && strstr(bcast_error_message(error), "group name") != NULL);
  bcast_error_free(error);
  CHECK(bcast_join(client, too_long, 256, NULL) == BCAST_E_INVALID_ARGUMENT);
  CHECK(bcast_leave(client, too_long, 256, NULL) == BCAST_E_INVALID_ARGUMENT);
  CHECK_OK(bcast_join(client, too_long, 255, NULL));
  CHECK(bcast_join(client, NULL, 3, NULL) == BCAST_E_INVALID_ARGUMENT);
  bcast_client_close(client);
}

/* Every offered mode x order: each publish gets exactly one receipt, after its own delivery; the
 * payload (binary, with NUL bytes) comes back whole; gseq exactly for total order. */
static void test_every_cell_round_trips(void) {
  enum { kCells = 12, kPerCell = 5 };
  bcast_client* client = connect_or_die();
  uint64_t ids[kCells * kPerCell];
  int delivered[kCells * kPerCell];
  int receipts[kCells * kPerCell];
  int sent = 0, received = 0, got_receipts = 0, i;
  int64_t deadline;
  memset(delivered, 0, sizeof delivered);
  memset(receipts, 0, sizeof receipts);
  CHECK_OK(bcast_join(client, "cells", 5, NULL));
  bcast_event_free(next_event(client)); /* the view */
  for (i = 0; i < kCells * kPerCell; ++i) {
    int cell = i % kCells;
    int mode = cell / 4, order = cell % 4;
    unsigned char payload[6] = {'p', 0, (unsigned char)i, 0, 0xff, 'q'};
    if (mode == BCAST_MODE_BEST_EFFORT && order >= BCAST_ORDER_CAUSAL) continue;
    CHECK_OK(
        bcast_publish(client, "cells", 5, mode, order, payload, sizeof payload, &ids[i], NULL));
    ++sent;
  }
  deadline = now_ms() + 10000;
  while (got_receipts < sent && now_ms() < deadline) {
    bcast_event* event = next_event(client);
    size_t len = 0;
    uint64_t gseq = 0;
    if (event == NULL) break;
    if (bcast_event_kind(event) == BCAST_EVENT_DELIVERY) {
      const unsigned char* p = bcast_event_payload(event, &len);
      CHECK(len == 6 && p[0] == 'p' && p[1] == 0 && p[4] == 0xff);
      if (len == 6) {
        int index = p[2];
        int order = bcast_event_order(event);
        delivered[index] = 1;
        CHECK(bcast_event_mode(event) == (index % kCells) / 4);
        CHECK(order == (index % kCells) % 4);
        CHECK(bcast_event_gseq(event, &gseq) == (order == BCAST_ORDER_TOTAL));
        /* Every mode but total order numbers the origin's stream, which gap events name. */
        CHECK((bcast_event_stream_seq(event) == 0) == (order == BCAST_ORDER_TOTAL));
        CHECK(bcast_event_gap(event, NULL, NULL, NULL) == 0);
        CHECK(bcast_event_sender(event) == bcast_client_sender(client));
        CHECK(bcast_event_seq(event) >= 1);
      }
      ++received;
    } else if (bcast_event_kind(event) == BCAST_EVENT_RECEIPT) {
      int found = -1;
      for (i = 0; i < kCells * kPerCell; ++i) {
        if (ids[i] == bcast_event_request_id(event)) found = i;
      }
      CHECK(found >= 0);
      if (found >= 0) {
        CHECK(receipts[found] == 0);
        CHECK(delivered[found] == 1); /* own delivery first */
        CHECK(bcast_event_gseq(event, &gseq) == ((found % kCells) % 4 == BCAST_ORDER_TOTAL));
        receipts[found] = 1;
      }
      ++got_receipts;
    } else {
      fprintf(stderr, "unexpected event kind %d: %s\n", bcast_event_kind(event),
              bcast_event_error_message(event) ? bcast_event_error_message(event) : "");
      ++failures;
    }
    bcast_event_free(event);
  }
  CHECK(sent == 50);
  CHECK(got_receipts == sent);
  CHECK(received == sent);
  CHECK(bcast_client_in_flight(client) == 0);
  bcast_client_close(client);
}

static void test_publish_refusals(void) {
  bcast_client* client = connect_or_die();
  uint64_t id = 0;
  bcast_error* error = NULL;
  bcast_event* event;
  size_t too_large = (size_t)bcast_client_max_message_bytes(client) + 1;
  char* big = calloc(too_large, 1);
  /* Refused here, before sending. */
  CHECK(bcast_publish(client, "g", 1, BCAST_MODE_RELIABLE, BCAST_ORDER_FIFO, big, too_large, &id,
                      &error) == BCAST_E_TOO_LARGE);
  bcast_error_free(error);
  free(big);
  CHECK(bcast_publish(client, "g", 1, 7, BCAST_ORDER_FIFO, "x", 1, &id, NULL) ==
        BCAST_E_INVALID_ARGUMENT);
  CHECK(bcast_publish(client, "g", 1, BCAST_MODE_GOSSIP, 9, "x", 1, &id, NULL) ==
        BCAST_E_INVALID_ARGUMENT);
  /* Refused by the daemon: an error event with the publish's id. */
  CHECK_OK(
      bcast_publish(client, "g", 1, BCAST_MODE_BEST_EFFORT, BCAST_ORDER_TOTAL, "x", 1, &id, NULL));
  event = next_event(client);
  if (event != NULL) {
    CHECK(bcast_event_kind(event) == BCAST_EVENT_ERROR);
    CHECK(bcast_event_request_id(event) == id);
    CHECK(bcast_event_error_code(event) == BCAST_E_INVALID_ARGUMENT);
    CHECK(strstr(bcast_event_error_message(event), "best-effort") != NULL);
  }
  bcast_event_free(event);
  /* An empty group, likewise. */
  CHECK_OK(bcast_publish(client, "", 0, BCAST_MODE_RELIABLE, BCAST_ORDER_NONE, NULL, 0, &id, NULL));
  event = next_event(client);
  CHECK(event != NULL && bcast_event_error_code(event) == BCAST_E_INVALID_ARGUMENT);
  bcast_event_free(event);
  bcast_client_close(client);
}

static void test_publish_and_wait(void) {
  bcast_client* client = connect_or_die();
  bcast_event* receipt = NULL;
  bcast_error* error = NULL;
  uint64_t gseq = 0;
  CHECK_OK(bcast_publish_and_wait(client, "wait", 4, BCAST_MODE_RELIABLE, BCAST_ORDER_TOTAL, "t", 1,
                                  -1, &receipt, NULL));
  CHECK(receipt != NULL && bcast_event_kind(receipt) == BCAST_EVENT_RECEIPT);
  CHECK(bcast_event_gseq(receipt, &gseq) == 1 && gseq >= 1);
  CHECK(bcast_event_seq(receipt) == 1);
  bcast_event_free(receipt);
  CHECK(bcast_publish_and_wait(client, "wait", 4, BCAST_MODE_BEST_EFFORT, BCAST_ORDER_CAUSAL, "t",
                               1, 2000, &receipt, &error) == BCAST_E_INVALID_ARGUMENT);
  CHECK(receipt == NULL && error != NULL);
  bcast_error_free(error);
  bcast_client_close(client);
}

struct counts {
  int deliveries;
  int receipts;
};

static void count_event(const bcast_event* event, void* user_data) {
  struct counts* counts = user_data;
  if (bcast_event_kind(event) == BCAST_EVENT_DELIVERY) ++counts->deliveries;
  if (bcast_event_kind(event) == BCAST_EVENT_RECEIPT) ++counts->receipts;
}

/* The event-loop pattern of the header: poll the fd, then drain with dispatch(0). */
static void test_fd_and_dispatch(void) {
  enum { kMessages = 200 };
  bcast_client* publisher = connect_or_die();
  bcast_client* subscriber = connect_or_die();
  struct counts counts = {0, 0};
  size_t dispatched = 0;
  int i;
  int64_t deadline;
  CHECK_OK(bcast_join(subscriber, "loop", 4, NULL));
  CHECK_OK(bcast_dispatch(subscriber, 1000, 1, count_event, &counts, &dispatched, NULL));
  CHECK(dispatched == 1); /* the view */
  for (i = 0; i < kMessages; ++i) {
    CHECK_OK(bcast_publish(publisher, "loop", 4, BCAST_MODE_GOSSIP, BCAST_ORDER_FIFO, "m", 1, NULL,
                           NULL));
  }
  deadline = now_ms() + 10000;
  while (counts.deliveries < kMessages && now_ms() < deadline) {
    struct pollfd item = {bcast_client_fd(subscriber), POLLIN, 0};
    /* Drain first: the fd is edge-triggered, and the join above may have consumed its edge. */
    CHECK_OK(bcast_dispatch(subscriber, 0, 0, count_event, &counts, NULL, NULL));
    if (counts.deliveries >= kMessages) break;
    (void)poll(&item, 1, 1000);
  }
  CHECK(counts.deliveries == kMessages);
  counts.deliveries = 0;
  CHECK_OK(bcast_dispatch(publisher, 5000, kMessages, count_event, &counts, &dispatched, NULL));
  while (counts.receipts < kMessages && dispatched > 0) {
    CHECK_OK(bcast_dispatch(publisher, 5000, 0, count_event, &counts, &dispatched, NULL));
  }
  CHECK(counts.receipts == kMessages);
  CHECK(bcast_dispatch(publisher, 0, 0, NULL, NULL, NULL, NULL) == BCAST_E_INVALID_ARGUMENT);
  bcast_client_close(subscriber);
  bcast_client_close(publisher);
}

/* Last: kills the daemon and expects every call to report the lost connection. */
static void test_lost_daemon(void) {
  bcast_client* client = connect_or_die();
  const char* pid_text = getenv("BCASTD_PID");
  bcast_event* event = NULL;
  bcast_error* error = NULL;
  int code = BCAST_OK;
  int64_t deadline = now_ms() + 10000;
  if (pid_text == NULL) {
    fprintf(stderr, "BCASTD_PID is not set: run under tests/conformance/with_bcastd.py\n");
    ++failures;
    bcast_client_close(client);
    return;
  }
  CHECK(kill((pid_t)atol(pid_text), SIGKILL) == 0);
  while (code == BCAST_OK && now_ms() < deadline) {
    code = bcast_next_event(client, 200, &event, &error);
    bcast_event_free(event);
  }
  CHECK(code == BCAST_E_UNAVAILABLE);
  CHECK(error != NULL && strstr(bcast_error_message(error), "lost") != NULL);
  bcast_error_free(error);
  CHECK(bcast_join(client, "g", 1, NULL) == BCAST_E_UNAVAILABLE);
  bcast_client_close(client);
}

int main(int argc, char** argv) {
  socket_path = argc > 1 ? argv[1] : getenv("BCAST_SOCKET");
  if (socket_path == NULL) {
    fprintf(stderr, "usage: %s SOCKET (or BCAST_SOCKET)\n", argv[0]);
    return 2;
  }
  test_versions_and_names();
  test_null_handles_are_refused_not_crashed();
  test_connect_failures();
  test_connect_and_status();
  test_join_view_and_refusals();
  test_every_cell_round_trips();
  test_publish_refusals();
  test_publish_and_wait();
  test_fd_and_dispatch();
  test_lost_daemon();
  if (failures > 0) {
    fprintf(stderr, "%d checks failed\n", failures);
    return 1;
  }
  printf("bcast_c_test: all checks passed\n");
  return 0;
}
