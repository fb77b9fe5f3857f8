// HttpServer: the transport of the gateway. Boost.Beast HTTP/1.1 with keep-alive over TCP
// or TLS, one io_context run by N threads, one C++20 coroutine per connection on its own
// strand. It enforces what protects the process before any handler runs: a cap on
// connections (total and per client IP), header and body limits (431 / 413), an idle
// timeout between requests and a read timeout for a whole request (slow clients are
// disconnected), a write timeout, a request id on every response, and graceful shutdown
// (stop accepting, close idle connections, let in-flight requests finish).
//
//   HttpServer server(options, [&](Request& req) -> boost::asio::awaitable<Response> { ... });
//   RETURN_IF_ERROR(server.Listen());          // server.port() is bound now
//   server.Run();                              // until Shutdown() has drained
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include "vp/base/status.h"
#include "vp/http/types.h"

namespace vp::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see port())
  size_t threads = 0;    // 0: one per core
  size_t body_limit = 64 * 1024;
  size_t header_limit = 16 * 1024;
  std::chrono::milliseconds read_timeout{10000};
  std::chrono::milliseconds idle_timeout{60000};
  std::chrono::milliseconds write_timeout{10000};
  std::chrono::milliseconds shutdown_grace{15000};
  size_t max_connections = 10000;
  size_t max_connections_per_ip = 1000;
  std::string tls_cert;  // PEM chain; with tls_key: HTTPS only
  std::string tls_key;
};

class HttpServer {
 public:
  using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;
  // Sees every response the transport itself produced (limits, parse errors, caps), for
  // metrics and logs; handler responses are the handler's business.
  using Observer = std::function<void(const Request&, const Response&)>;

  HttpServer(ServerOptions options, Handler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void SetObserver(Observer observer);

  // Loads TLS material if configured, binds and listens. kInvalidArgument for a bad
  // address or TLS file, kUnavailable when the port cannot be bound.
  Status Listen();
  uint16_t port() const;
  boost::asio::io_context& io();
  size_t threads() const;

  // Runs the io threads (this one included) until Shutdown() has drained.
  void Run();
  // Starts a graceful shutdown; thread-safe and idempotent. Connections waiting for a
  // request are closed at once, requests in flight finish (up to shutdown_grace), then
  // Run() returns.
  void Shutdown();
  bool draining() const;

  size_t connections() const;
  uint64_t refused_connections() const;

  // A fresh request id ("req_" + 20 hex digits: a random per-process prefix and a counter).
  static std::string NewRequestId();

  struct Impl;  // defined in server.cc

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace vp::http
