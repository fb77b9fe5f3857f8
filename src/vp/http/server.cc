#include "vp/http/server.h"

#include <cstdio>
#include <optional>
#include <random>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "vp/http/envelope.h"

namespace vp::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// A connection as shutdown and the caps see it. busy and close are touched only on the
// connection's strand.
struct ConnState {
  asio::any_io_executor executor;
  std::function<void()> close;
  bool busy = false;
  std::string ip;
  uint64_t id = 0;
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  Handler handler;
  Observer observer;
  size_t threads = 1;
  uint16_t bound_port = 0;
  std::atomic<bool> draining{false};
  std::atomic<size_t> connections{0};
  std::atomic<uint64_t> refused{0};

  std::optional<asio::ssl::context> tls;
  std::optional<asio::strand<asio::io_context::executor_type>> accept_strand;
  std::optional<tcp::acceptor> acceptor;
  std::optional<asio::steady_timer> accept_backoff;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  std::mutex mu;
  std::unordered_map<uint64_t, std::shared_ptr<ConnState>> conns;  // guarded by mu
  std::unordered_map<std::string, size_t> per_ip;                   // guarded by mu
  uint64_t next_conn_id = 0;                                        // guarded by mu
  // Declared last so it is destroyed first: pending connection coroutines are destroyed
  // with it and unregister themselves from conns/per_ip, which must still exist then.
  asio::io_context io;

  explicit Impl(size_t hint) : io(static_cast<int>(hint)) {}
  ~Impl() {
    acceptor.reset();
    accept_backoff.reset();
    accept_strand.reset();
    work.reset();
    io.stop();
  }

  // Registers a connection unless a cap is reached; returns 0 (total cap), 1 (per-IP cap) or 2 (admitted).
  int Admit(const std::shared_ptr<ConnState>& st) {
    std::lock_guard<std::mutex> lock(mu);
    if (conns.size() >= options.max_connections) return 0;
    size_t& n = per_ip[st->ip];
    if (n >= options.max_connections_per_ip) {
      if (n == 0) per_ip.erase(st->ip);
      return 1;
    }
    ++n;
    st->id = ++next_conn_id;
    conns.emplace(st->id, st);
    connections.store(conns.size(), std::memory_order_relaxed);
    return 2;
  }

  void Release(const ConnState& st) {
    std::lock_guard<std::mutex> lock(mu);
    if (conns.erase(st.id) == 0) return;
    auto it = per_ip.find(st.ip);
    if (it != per_ip.end() && --it->second == 0) per_ip.erase(it);
    connections.store(conns.size(), std::memory_order_relaxed);
  }

  void Observe(const Request& req, const Response& res) {
    if (observer) observer(req, res);
  }

  void DoAccept();
  void OnAccept(const beast::error_code& ec, tcp::socket socket, asio::any_io_executor conn_ex);
  asio::awaitable<void> Refuse(tcp::socket socket, unsigned status, std::string message);
  template <class Stream>
  asio::awaitable<void> Session(std::shared_ptr<Stream> stream, std::shared_ptr<ConnState> st);
  template <class Stream>
  asio::awaitable<beast::error_code> Write(Stream& stream, Response& res, std::string_view request_id,
                                           bool keep_alive, unsigned version);
  template <class Stream>
  asio::awaitable<void> Linger(Stream& stream);
  asio::awaitable<void> DrainWatch();
};

namespace {

void Spawn(asio::any_io_executor ex, asio::awaitable<void> a) {
  asio::co_spawn(ex, std::move(a), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& err) {
      std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"connection task failed\",\"what\":\"%s\"}\n", err.what());
    } catch (...) {
    }
  });
}

}  // namespace

template <class Stream>
asio::awaitable<beast::error_code> HttpServer::Impl::Write(Stream& stream, Response& r, std::string_view request_id,
                                                           bool keep_alive, unsigned version) {
  bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), version};
  res.set(bhttp::field::server, "vaultproof");
  res.set(bhttp::field::content_type, r.content_type);
  res.set("X-Request-ID", request_id);
  for (const auto& [k, v] : r.headers) res.set(k, v);
  res.keep_alive(keep_alive);
  res.body() = std::move(r.body);
  res.prepare_payload();
  beast::get_lowest_layer(stream).expires_after(options.write_timeout);
  auto [ec, n] = co_await bhttp::async_write(stream, res, kTuple);
  (void)n;
  co_return ec;
}

// After an error response on a connection we are about to close: stop sending, then read
// and discard what the client still sends for a moment, so the kernel does not answer its
// unread bytes with a reset that could destroy our response before the client reads it.
template <class Stream>
asio::awaitable<void> HttpServer::Impl::Linger(Stream& stream) {
  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.expires_after(std::chrono::milliseconds(500));
    std::array<char, 4096> scratch;
    size_t total = 0;
    while (total < 1024 * 1024) {
      auto [rec, n] = co_await stream.async_read_some(asio::buffer(scratch), kTuple);
      if (rec) break;
      total += n;
    }
  }
  co_return;
}

template <class Stream>
asio::awaitable<void> HttpServer::Impl::Session(std::shared_ptr<Stream> stream, std::shared_ptr<ConnState> st) {
  auto& lowest = beast::get_lowest_layer(*stream);
  struct Unregister {
    Impl* self;
    ConnState* st;
    ~Unregister() { self->Release(*st); }
  } unregister{this, st.get()};

  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    lowest.expires_after(options.read_timeout);
    auto [hec] = co_await stream->async_handshake(asio::ssl::stream_base::server, kTuple);
    if (hec) co_return;
  }

  beast::flat_buffer buffer;
  bool close_quietly = false;
  while (!draining.load(std::memory_order_acquire)) {
    st->busy = false;
    if (buffer.size() == 0) {
      // Waiting for the first byte of the next request: the idle timeout applies.
      lowest.expires_after(options.idle_timeout);
      auto [ec, n] = co_await stream->async_read_some(buffer.prepare(4096), kTuple);
      if (ec) {
        close_quietly = true;
        break;
      }
      buffer.commit(n);
    }
    // From the first byte, the whole request must arrive within the read timeout.
    lowest.expires_after(options.read_timeout);
    auto received = std::chrono::steady_clock::now();
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    parser.body_limit(options.body_limit);
    auto [ec, n] = co_await bhttp::async_read_header(*stream, buffer, parser, kTuple);
    (void)n;
    if (!ec && parser.get()[bhttp::field::expect] == "100-continue" && !parser.is_done()) {
      bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, parser.get().version()};
      auto [wec, wn] = co_await bhttp::async_write(*stream, cont, kTuple);
      (void)wn;
      ec = wec;
    }
    if (!ec && !parser.is_done()) {
      auto [rec, rn] = co_await bhttp::async_read(*stream, buffer, parser, kTuple);
      (void)rn;
      ec = rec;
    }
    if (ec) {
      unsigned status = 0;
      Status err;
      if (ec == bhttp::error::body_limit) {
        status = 413;
        err = ResourceExhaustedError("request body larger than " + std::to_string(options.body_limit) + " bytes");
      } else if (ec == bhttp::error::header_limit) {
        status = 431;
        err = ResourceExhaustedError("request headers larger than " + std::to_string(options.header_limit) + " bytes");
      } else if (ec.category() == beast::http::make_error_code(bhttp::error::bad_method).category() &&
                 ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        status = 400;
        err = InvalidArgumentError("malformed HTTP request: " + ec.message());
      } else {
        close_quietly = true;
        break;
      }
      Request req;
      req.remote_ip = st->ip;
      req.request_id = HttpServer::NewRequestId();
      req.received_at = received;
      if (parser.got_some() && status != 400) {
        req.method = std::string(parser.get().method_string());
        req.target = std::string(parser.get().target());
      }
      Response res = ErrorResponse(err, req.request_id, status);
      res.keep_alive = false;
      Observe(req, res);
      st->busy = true;
      co_await Write(*stream, res, req.request_id, false, 11);
      co_await Linger(*stream);
      break;
    }

    st->busy = true;
    bhttp::request<bhttp::string_body> msg = parser.release();
    Request req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    size_t q = req.target.find('?');
    if (q == std::string::npos) {
      req.path = req.target;
    } else {
      req.path = req.target.substr(0, q);
      req.query = req.target.substr(q + 1);
    }
    req.headers.reserve(16);
    for (const auto& f : msg) {
      req.headers.emplace_back(Lower(std::string_view(f.name_string().data(), f.name_string().size())),
                               std::string(f.value()));
    }
    req.body = std::move(msg.body());
    req.remote_ip = st->ip;
    req.request_id = HttpServer::NewRequestId();
    req.received_at = received;
    bool keep_alive = msg.keep_alive();
    unsigned version = msg.version();

    Response res;
    bool failed = false;
    try {
      res = co_await handler(req);
    } catch (...) {
      failed = true;
    }
    if (failed) {
      // Handlers return errors as values; an exception here is a bug of ours.
      res = ErrorResponse(InternalError("internal error"), req.request_id);
      Observe(req, res);
    }
    keep_alive = keep_alive && res.keep_alive && !draining.load(std::memory_order_acquire);
    beast::error_code wec = co_await Write(*stream, res, req.request_id, keep_alive, version);
    if (wec || !keep_alive) break;
  }

  if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
    beast::error_code ignored;
    stream->socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream->socket().close(ignored);
  } else {
    if (!close_quietly) {
      lowest.expires_after(std::chrono::seconds(1));
      auto [sec] = co_await stream->async_shutdown(kTuple);
      (void)sec;
    }
    beast::error_code ignored;
    lowest.socket().close(ignored);
  }
}

asio::awaitable<void> HttpServer::Impl::Refuse(tcp::socket socket, unsigned status, std::string message) {
  beast::tcp_stream stream(std::move(socket));
  std::string id = HttpServer::NewRequestId();
  Status err = status == 503 ? UnavailableError(std::move(message)) : ResourceExhaustedError(std::move(message));
  Response res = ErrorResponse(err, id, status);
  res.SetHeader("Retry-After", "1");
  Request req;
  req.request_id = id;
  Observe(req, res);
  stream.expires_after(std::chrono::seconds(1));
  co_await Write(stream, res, id, false, 11);
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
}

// Accepting is plain callbacks, not a coroutine: a strand created inside a coroutine's
// loop body was released once too often by GCC 12's coroutine lowering.
void HttpServer::Impl::DoAccept() {
  if (!acceptor || !acceptor->is_open()) return;
  asio::any_io_executor conn_ex = asio::make_strand(io);
  acceptor->async_accept(conn_ex, [this, conn_ex](const beast::error_code& ec, tcp::socket socket) {
    OnAccept(ec, std::move(socket), conn_ex);
  });
}

void HttpServer::Impl::OnAccept(const beast::error_code& ec, tcp::socket socket, asio::any_io_executor conn_ex) {
  if (ec) {
    if (ec == asio::error::operation_aborted || draining.load()) return;
    // Out of file descriptors and the like: back off instead of spinning.
    accept_backoff->expires_after(std::chrono::milliseconds(50));
    accept_backoff->async_wait([this](const beast::error_code&) { DoAccept(); });
    return;
  }
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  auto st = std::make_shared<ConnState>();
  st->executor = conn_ex;
  auto ep = socket.remote_endpoint(ignored);
  st->ip = ignored ? std::string("unknown") : ep.address().to_string();
  int admit = Admit(st);
  if (admit != 2) {
    refused.fetch_add(1, std::memory_order_relaxed);
    Spawn(conn_ex, Refuse(std::move(socket), admit == 0 ? 503 : 429,
                          admit == 0 ? "server connection limit reached" : "too many connections from this address"));
  } else if (tls) {
    using TlsStream = beast::ssl_stream<beast::tcp_stream>;
    auto stream = std::make_shared<TlsStream>(beast::tcp_stream(std::move(socket)), *tls);
    st->close = [w = std::weak_ptr<TlsStream>(stream)] {
      if (auto p = w.lock()) {
        beast::error_code e;
        beast::get_lowest_layer(*p).socket().close(e);
      }
    };
    Spawn(conn_ex, Session(stream, st));
  } else {
    auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
    st->close = [w = std::weak_ptr<beast::tcp_stream>(stream)] {
      if (auto p = w.lock()) {
        beast::error_code e;
        p->socket().close(e);
      }
    };
    Spawn(conn_ex, Session(stream, st));
  }
  DoAccept();
}

asio::awaitable<void> HttpServer::Impl::DrainWatch() {
  auto deadline = std::chrono::steady_clock::now() + options.shutdown_grace;
  asio::steady_timer t(io);
  while (connections.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    t.expires_after(std::chrono::milliseconds(10));
    co_await t.async_wait(kTuple);
  }
  work.reset();
  io.stop();
}

HttpServer::HttpServer(ServerOptions options, Handler handler) {
  size_t threads = options.threads != 0 ? options.threads : std::max<size_t>(1, std::thread::hardware_concurrency());
  impl_ = std::make_unique<Impl>(threads);
  impl_->threads = threads;
  impl_->options = std::move(options);
  impl_->handler = std::move(handler);
}

HttpServer::~HttpServer() = default;

void HttpServer::SetObserver(Observer observer) { impl_->observer = std::move(observer); }
uint16_t HttpServer::port() const { return impl_->bound_port; }
boost::asio::io_context& HttpServer::io() { return impl_->io; }
size_t HttpServer::threads() const { return impl_->threads; }
bool HttpServer::draining() const { return impl_->draining.load(std::memory_order_acquire); }
size_t HttpServer::connections() const { return impl_->connections.load(std::memory_order_relaxed); }
uint64_t HttpServer::refused_connections() const { return impl_->refused.load(std::memory_order_relaxed); }

std::string HttpServer::NewRequestId() {
  static const uint32_t prefix = [] {
    std::random_device rd;
    return static_cast<uint32_t>(rd());
  }();
  static std::atomic<uint64_t> counter{0};
  uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "req_%08x%012llx", prefix, static_cast<unsigned long long>(n & 0xffffffffffffULL));
  return buf;
}

Status HttpServer::Listen() {
  Impl& s = *impl_;
  if (!s.options.tls_cert.empty()) {
    try {
      s.tls.emplace(asio::ssl::context::tls_server);
      s.tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
      s.tls->use_certificate_chain_file(s.options.tls_cert);
      s.tls->use_private_key_file(s.options.tls_key, asio::ssl::context::pem);
    } catch (const std::exception& e) {
      s.tls.reset();
      return InvalidArgumentError(std::string("tls: cannot load certificate or key: ") + e.what());
    }
  }
  beast::error_code ec;
  auto addr = asio::ip::make_address(s.options.host, ec);
  if (ec) return InvalidArgumentError("listen: not an IP address: " + s.options.host);
  tcp::endpoint ep(addr, s.options.port);
  s.accept_strand.emplace(asio::make_strand(s.io));
  s.acceptor.emplace(*s.accept_strand);
  s.acceptor->open(ep.protocol(), ec);
  if (!ec) s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(ep, ec);
  if (!ec) s.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return UnavailableError("listen: cannot bind " + s.options.host + ":" + std::to_string(s.options.port) + ": " +
                            ec.message());
  }
  s.bound_port = s.acceptor->local_endpoint().port();
  s.work.emplace(s.io.get_executor());
  s.accept_backoff.emplace(*s.accept_strand);
  asio::post(*s.accept_strand, [&s] { s.DoAccept(); });
  return OkStatus();
}

void HttpServer::Run() {
  Impl& s = *impl_;
  if (!s.work) s.work.emplace(s.io.get_executor());
  auto run = [&s] {
    while (true) {
      try {
        s.io.run();
        return;
      } catch (const std::exception& e) {
        std::fprintf(stderr, "{\"level\":\"error\",\"msg\":\"io handler threw\",\"what\":\"%s\"}\n", e.what());
      }
    }
  };
  std::vector<std::thread> extra;
  for (size_t i = 1; i < s.threads; ++i) extra.emplace_back(run);
  run();
  for (std::thread& t : extra) t.join();
}

void HttpServer::Shutdown() {
  Impl& s = *impl_;
  if (s.draining.exchange(true)) return;
  if (s.accept_strand) {
    asio::post(*s.accept_strand, [&s] {
      beast::error_code ignored;
      if (s.acceptor) s.acceptor->close(ignored);
    });
  }
  std::vector<std::shared_ptr<ConnState>> conns;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    for (auto& [id, c] : s.conns) conns.push_back(c);
  }
  for (auto& c : conns) {
    asio::post(c->executor, [c] {
      if (!c->busy && c->close) c->close();
    });
  }
  Spawn(s.io.get_executor(), s.DrainWatch());
}

}  // namespace vp::http
