// HttpPost: the outbound HTTP/1.1 (and HTTPS) POST transport shared by the JSON-RPC client
// (rpc.h) and webhook deliveries (webhooks.h). It talks to hosts we do not trust: the URL
// is parsed strictly, redirects are never followed, headers and bodies are size-capped,
// every step has a deadline, and messages name host:port but never the URL's path or query
// (which often carry an API key or a token). Nothing here throws.
//
//   ASSIGN_OR_RETURN(HttpResponse r, HttpPost("https://hooks.example.com/in",
//                                             {{"VP-Event", "transaction.signed"}}, body, {}));
//   if (r.status >= 200 && r.status <= 299) { ... }
//
// Any HTTP status is a response (OK); transport failures (resolve, connect, TLS, timeout,
// connection closed) are kUnavailable; a body over the cap is kResourceExhausted unless
// the options ask for it to be truncated; malformed URLs and options are kInvalidArgument.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vp/base/status.h"

namespace vp::wallet {

// A parsed URL: http://host[:port][/path][?query] or https://...
struct HttpUrl {
  bool tls = false;
  std::string host;    // a DNS name, an IPv4 address, or an IPv6 address without brackets
  uint16_t port = 0;   // 80 / 443 when absent
  std::string target;  // path and query, "/" when absent
};

// Strict: the scheme is lower-case "http" or "https"; the host is a DNS name (letters,
// digits, '-', '.'), an IPv4 address or a bracketed IPv6 address; the port is 1..65535
// without leading zeros; path and query hold only RFC 3986 characters. Userinfo
// ("user:pass@"), fragments, spaces, control and non-ASCII characters are kInvalidArgument
// with a message starting "<context>: ".
StatusOr<HttpUrl> ParseHttpUrl(std::string_view url, std::string_view context = "url");

struct HttpOptions {
  std::chrono::milliseconds connect_timeout{5000};   // name resolution, TCP connect, TLS handshake
  std::chrono::milliseconds request_timeout{30000};  // writing one request and reading its answer
  // Bound on one Post from its start to the end of the answer, connecting included
  // (0: none, only the two limits above).
  std::chrono::milliseconds total_timeout{0};
  size_t max_response_bytes = 4 * 1024 * 1024;       // response body cap
  // false: a body over the cap is kResourceExhausted. true: the status is returned with the
  // body cut at the cap (possibly empty) and body_truncated set; the connection is closed.
  bool truncate_body = false;
  // https only: a PEM file of the CAs to trust instead of the system's (tests, private CAs).
  std::string ca_file;
  // false: "Connection: close", and the connection is closed after each answer.
  bool keep_alive = true;
  // false: the connection is only made to public unicast addresses; a host that resolves
  // only to loopback, private, link-local (169.254.0.0/16: cloud metadata), shared, multicast
  // or reserved addresses (IsPublicAddress) is refused with kPermissionDenied. Checked on the
  // addresses actually connected to, so DNS answers cannot smuggle an internal address in.
  bool allow_private_addresses = true;
};

// True for a public unicast address: not unspecified, loopback, RFC 1918 private, CGNAT
// 100.64/10, link-local, IETF protocol 192.0.0/24, benchmarking 198.18/15, documentation,
// multicast, reserved/broadcast, nor IPv6 ULA fc00::/7, link-local fe80::/10, multicast, and
// IPv4-mapped/NAT64 forms of the IPv4 ones. The text is an IPv4 or IPv6 literal; anything
// else is false.
bool IsPublicAddress(std::string_view ip);

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  unsigned status = 0;
  std::string reason;  // as sent: show it only through SanitizeForLog
  std::string body;
  bool body_truncated = false;
};

// Text from the network made safe for a log line or an error message: control and
// non-ASCII bytes become '?', text longer than `limit` is cut and ends with "...".
std::string SanitizeForLog(std::string_view s, size_t limit);

// One keep-alive connection to one URL, opened lazily and reused; calls are serialized on
// it (thread-safe; use several for parallel requests). A reused connection that turns out
// to have been closed by the server is reopened once, only when no byte of the answer was
// received.
class HttpConnection {
 public:
  // Parses the URL (ParseHttpUrl with `context`); for https the CA file, if set, must load
  // (kInvalidArgument otherwise). Options out of range are kInvalidArgument.
  static StatusOr<std::unique_ptr<HttpConnection>> Create(std::string_view url, HttpOptions options,
                                                          std::string_view context = "url");
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // POSTs `body` to the URL's target. `what` starts every error message ("eth_chainId:
  // 127.0.0.1:8545: connect: Connection refused"). Header names and values must be
  // printable ASCII without CR/LF (kInvalidArgument); Host, Content-Length and
  // User-Agent are set here; Content-Type defaults to application/json.
  StatusOr<HttpResponse> Post(std::string_view what, const HttpHeaders& headers, std::string_view body);

  const HttpUrl& url() const;
  // "host:port" as the Host header carries it (the port only when not the default).
  const std::string& host_port() const;
  // Connections opened so far (the first one included): lets tests see keep-alive reuse.
  uint64_t connections_opened() const;

 private:
  struct Impl;
  explicit HttpConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One POST on a fresh connection, closed afterwards (keep_alive is ignored). Errors as
// HttpConnection; messages start with "POST: host:port".
StatusOr<HttpResponse> HttpPost(std::string_view url, const HttpHeaders& headers, std::string_view body,
                                const HttpOptions& options);

}  // namespace vp::wallet
