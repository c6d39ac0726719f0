#include "io/http_server.hpp"

#include <arpa/inet.h>
#include <httplib.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace bcast::io {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::size_t kHttpThreads = 4;

bool is_loopback(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    static const in6_addr kLoopback = IN6ADDR_LOOPBACK_INIT;
    return std::memcmp(&v6, &kLoopback, sizeof v6) == 0;
  }
  return false;
}

std::string seconds_text(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::seconds>(d).count()) + " s";
}

// Empty when the event loop completed a round recently, else why not.
std::string loop_stall(const StatusBoard& board, Clock::time_point now) {
  const Clock::time_point last = board.last_round();
  if (last == Clock::time_point{}) return "the event loop has not started";
  if (now - last > kLoopStallLimit) {
    return "the event loop has not completed a round for " + seconds_text(now - last);
  }
  return "";
}

void no_store(httplib::Response& response) { response.set_header("Cache-Control", "no-store"); }

}  // namespace

Result<HttpAddress> parse_http_address(const std::string& text) {
  const std::string usage = "--http '" + text + "': expected IP:PORT, e.g. 127.0.0.1:9464";
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return make_error(ErrorCode::kInvalidArgument, usage);
  }
  HttpAddress address;
  address.host = text.substr(0, colon);
  if (address.host.size() >= 2 && address.host.front() == '[' && address.host.back() == ']') {
    address.host = address.host.substr(1, address.host.size() - 2);
  }
  const std::string port = text.substr(colon + 1);
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), address.port);
  if (error != std::errc() || end != port.data() + port.size() || address.port < 0 ||
      address.port > 65535) {
    return make_error(ErrorCode::kInvalidArgument, usage + " (PORT in 0..65535)");
  }
  in_addr v4{};
  in6_addr v6{};
  if (inet_pton(AF_INET, address.host.c_str(), &v4) != 1 &&
      inet_pton(AF_INET6, address.host.c_str(), &v6) != 1) {
    return make_error(ErrorCode::kInvalidArgument, usage + " (IP as a numeric address)");
  }
  address.loopback = is_loopback(address.host);
  return address;
}

HttpServer::HttpServer(const MetricsRegistry& metrics, const StatusBoard& board)
    : metrics_(metrics), board_(board), server_(std::make_unique<httplib::Server>()) {}

HttpServer::~HttpServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpAddress& address,
                                                      const MetricsRegistry& metrics,
                                                      const StatusBoard& board) {
  std::unique_ptr<HttpServer> http(new HttpServer(metrics, board));
  httplib::Server& server = *http->server_;
  // A few threads, not one per connection. Each connection holds its thread while open, so
  // connections close after one request: an idle keep-alive browser tab must not hold the
  // thread a Prometheus scrape needs.
  server.new_task_queue = [] { return new httplib::ThreadPool(kHttpThreads); };
  server.set_keep_alive_max_count(1);
  server.set_read_timeout(5);
  server.set_write_timeout(5);
  server.set_payload_max_length(4096);  // GETs only
  // SO_REUSEADDR (a restart finds the port free) but not httplib's default SO_REUSEPORT, which
  // would let a second daemon bind the same port silently.
  server.set_socket_options([](int socket) {
    const int yes = 1;
    setsockopt(socket, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  if (address.host.find(':') != std::string::npos) server.set_address_family(AF_INET6);
  http->route();
  if (address.port == 0) {
    http->port_ = server.bind_to_any_port(address.host);
  } else if (server.bind_to_port(address.host, address.port)) {
    http->port_ = address.port;
  } else {
    http->port_ = -1;
  }
  if (http->port_ <= 0) {
    return make_error(ErrorCode::kIo, "--http: cannot listen on " + address.host + ":" +
                                          std::to_string(address.port) +
                                          " (address in use or not local)");
  }
  http->thread_ = std::thread([&server] { server.listen_after_bind(); });
  // stop() only stops a server that is running: wait for it, so the destructor never misses it.
  for (int i = 0; i < 2000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return http;
}

void HttpServer::route() {
  httplib::Server& server = *server_;
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& response) {
    response.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz", [this](const httplib::Request&, httplib::Response& response) {
    no_store(response);
    const std::string stall = loop_stall(board_, Clock::now());
    response.status = stall.empty() ? 200 : 503;
    response.set_content(stall.empty() ? "ok\n" : stall + "\n", "text/plain; charset=utf-8");
  });
  server.Get("/readyz", [this](const httplib::Request&, httplib::Response& response) {
    no_store(response);
    const auto now = Clock::now();
    auto [status, published] = board_.latest();
    std::string reason = loop_stall(board_, now);
    if (reason.empty() && board_.stopping()) reason = "shutting down";
    if (reason.empty() && !status) reason = "starting";
    if (reason.empty() && now - published > kLoopStallLimit) {
      reason = "status not refreshed for " + seconds_text(now - published);
    }
    if (reason.empty() && !status->ready) reason = status->ready_reason;
    response.status = reason.empty() ? 200 : 503;
    response.set_content(reason.empty() ? "ready\n" : reason + "\n", "text/plain; charset=utf-8");
  });
  server.Get("/status.json", [this](const httplib::Request&, httplib::Response& response) {
    no_store(response);
    auto [status, published] = board_.latest();
    if (!status) {
      response.status = 503;
      response.set_content("{\"error\":\"starting\"}", "application/json");
      return;
    }
    response.set_content(to_json(*status), "application/json");
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& response) {
    no_store(response);
    response.set_content(kStatusPageHtml, "text/html; charset=utf-8");
  });
}

}  // namespace bcast::io
