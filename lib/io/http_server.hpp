// bcastd's HTTP endpoint (`--http IP:PORT`, off by default), served by cpp-httplib:
//
//   GET /metrics      Prometheus text (lib/io/metrics.hpp)
//   GET /healthz      200 "ok" while the event loop runs rounds; 503 with the reason otherwise
//   GET /readyz       200 "ready" when the daemon is ready (lib/io/daemon_status.hpp states the
//                     rule); 503 with a one-line reason otherwise
//   GET /status.json  the latest DaemonStatus snapshot as JSON
//   GET /             the live status page (HTML and JS compiled into the binary), which polls
//                     /status.json
//
// Why its own threads rather than the event loop: HTTP clients are slow and untrusted compared
// to the event loop's deadlines (heartbeats every few ticks); a scraper that stalls mid-request
// must not delay Raft. The HTTP threads (four, one request per connection) read only what the event
// loop hands over: the registry's atomics and the StatusBoard's snapshots. They never touch the
// core.
//
// Binding happens in start(), so a taken port or a bad address fails the daemon's start with a
// clear error; serving happens on the server's thread until the destructor stops it.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "bcast/result.hpp"
#include "io/daemon_status.hpp"
#include "io/metrics.hpp"

namespace httplib {
class Server;
}

namespace bcast::io {

// "IP:PORT" (IPv4) or "[IPv6]:PORT"; PORT 0 picks a free port. Errors name the problem.
struct HttpAddress {
  std::string host;
  int port = 0;
  bool loopback = false;
};
Result<HttpAddress> parse_http_address(const std::string& text);

class HttpServer {
 public:
  static Result<std::unique_ptr<HttpServer>> start(const HttpAddress& address,
                                                   const MetricsRegistry& metrics,
                                                   const StatusBoard& board);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }

 private:
  HttpServer(const MetricsRegistry& metrics, const StatusBoard& board);
  void route();

  const MetricsRegistry& metrics_;
  const StatusBoard& board_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

// The status page served at "/" (generated from lib/io/http_status_page.html at build time).
extern const char* const kStatusPageHtml;

}  // namespace bcast::io
