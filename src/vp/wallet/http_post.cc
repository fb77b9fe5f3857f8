// HttpConnection over Boost.Beast. Synchronous calls run asynchronous operations on a
// private io_context until they complete, because Beast's tcp_stream enforces its
// deadlines (expires_after) only on asynchronous operations.
#include "vp/wallet/http_post.h"

#include <algorithm>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

namespace vp::wallet {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

constexpr size_t kHeaderLimit = 16 * 1024;
constexpr size_t kMaxRequestHeaders = 32;
constexpr size_t kMaxHeaderValue = 1024;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// RFC 3986 pchar / query characters, pct-encoding checked separately.
bool IsTargetChar(char c) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                       // unreserved
    case '!': case '$': case '&': case '\'': case '(': case ')':  // sub-delims
    case '*': case '+': case ',': case ';': case '=':
    case ':': case '@': case '/': case '?': case '%':
      return true;
    default:
      return false;
  }
}

// RFC 9110 token characters (header names).
bool IsTokenChar(char c) {
  if (IsAlpha(c) || IsDigit(c)) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
    case '-': case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

Status CheckHostName(std::string_view host, const std::string& ctx) {
  if (host.empty() || host.size() > 253) return InvalidArgumentError(ctx + ": bad host length");
  size_t label = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (c == '.') {
      if (label == 0) return InvalidArgumentError(ctx + ": empty label in host");
      label = 0;
      continue;
    }
    if (!IsAlpha(c) && !IsDigit(c) && c != '-') return InvalidArgumentError(ctx + ": invalid character in host");
    if (++label > 63) return InvalidArgumentError(ctx + ": host label longer than 63 characters");
  }
  if (host.back() == '.') return InvalidArgumentError(ctx + ": host ends with '.'");
  return OkStatus();
}

Status CheckHeaders(const HttpHeaders& headers) {
  if (headers.size() > kMaxRequestHeaders) return InvalidArgumentError("http: too many request headers");
  for (const auto& [name, value] : headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
      return InvalidArgumentError("http: invalid request header name");
    }
    const std::string lower = Lower(name);
    if (lower == "host" || lower == "content-length" || lower == "transfer-encoding" || lower == "connection") {
      return InvalidArgumentError("http: header " + name + " is set by the transport");
    }
    if (value.size() > kMaxHeaderValue ||
        !std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; })) {
      return InvalidArgumentError("http: header " + name + " has an invalid value");
    }
  }
  return OkStatus();
}

}  // namespace

namespace {

// a.b.c.d as a 32-bit value against prefix/len.
bool InV4(uint32_t a, uint32_t prefix, int len) {
  const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  return (a & mask) == (prefix & mask);
}

constexpr uint32_t V4(uint32_t a, uint32_t b, uint32_t c, uint32_t d) { return a << 24 | b << 16 | c << 8 | d; }

bool PublicV4(uint32_t a) {
  static constexpr std::pair<uint32_t, int> kBlocked[] = {
      {V4(0, 0, 0, 0), 8},       {V4(10, 0, 0, 0), 8},     {V4(100, 64, 0, 0), 10}, {V4(127, 0, 0, 0), 8},
      {V4(169, 254, 0, 0), 16},  {V4(172, 16, 0, 0), 12},  {V4(192, 0, 0, 0), 24},  {V4(192, 0, 2, 0), 24},
      {V4(192, 88, 99, 0), 24},  {V4(192, 168, 0, 0), 16}, {V4(198, 18, 0, 0), 15}, {V4(198, 51, 100, 0), 24},
      {V4(203, 0, 113, 0), 24},  {V4(224, 0, 0, 0), 4},    {V4(240, 0, 0, 0), 4},
  };
  for (const auto& [prefix, len] : kBlocked) {
    if (InV4(a, prefix, len)) return false;
  }
  return true;
}

bool PublicAddress(const asio::ip::address& address) {
  if (address.is_v4()) return PublicV4(address.to_v4().to_uint());
  const asio::ip::address_v6::bytes_type b = address.to_v6().to_bytes();
  auto v4_at = [&](size_t i) {
    return static_cast<uint32_t>(b[i]) << 24 | static_cast<uint32_t>(b[i + 1]) << 16 |
           static_cast<uint32_t>(b[i + 2]) << 8 | static_cast<uint32_t>(b[i + 3]);
  };
  bool zero10 = true;
  for (size_t i = 0; i < 10; ++i) zero10 = zero10 && b[i] == 0;
  // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible, deprecated; also :: and ::1).
  if (zero10 && ((b[10] == 0xff && b[11] == 0xff) || (b[10] == 0 && b[11] == 0))) return PublicV4(v4_at(12));
  // 64:ff9b::/96 (NAT64): the IPv4 address inside decides.
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) {
    bool zero = true;
    for (size_t i = 4; i < 12; ++i) zero = zero && b[i] == 0;
    if (zero) return PublicV4(v4_at(12));
  }
  if ((b[0] & 0xfe) == 0xfc) return false;                  // fc00::/7 unique local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;  // fe80::/10 link-local
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) return false;  // fec0::/10 site-local (deprecated)
  if (b[0] == 0xff) return false;                           // multicast
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // 2001:db8::/32 documentation
  return true;
}

}  // namespace

bool IsPublicAddress(std::string_view ip) {
  beast::error_code ec;
  const asio::ip::address a = asio::ip::make_address(std::string(ip), ec);
  return !ec && PublicAddress(a);
}

std::string SanitizeForLog(std::string_view s, size_t limit) {
  std::string out;
  out.reserve(std::min(s.size(), limit));
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (s.size() > limit) out += "...";
  return out;
}

StatusOr<HttpUrl> ParseHttpUrl(std::string_view url, std::string_view context) {
  const std::string ctx(context);
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return InvalidArgumentError(ctx + ": spaces, control and non-ASCII characters are not allowed");
    }
  }
  HttpUrl out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return InvalidArgumentError(ctx + ": scheme must be http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) return InvalidArgumentError(ctx + ": fragments are not allowed");
  const size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError(ctx + ": userinfo (user:password@) is not allowed");
  }
  std::string_view host;
  std::string_view port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError(ctx + ": unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return InvalidArgumentError(ctx + ": junk after IPv6 address");
      port = after.substr(1);
      if (port.empty()) return InvalidArgumentError(ctx + ": empty port");
    }
    boost::system::error_code ec;
    const asio::ip::address_v6 a = asio::ip::make_address_v6(std::string(host), ec);
    if (ec || host.find('%') != std::string_view::npos) return InvalidArgumentError(ctx + ": invalid IPv6 address");
    (void)a;
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return InvalidArgumentError(ctx + ": empty port");
    }
    RETURN_IF_ERROR(CheckHostName(host, ctx));
  }
  if (host.empty()) return InvalidArgumentError(ctx + ": empty host");
  out.host = std::string(host);
  if (port.empty()) {
    out.port = out.tls ? 443 : 80;
  } else {
    if (port.size() > 5 || port[0] == '0') return InvalidArgumentError(ctx + ": invalid port");
    uint32_t p = 0;
    for (char c : port) {
      if (!IsDigit(c)) return InvalidArgumentError(ctx + ": invalid port");
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) return InvalidArgumentError(ctx + ": port out of range");
    out.port = static_cast<uint16_t>(p);
  }
  for (size_t i = 0; i < target.size(); ++i) {
    if (!IsTargetChar(target[i])) return InvalidArgumentError(ctx + ": invalid character in path");
    if (target[i] == '%' &&
        (i + 2 >= target.size() || !IsHexDigit(target[i + 1]) || !IsHexDigit(target[i + 2]))) {
      return InvalidArgumentError(ctx + ": invalid percent-encoding in path");
    }
  }
  out.target = target.empty() ? "/" : (target[0] == '?' ? "/" + std::string(target) : std::string(target));
  return out;
}

// ---------------------------------------------------------------------------------------

struct HttpConnection::Impl {
  HttpUrl url;
  HttpOptions options;
  std::string host_port;  // for messages and the Host header

  mutable std::mutex mu;
  asio::io_context io;
  std::optional<asio::ssl::context> tls_context;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool connected = false;
  uint64_t connections_opened = 0;
  // The whole-call deadline of the Post in progress (options.total_timeout), if any.
  std::optional<SteadyClock::time_point> deadline;

  beast::tcp_stream& Lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

  // Whether the step armed last got less than its own limit because of the deadline.
  bool budget_from_deadline = false;

  // The time a step may take: its own limit, or what is left of the call's deadline.
  milliseconds Budget(milliseconds step) {
    budget_from_deadline = false;
    if (!deadline) return step;
    const auto left = std::chrono::duration_cast<milliseconds>(*deadline - SteadyClock::now());
    if (left >= step) return step;
    budget_from_deadline = true;
    return std::max(left, milliseconds(1));
  }

  // Runs an asynchronous operation started by `start(handler)` to completion.
  template <typename Start>
  beast::error_code Run(Start&& start) {
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    io.restart();
    io.run();
    return result;
  }

  void Close() {
    if (plain || tls) {
      beast::error_code ignored;
      Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
      Lowest().socket().close(ignored);
    }
    tls.reset();
    plain.reset();
    buffer.clear();
    connected = false;
    // Drain handlers a close may have queued, so the next Run starts clean.
    io.restart();
    io.run();
  }

  const std::string& Where() const { return host_port; }

  Status Transport(std::string_view what, std::string_view step, const beast::error_code& ec) {
    if (ec == beast::error::timeout || ec == asio::error::timed_out) {
      const milliseconds step_limit = step == "connect" || step == "tls handshake" || step == "resolve"
                                          ? options.connect_timeout
                                          : options.request_timeout;
      if (budget_from_deadline) {
        return UnavailableError(std::string(what) + ": " + Where() + ": " + std::string(step) +
                                " timed out (total limit " + std::to_string(options.total_timeout.count()) +
                                " ms)");
      }
      return UnavailableError(std::string(what) + ": " + Where() + ": " + std::string(step) + " timed out after " +
                              std::to_string(step_limit.count()) + " ms");
    }
    return UnavailableError(std::string(what) + ": " + Where() + ": " + std::string(step) + ": " + ec.message());
  }

  Status Connect(std::string_view what) {
    Close();
    tcp::resolver resolver(io);
    asio::steady_timer timer(io);
    tcp::resolver::results_type endpoints;
    beast::error_code resolve_ec = asio::error::would_block;
    bool timed_out = false;
    timer.expires_after(Budget(options.connect_timeout));
    timer.async_wait([&](beast::error_code ec) {
      if (!ec) {
        timed_out = true;
        resolver.cancel();
      }
    });
    resolver.async_resolve(url.host, std::to_string(url.port), tcp::resolver::numeric_service,
                           [&](beast::error_code ec, tcp::resolver::results_type results) {
                             resolve_ec = ec;
                             endpoints = std::move(results);
                             timer.cancel();
                           });
    io.restart();
    io.run();
    if (timed_out) return Transport(what, "resolve", beast::error::timeout);
    if (resolve_ec) return Transport(what, "resolve", resolve_ec);
    std::vector<tcp::endpoint> allowed;
    std::string refused;
    for (const auto& entry : endpoints) {
      if (options.allow_private_addresses || PublicAddress(entry.endpoint().address())) {
        allowed.push_back(entry.endpoint());
      } else if (refused.empty()) {
        refused = entry.endpoint().address().to_string();
      }
    }
    if (allowed.empty()) {
      return PermissionDeniedError(std::string(what) + ": " + Where() + ": the host resolves only to addresses that are "
                                   "not public (" + refused + "); private, loopback and link-local addresses are refused");
    }

    if (url.tls) {
      tls.emplace(io, *tls_context);
    } else {
      plain.emplace(io);
    }
    ++connections_opened;
    beast::tcp_stream& stream = Lowest();
    stream.expires_after(Budget(options.connect_timeout));
    beast::error_code ec = Run([&](auto handler) { stream.async_connect(allowed, std::move(handler)); });
    if (ec) {
      Close();
      return Transport(what, "connect", ec);
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    if (tls) {
      // SNI (never for an IP literal, RFC 6066 section 3), and the certificate must name
      // the host or its IP address. SSL_set_tlsext_host_name is a macro with a C cast.
      beast::error_code not_ip;
      asio::ip::make_address(url.host, not_ip);
      if (not_ip && SSL_ctrl(tls->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                             const_cast<char*>(url.host.c_str())) != 1) {
        Close();
        return UnavailableError(std::string(what) + ": " + Where() + ": cannot set TLS server name");
      }
      tls->set_verify_mode(asio::ssl::verify_peer, ec);
      if (!ec) tls->set_verify_callback(asio::ssl::host_name_verification(url.host), ec);
      if (ec) {
        Close();
        return Transport(what, "tls setup", ec);
      }
      stream.expires_after(Budget(options.connect_timeout));
      ec = Run([&](auto handler) { tls->async_handshake(asio::ssl::stream_base::client, std::move(handler)); });
      if (ec) {
        Close();
        return Transport(what, "tls handshake", ec);
      }
    }
    stream.expires_never();
    connected = true;
    return OkStatus();
  }

  // One HTTP exchange on the open connection. *maybe_stale is set when the failure
  // happened before any byte of an answer arrived (a kept-alive connection the server
  // closed meanwhile): then the request can be sent again on a new connection.
  StatusOr<HttpResponse> Exchange(std::string_view what, const HttpHeaders& headers, std::string_view body,
                                  bool* maybe_stale) {
    *maybe_stale = false;
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, host_port);
    req.set(http::field::user_agent, "vaultproof");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    for (const auto& [name, value] : headers) req.set(name, value);
    req.keep_alive(options.keep_alive);
    req.body() = std::string(body);
    req.prepare_payload();

    beast::tcp_stream& stream = Lowest();
    stream.expires_after(Budget(options.request_timeout));
    beast::error_code ec = Run([&](auto handler) {
      if (tls) {
        http::async_write(*tls, req, std::move(handler));
      } else {
        http::async_write(*plain, req, std::move(handler));
      }
    });
    if (ec) {
      *maybe_stale = ec != beast::error::timeout;
      Close();
      return Transport(what, "send", ec);
    }

    http::response_parser<http::string_body> parser;
    parser.body_limit(options.max_response_bytes);
    parser.header_limit(kHeaderLimit);
    ec = Run([&](auto handler) {
      if (tls) {
        http::async_read(*tls, buffer, parser, std::move(handler));
      } else {
        http::async_read(*plain, buffer, parser, std::move(handler));
      }
    });
    if (ec == http::error::body_limit && options.truncate_body && parser.is_header_done()) {
      // The status is known; the rest of the body is not wanted. The connection is left
      // mid-body, so it cannot be reused.
      HttpResponse out;
      out.status = parser.get().result_int();
      out.reason = std::string(parser.get().reason());
      out.body = std::move(parser.get().body());
      if (out.body.size() > options.max_response_bytes) out.body.resize(options.max_response_bytes);
      out.body_truncated = true;
      Close();
      return out;
    }
    if (ec) {
      *maybe_stale = !parser.got_some() && ec != beast::error::timeout;
      Close();
      if (ec == http::error::body_limit) {
        return ResourceExhaustedError(std::string(what) + ": " + Where() + ": response body exceeds " +
                                      std::to_string(options.max_response_bytes) + " bytes");
      }
      if (ec == http::error::header_limit) {
        return ResourceExhaustedError(std::string(what) + ": " + Where() + ": response headers exceed " +
                                      std::to_string(kHeaderLimit) + " bytes");
      }
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == http::error::partial_message) {
        return UnavailableError(std::string(what) + ": " + Where() +
                                (parser.got_some() ? ": connection closed in the middle of the response"
                                                   : ": connection closed before a response"));
      }
      return Transport(what, "receive", ec);
    }
    stream.expires_never();
    http::response<http::string_body> res = parser.release();
    if (!options.keep_alive || !res.keep_alive()) Close();
    HttpResponse out;
    out.status = res.result_int();
    out.reason = std::string(res.reason());
    out.body = std::move(res.body());
    return out;
  }
};

HttpConnection::HttpConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpConnection::~HttpConnection() {
  if (impl_) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    try {
      impl_->Close();
    } catch (...) {  // a destructor must not throw; the socket is gone with the Impl anyway
    }
  }
}

StatusOr<std::unique_ptr<HttpConnection>> HttpConnection::Create(std::string_view url, HttpOptions options,
                                                                  std::string_view context) {
  ASSIGN_OR_RETURN(HttpUrl parsed, ParseHttpUrl(url, context));
  const std::string ctx(context);
  if (options.max_response_bytes == 0) return InvalidArgumentError(ctx + ": max_response_bytes must be positive");
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0 ||
      options.total_timeout.count() < 0) {
    return InvalidArgumentError(ctx + ": timeouts must be positive");
  }
  auto impl = std::make_unique<Impl>();
  const bool default_port = parsed.port == (parsed.tls ? 443 : 80);
  const bool ipv6 = parsed.host.find(':') != std::string::npos;
  impl->host_port = (ipv6 ? "[" + parsed.host + "]" : parsed.host) +
                    (default_port ? "" : ":" + std::to_string(parsed.port));
  if (parsed.tls) {
    try {
      impl->tls_context.emplace(asio::ssl::context::tls_client);
      impl->tls_context->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                                     asio::ssl::context::no_tlsv1_1);
      beast::error_code ec;
      if (options.ca_file.empty()) {
        impl->tls_context->set_default_verify_paths(ec);
      } else {
        impl->tls_context->load_verify_file(options.ca_file, ec);
      }
      if (ec) return InvalidArgumentError(ctx + ": cannot load CA certificates: " + ec.message());
    } catch (const std::exception& e) {
      return InternalError(ctx + ": TLS context: " + e.what());
    }
  }
  impl->url = std::move(parsed);
  impl->options = std::move(options);
  return std::unique_ptr<HttpConnection>(new HttpConnection(std::move(impl)));
}

const HttpUrl& HttpConnection::url() const { return impl_->url; }
const std::string& HttpConnection::host_port() const { return impl_->host_port; }

uint64_t HttpConnection::connections_opened() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connections_opened;
}

StatusOr<HttpResponse> HttpConnection::Post(std::string_view what, const HttpHeaders& headers,
                                            std::string_view body) {
  RETURN_IF_ERROR(CheckHeaders(headers));
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& s = *impl_;
  s.deadline.reset();
  if (s.options.total_timeout.count() > 0) s.deadline = SteadyClock::now() + s.options.total_timeout;
  // Asio reports errors through error codes here; what could still throw (allocation,
  // SSL_new) stops at this boundary.
  try {
    for (int attempt = 0;; ++attempt) {
      const bool reused = s.connected;
      if (!s.connected) RETURN_IF_ERROR(s.Connect(what));
      bool maybe_stale = false;
      StatusOr<HttpResponse> r = s.Exchange(what, headers, body, &maybe_stale);
      if (r.ok()) return r;
      if (attempt == 0 && reused && maybe_stale) continue;
      return r;
    }
  } catch (const std::exception& e) {
    s.Close();
    return UnavailableError(std::string(what) + ": " + s.Where() + ": " + e.what());
  }
}

StatusOr<HttpResponse> HttpPost(std::string_view url, const HttpHeaders& headers, std::string_view body,
                                const HttpOptions& options) {
  HttpOptions one_shot = options;
  one_shot.keep_alive = false;
  ASSIGN_OR_RETURN(std::unique_ptr<HttpConnection> conn, HttpConnection::Create(url, std::move(one_shot)));
  return conn->Post("POST", headers, body);
}

}  // namespace vp::wallet
