// RpcClient over Boost.Beast. Synchronous calls run asynchronous operations on a private
// io_context until they complete, because Beast's tcp_stream enforces its deadlines
// (expires_after) only on asynchronous operations.
#include "vp/wallet/rpc.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include "vp/base/json.h"

namespace vp::wallet {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using nlohmann::json;
using eth::U256;

constexpr size_t kMaxNodeMessage = 512;
constexpr size_t kMaxErrorData = 256;
constexpr size_t kHeaderLimit = 16 * 1024;
constexpr std::string_view kNodeErrorTag = ": node error ";

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsLowerHexDigit(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f'); }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Text from the network made safe for a log line: control and non-ASCII bytes become '?',
// long text is cut.
std::string Sanitize(std::string_view s, size_t limit) {
  std::string out;
  out.reserve(std::min(s.size(), limit));
  for (size_t i = 0; i < s.size() && i < limit; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  if (s.size() > limit) out += "...";
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

Status CheckHostName(std::string_view host) {
  if (host.empty() || host.size() > 253) return InvalidArgumentError("rpc url: bad host length");
  size_t label = 0;
  for (size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    if (c == '.') {
      if (label == 0) return InvalidArgumentError("rpc url: empty label in host");
      label = 0;
      continue;
    }
    if (!IsAlpha(c) && !IsDigit(c) && c != '-') {
      return InvalidArgumentError("rpc url: invalid character in host");
    }
    if (++label > 63) return InvalidArgumentError("rpc url: host label longer than 63 characters");
  }
  if (host.back() == '.') return InvalidArgumentError("rpc url: host ends with '.'");
  return OkStatus();
}

// ---------------------------------------------------------------------------------------
// Decoding of JSON-RPC values.

std::string What(std::string_view method, std::string_view field) {
  return std::string(method) + ": " + std::string(field);
}

Status NotA(std::string_view what, std::string_view kind) {
  return InvalidArgumentError(std::string(what) + " is not " + std::string(kind));
}

// The hex digits of a QUANTITY (execution-apis base-types "uint": ^0x(0|[1-9a-f][0-9a-f]*)$),
// or nullopt.
std::optional<std::string_view> QuantityDigits(const json& value) {
  if (!value.is_string()) return std::nullopt;
  const std::string& s = value.get_ref<const std::string&>();
  if (s.size() < 3 || s[0] != '0' || s[1] != 'x') return std::nullopt;
  const std::string_view digits = std::string_view(s).substr(2);
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  for (char c : digits) {
    if (!IsLowerHexDigit(c)) return std::nullopt;
  }
  return digits;
}

StatusOr<std::optional<eth::Address>> DecodeOptionalAddress(const json& obj, std::string_view key,
                                                            std::string_view what) {
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<eth::Address>();
  if (!it->is_string()) return NotA(what, "an address");
  const std::string& s = it->get_ref<const std::string&>();
  if (s.size() != 42 || s[0] != '0' || s[1] != 'x') return NotA(what, "an address");
  StatusOr<eth::Address> a = eth::Address::Parse(s);
  if (!a.ok()) return InvalidArgumentError(std::string(what) + " is not an address: " + a.status().message());
  return std::optional<eth::Address>(*a);
}

const json& Member(const json& obj, std::string_view key) {
  static const json kNull;
  const auto it = obj.find(key);
  return it == obj.end() ? kNull : *it;
}

StatusOr<std::optional<U256>> DecodeOptionalQuantity(const json& obj, std::string_view key, std::string_view what) {
  const json& v = Member(obj, key);
  if (v.is_null()) return std::optional<U256>();
  ASSIGN_OR_RETURN(U256 q, DecodeQuantity(v, what));
  return std::optional<U256>(q);
}

// ---------------------------------------------------------------------------------------
// Node errors.

StatusCode NodeErrorCode(int64_t code, RpcErrorKind kind) {
  switch (kind) {
    case RpcErrorKind::kLimitExceeded:
      return StatusCode::kUnavailable;
    case RpcErrorKind::kOther:
      if (code == -32700 || code == -32600 || code == -32602) return StatusCode::kInvalidArgument;
      if (code == -32603) return StatusCode::kUnavailable;
      return StatusCode::kFailedPrecondition;
    default:
      return StatusCode::kFailedPrecondition;
  }
}

std::optional<RpcErrorKind> KindFromName(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(RpcErrorKind::kLimitExceeded); ++i) {
    const auto kind = static_cast<RpcErrorKind>(i);
    if (RpcErrorKindName(kind) == name) return kind;
  }
  return std::nullopt;
}

// The JSON-RPC error object of a response as a Status:
//   "<method>: node error <code> (<kind>): <message>"
// GetRpcError parses this back; the method name cannot contain the tag (Call checks it).
Status NodeErrorStatus(std::string_view method, const json& error) {
  if (!error.is_object()) return InvalidArgumentError(std::string(method) + ": response error is not an object");
  const json& code_json = Member(error, "code");
  const json& message_json = Member(error, "message");
  if (!code_json.is_number_integer()) {
    return InvalidArgumentError(std::string(method) + ": response error.code is not an integer");
  }
  if (!message_json.is_string()) {
    return InvalidArgumentError(std::string(method) + ": response error.message is not a string");
  }
  // is_number_integer covers unsigned values too; anything beyond int64 is not a code.
  if (code_json.is_number_unsigned() && code_json.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
    return InvalidArgumentError(std::string(method) + ": response error.code is out of range");
  }
  const int64_t code = code_json.get<int64_t>();
  std::string message = Sanitize(message_json.get_ref<const std::string&>(), kMaxNodeMessage);
  const json& data = Member(error, "data");
  if (data.is_string() && !data.get_ref<const std::string&>().empty()) {
    message += " (data: " + Sanitize(data.get_ref<const std::string&>(), kMaxErrorData) + ")";
  }
  const RpcErrorKind kind = ClassifyRpcError(code, message_json.get_ref<const std::string&>());
  return Status(NodeErrorCode(code, kind), std::string(method) + std::string(kNodeErrorTag) +
                                               std::to_string(code) + " (" +
                                               std::string(RpcErrorKindName(kind)) + "): " + message);
}

}  // namespace

// ---------------------------------------------------------------------------------------

StatusOr<RpcUrl> ParseRpcUrl(std::string_view url) {
  for (char c : url) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return InvalidArgumentError("rpc url: spaces, control and non-ASCII characters are not allowed");
    }
  }
  RpcUrl out;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    out.tls = true;
    rest = url.substr(8);
  } else {
    return InvalidArgumentError("rpc url: scheme must be http:// or https://");
  }
  if (rest.find('#') != std::string_view::npos) return InvalidArgumentError("rpc url: fragments are not allowed");
  const size_t authority_end = rest.find_first_of("/?");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError("rpc url: userinfo (user:password@) is not allowed");
  }
  std::string_view host;
  std::string_view port;
  if (authority.starts_with("[")) {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("rpc url: unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return InvalidArgumentError("rpc url: junk after IPv6 address");
      port = after.substr(1);
      if (port.empty()) return InvalidArgumentError("rpc url: empty port");
    }
    boost::system::error_code ec;
    const asio::ip::address_v6 a = asio::ip::make_address_v6(std::string(host), ec);
    if (ec || host.find('%') != std::string_view::npos) return InvalidArgumentError("rpc url: invalid IPv6 address");
    (void)a;
  } else {
    const size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return InvalidArgumentError("rpc url: empty port");
    }
    RETURN_IF_ERROR(CheckHostName(host));
  }
  if (host.empty()) return InvalidArgumentError("rpc url: empty host");
  out.host = std::string(host);
  if (port.empty()) {
    out.port = out.tls ? 443 : 80;
  } else {
    if (port.size() > 5 || port[0] == '0') return InvalidArgumentError("rpc url: invalid port");
    uint32_t p = 0;
    for (char c : port) {
      if (!IsDigit(c)) return InvalidArgumentError("rpc url: invalid port");
      p = p * 10 + static_cast<uint32_t>(c - '0');
    }
    if (p == 0 || p > 65535) return InvalidArgumentError("rpc url: port out of range");
    out.port = static_cast<uint16_t>(p);
  }
  for (size_t i = 0; i < target.size(); ++i) {
    if (!IsTargetChar(target[i])) return InvalidArgumentError("rpc url: invalid character in path");
    if (target[i] == '%' &&
        (i + 2 >= target.size() || !IsHexDigit(target[i + 1]) || !IsHexDigit(target[i + 2]))) {
      return InvalidArgumentError("rpc url: invalid percent-encoding in path");
    }
  }
  out.target = target.empty() ? "/" : (target[0] == '?' ? "/" + std::string(target) : std::string(target));
  return out;
}

std::string_view BlockTagName(BlockTag tag) {
  switch (tag) {
    case BlockTag::kLatest: return "latest";
    case BlockTag::kPending: return "pending";
    case BlockTag::kSafe: return "safe";
    case BlockTag::kFinalized: return "finalized";
    case BlockTag::kEarliest: return "earliest";
  }
  return "latest";
}

std::string_view RpcErrorKindName(RpcErrorKind kind) {
  switch (kind) {
    case RpcErrorKind::kOther: return "other";
    case RpcErrorKind::kNonceTooLow: return "nonce_too_low";
    case RpcErrorKind::kNonceTooHigh: return "nonce_too_high";
    case RpcErrorKind::kAlreadyKnown: return "already_known";
    case RpcErrorKind::kReplacementUnderpriced: return "replacement_underpriced";
    case RpcErrorKind::kInsufficientFunds: return "insufficient_funds";
    case RpcErrorKind::kFeeTooLow: return "fee_too_low";
    case RpcErrorKind::kExecutionReverted: return "execution_reverted";
    case RpcErrorKind::kMethodNotFound: return "method_not_found";
    case RpcErrorKind::kLimitExceeded: return "limit_exceeded";
  }
  return "other";
}

RpcErrorKind ClassifyRpcError(int64_t code, std::string_view message) {
  const std::string m = Lower(message);
  auto has = [&](std::string_view needle) { return m.find(needle) != std::string::npos; };
  // Order matters: "replacement transaction underpriced" before "underpriced", and the
  // nonce errors before anything about fees (Hardhat's nonce messages mention neither).
  if (has("nonce too low") || has("oldnonce") || has("nonce_too_low")) return RpcErrorKind::kNonceTooLow;
  if (has("nonce too high") || has("nonce_too_high") || has("noncegap")) return RpcErrorKind::kNonceTooHigh;
  if (has("already known") || has("known transaction") || has("alreadyknown") ||
      has("already imported")) {
    return RpcErrorKind::kAlreadyKnown;
  }
  if (has("replacement transaction underpriced") || has("replacement_underpriced") ||
      has("replacement fee too low")) {
    return RpcErrorKind::kReplacementUnderpriced;
  }
  if (has("insufficient funds") || has("doesn't have enough funds") || has("insufficientfunds") ||
      has("upfront cost exceeds")) {
    return RpcErrorKind::kInsufficientFunds;
  }
  if (has("less than block base fee") || has("is too low for the next block") ||
      has("transaction underpriced") || has("feetoolow") || has("gas price too low") ||
      has("max fee per gas less than")) {
    return RpcErrorKind::kFeeTooLow;
  }
  if (code == 3 || has("execution reverted") || has("transaction reverted") || has("reverted with")) {
    return RpcErrorKind::kExecutionReverted;
  }
  // -32004 is EIP-1474's "method not supported" (Hardhat uses it); -32601 JSON-RPC 2.0's.
  if (code == -32601 || code == -32004) return RpcErrorKind::kMethodNotFound;
  if (code == -32005 || has("rate limit") || has("too many requests")) return RpcErrorKind::kLimitExceeded;
  return RpcErrorKind::kOther;
}

std::optional<RpcError> GetRpcError(const Status& status) {
  if (status.ok()) return std::nullopt;
  const std::string& m = status.message();
  const size_t tag = m.find(kNodeErrorTag);
  if (tag == std::string::npos) return std::nullopt;
  // The method before the tag is one of ours: letters, digits and '_' only.
  for (size_t i = 0; i < tag; ++i) {
    if (!IsAlpha(m[i]) && !IsDigit(m[i]) && m[i] != '_') return std::nullopt;
  }
  size_t i = tag + kNodeErrorTag.size();
  const size_t code_start = i;
  if (i < m.size() && m[i] == '-') ++i;
  while (i < m.size() && IsDigit(m[i])) ++i;
  if (i == code_start || i - code_start > 20 || m.compare(i, 2, " (") != 0) return std::nullopt;
  RpcError out;
  try {
    out.code = std::stoll(m.substr(code_start, i - code_start));
  } catch (...) {
    return std::nullopt;
  }
  const size_t kind_start = i + 2;
  const size_t kind_end = m.find("): ", kind_start);
  if (kind_end == std::string::npos) return std::nullopt;
  const std::optional<RpcErrorKind> kind = KindFromName(std::string_view(m).substr(kind_start, kind_end - kind_start));
  if (!kind) return std::nullopt;
  out.kind = *kind;
  out.message = m.substr(kind_end + 3);
  return out;
}

bool IsNonceTooLow(const Status& status) {
  const auto e = GetRpcError(status);
  return e && e->kind == RpcErrorKind::kNonceTooLow;
}
bool IsNonceTooHigh(const Status& status) {
  const auto e = GetRpcError(status);
  return e && e->kind == RpcErrorKind::kNonceTooHigh;
}
bool IsAlreadyKnown(const Status& status) {
  const auto e = GetRpcError(status);
  return e && e->kind == RpcErrorKind::kAlreadyKnown;
}

CallRequest CallRequest::FromTransaction(const eth::Transaction& tx, const eth::Address& from) {
  CallRequest r;
  r.from = from;
  r.to = tx.to;
  if (!tx.gas_limit.IsZero()) r.gas = tx.gas_limit;
  if (tx.type == eth::TxType::kDynamicFee) {
    r.max_fee_per_gas = tx.max_fee_per_gas;
    r.max_priority_fee_per_gas = tx.max_priority_fee_per_gas;
  } else {
    r.gas_price = tx.gas_price;
  }
  r.value = tx.value;
  r.data = tx.data;
  return r;
}

StatusOr<U256> DecodeQuantity(const json& value, std::string_view what) {
  const std::optional<std::string_view> digits = QuantityDigits(value);
  if (!digits) return NotA(what, "a quantity");
  if (digits->size() > 64) return InvalidArgumentError(std::string(what) + " is a quantity wider than 256 bits");
  StatusOr<U256> v = U256::ParseHex(*digits);
  if (!v.ok()) return NotA(what, "a quantity");
  return *v;
}

StatusOr<uint64_t> DecodeQuantity64(const json& value, std::string_view what) {
  ASSIGN_OR_RETURN(U256 v, DecodeQuantity(value, what));
  if (!v.FitsUint64()) return InvalidArgumentError(std::string(what) + " does not fit 64 bits");
  return v.Low64();
}

StatusOr<Bytes> DecodeData(const json& value, std::string_view what) {
  if (!value.is_string()) return NotA(what, "hex data");
  const std::string& s = value.get_ref<const std::string&>();
  if (s.size() < 2 || s[0] != '0' || s[1] != 'x') return NotA(what, "hex data");
  StatusOr<Bytes> b = HexDecode(s, HexPrefix::kRequired);
  if (!b.ok()) return NotA(what, "hex data");
  return std::move(*b);
}

StatusOr<crypto::Hash256> DecodeHash(const json& value, std::string_view what) {
  ASSIGN_OR_RETURN(Bytes b, DecodeData(value, what));
  if (b.size() != 32) return NotA(what, "a 32-byte hash");
  crypto::Hash256 h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

// ---------------------------------------------------------------------------------------
// Transport.

struct RpcClient::Impl {
  RpcUrl url;
  RpcOptions options;
  std::string host_port;  // for messages and the Host header

  mutable std::mutex mu;
  asio::io_context io;
  std::optional<asio::ssl::context> tls_context;
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool connected = false;
  uint64_t next_id = 1;
  uint64_t connections_opened = 0;

  beast::tcp_stream& Lowest() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

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

  std::string Where() const { return host_port; }

  Status Transport(std::string_view method, std::string_view step, const beast::error_code& ec) {
    if (ec == beast::error::timeout || ec == asio::error::timed_out) {
      const auto ms = step == "connect" || step == "tls handshake" || step == "resolve"
                          ? options.connect_timeout.count()
                          : options.request_timeout.count();
      return UnavailableError(std::string(method) + ": " + Where() + ": " + std::string(step) +
                              " timed out after " + std::to_string(ms) + " ms");
    }
    return UnavailableError(std::string(method) + ": " + Where() + ": " + std::string(step) + ": " +
                            ec.message());
  }

  Status Connect(std::string_view method) {
    Close();
    tcp::resolver resolver(io);
    asio::steady_timer timer(io);
    tcp::resolver::results_type endpoints;
    beast::error_code resolve_ec = asio::error::would_block;
    bool timed_out = false;
    timer.expires_after(options.connect_timeout);
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
    if (timed_out) return Transport(method, "resolve", beast::error::timeout);
    if (resolve_ec) return Transport(method, "resolve", resolve_ec);

    if (url.tls) {
      tls.emplace(io, *tls_context);
    } else {
      plain.emplace(io);
    }
    ++connections_opened;
    beast::tcp_stream& stream = Lowest();
    stream.expires_after(options.connect_timeout);
    beast::error_code ec = Run([&](auto handler) { stream.async_connect(endpoints, std::move(handler)); });
    if (ec) {
      Close();
      return Transport(method, "connect", ec);
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
        return UnavailableError(std::string(method) + ": " + Where() + ": cannot set TLS server name");
      }
      tls->set_verify_mode(asio::ssl::verify_peer, ec);
      if (!ec) tls->set_verify_callback(asio::ssl::host_name_verification(url.host), ec);
      if (ec) {
        Close();
        return Transport(method, "tls setup", ec);
      }
      stream.expires_after(options.connect_timeout);
      ec = Run([&](auto handler) { tls->async_handshake(asio::ssl::stream_base::client, std::move(handler)); });
      if (ec) {
        Close();
        return Transport(method, "tls handshake", ec);
      }
    }
    stream.expires_never();
    connected = true;
    return OkStatus();
  }

  // One HTTP exchange on the open connection. *maybe_stale is set when the failure
  // happened before any byte of an answer arrived (a kept-alive connection the server
  // closed meanwhile): then the request can be sent again on a new connection.
  Status Exchange(std::string_view method, const std::string& body, std::string* response, bool* maybe_stale) {
    *maybe_stale = false;
    http::request<http::string_body> req{http::verb::post, url.target, 11};
    req.set(http::field::host, host_port);
    req.set(http::field::user_agent, "vaultproof");
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();

    beast::tcp_stream& stream = Lowest();
    stream.expires_after(options.request_timeout);
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
      return Transport(method, "send", ec);
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
    if (ec) {
      *maybe_stale = !parser.got_some() && ec != beast::error::timeout;
      Close();
      if (ec == http::error::body_limit) {
        return ResourceExhaustedError(std::string(method) + ": " + Where() + ": response body exceeds " +
                                      std::to_string(options.max_response_bytes) + " bytes");
      }
      if (ec == http::error::header_limit) {
        return ResourceExhaustedError(std::string(method) + ": " + Where() + ": response headers exceed " +
                                      std::to_string(kHeaderLimit) + " bytes");
      }
      if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == http::error::partial_message) {
        return UnavailableError(std::string(method) + ": " + Where() +
                                (parser.got_some() ? ": connection closed in the middle of the response"
                                                   : ": connection closed before a response"));
      }
      return Transport(method, "receive", ec);
    }
    stream.expires_never();
    http::response<http::string_body> res = parser.release();
    if (!res.keep_alive()) Close();
    const unsigned status = res.result_int();
    if (status < 200 || status > 299) {
      return UnavailableError(std::string(method) + ": " + Where() + ": HTTP " + std::to_string(status) + " " +
                              Sanitize(std::string_view(res.reason().data(), res.reason().size()), 64) +
                              (res.body().empty() ? "" : ": " + Sanitize(res.body(), 200)));
    }
    *response = std::move(res.body());
    return OkStatus();
  }
};

RpcClient::RpcClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RpcClient::~RpcClient() {
  if (impl_) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->Close();
  }
}

StatusOr<std::unique_ptr<RpcClient>> RpcClient::Create(std::string_view url, RpcOptions options) {
  ASSIGN_OR_RETURN(RpcUrl parsed, ParseRpcUrl(url));
  if (options.max_response_bytes == 0) return InvalidArgumentError("rpc: max_response_bytes must be positive");
  if (options.connect_timeout.count() <= 0 || options.request_timeout.count() <= 0) {
    return InvalidArgumentError("rpc: timeouts must be positive");
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
      if (ec) return InvalidArgumentError("rpc: cannot load CA certificates: " + ec.message());
    } catch (const std::exception& e) {
      return InternalError(std::string("rpc: TLS context: ") + e.what());
    }
  }
  impl->url = std::move(parsed);
  impl->options = std::move(options);
  return std::unique_ptr<RpcClient>(new RpcClient(std::move(impl)));
}

const RpcUrl& RpcClient::url() const { return impl_->url; }

uint64_t RpcClient::connections_opened() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->connections_opened;
}

StatusOr<json> RpcClient::Call(std::string_view method, const json& params) {
  if (method.empty() || method.size() > 64 ||
      !std::all_of(method.begin(), method.end(), [](char c) { return IsAlpha(c) || IsDigit(c) || c == '_'; })) {
    return InvalidArgumentError("rpc: method name must be 1..64 letters, digits or '_'");
  }
  if (!params.is_array() && !params.is_object()) {
    return InvalidArgumentError(std::string(method) + ": params must be an array or an object");
  }
  const std::string m(method);
  std::lock_guard<std::mutex> lock(impl_->mu);
  Impl& s = *impl_;
  const uint64_t id = s.next_id++;
  std::string body;
  try {
    body = json{{"jsonrpc", "2.0"}, {"id", id}, {"method", m}, {"params", params}}.dump();
  } catch (const std::exception&) {
    return InvalidArgumentError(m + ": params cannot be serialized (invalid UTF-8)");
  }

  std::string response;
  // Asio reports errors through error codes here; what could still throw (allocation,
  // SSL_new) stops at this boundary.
  try {
    for (int attempt = 0;; ++attempt) {
      const bool reused = s.connected;
      if (!s.connected) RETURN_IF_ERROR(s.Connect(m));
      bool maybe_stale = false;
      Status st = s.Exchange(m, body, &response, &maybe_stale);
      if (st.ok()) break;
      if (attempt == 0 && reused && maybe_stale) continue;
      return st;
    }
  } catch (const std::exception& e) {
    s.Close();
    return UnavailableError(m + ": " + s.Where() + ": " + e.what());
  }

  StatusOr<json> doc = ParseJsonStrict(response, m + ": response");
  if (!doc.ok()) return InvalidArgumentError(doc.status().message() + ": " + Sanitize(response, 120));
  if (!doc->is_object()) return InvalidArgumentError(m + ": response is not a JSON-RPC object");
  const json& version = Member(*doc, "jsonrpc");
  if (!version.is_string() || version.get_ref<const std::string&>() != "2.0") {
    return InvalidArgumentError(m + ": response jsonrpc is not \"2.0\"");
  }
  const json& rid = Member(*doc, "id");
  if (!rid.is_number_unsigned() || rid.get<uint64_t>() != id) {
    // Without our id the answer may belong to another request (a confused proxy).
    return InvalidArgumentError(m + ": response id " + Sanitize(rid.dump(), 40) + " does not match request id " +
                                std::to_string(id));
  }
  const bool has_result = doc->contains("result");
  const bool has_error = doc->contains("error");
  if (has_result == has_error) return InvalidArgumentError(m + ": response must have exactly one of result and error");
  if (has_error) return NodeErrorStatus(m, Member(*doc, "error"));
  return std::move((*doc)["result"]);
}

// ---------------------------------------------------------------------------------------
// Typed methods.

namespace {

json Quantity(const U256& v) { return v.ToHex(); }
json Quantity(uint64_t v) { return U256(v).ToHex(); }

}  // namespace

StatusOr<U256> RpcClient::ChainId() {
  ASSIGN_OR_RETURN(json r, Call("eth_chainId", json::array()));
  return DecodeQuantity(r, "eth_chainId: result");
}

StatusOr<uint64_t> RpcClient::BlockNumber() {
  ASSIGN_OR_RETURN(json r, Call("eth_blockNumber", json::array()));
  return DecodeQuantity64(r, "eth_blockNumber: result");
}

StatusOr<uint64_t> RpcClient::GetTransactionCount(const eth::Address& address, BlockTag tag) {
  ASSIGN_OR_RETURN(json r, Call("eth_getTransactionCount", json::array({address.ToLowerHex(), BlockTagName(tag)})));
  return DecodeQuantity64(r, "eth_getTransactionCount: result");
}

StatusOr<U256> RpcClient::GetBalance(const eth::Address& address, BlockTag tag) {
  ASSIGN_OR_RETURN(json r, Call("eth_getBalance", json::array({address.ToLowerHex(), BlockTagName(tag)})));
  return DecodeQuantity(r, "eth_getBalance: result");
}

StatusOr<U256> RpcClient::EstimateGas(const CallRequest& request) {
  json tx = json::object();
  if (request.from) tx["from"] = request.from->ToLowerHex();
  if (request.to) tx["to"] = request.to->ToLowerHex();
  if (request.gas) tx["gas"] = Quantity(*request.gas);
  if (request.gas_price) tx["gasPrice"] = Quantity(*request.gas_price);
  if (request.max_fee_per_gas) tx["maxFeePerGas"] = Quantity(*request.max_fee_per_gas);
  if (request.max_priority_fee_per_gas) tx["maxPriorityFeePerGas"] = Quantity(*request.max_priority_fee_per_gas);
  if (request.value) tx["value"] = Quantity(*request.value);
  if (!request.data.empty()) tx["data"] = HexEncode(request.data, /*prefix=*/true);
  ASSIGN_OR_RETURN(json r, Call("eth_estimateGas", json::array({tx})));
  return DecodeQuantity(r, "eth_estimateGas: result");
}

StatusOr<U256> RpcClient::GasPrice() {
  ASSIGN_OR_RETURN(json r, Call("eth_gasPrice", json::array()));
  return DecodeQuantity(r, "eth_gasPrice: result");
}

StatusOr<U256> RpcClient::MaxPriorityFeePerGas() {
  ASSIGN_OR_RETURN(json r, Call("eth_maxPriorityFeePerGas", json::array()));
  return DecodeQuantity(r, "eth_maxPriorityFeePerGas: result");
}

StatusOr<FeeHistory> RpcClient::GetFeeHistory(uint64_t blocks, const std::vector<double>& reward_percentiles,
                                              BlockTag newest) {
  constexpr std::string_view kM = "eth_feeHistory";
  if (blocks < 1 || blocks > 1024) return InvalidArgumentError("eth_feeHistory: blocks must be 1..1024");
  if (reward_percentiles.size() > 100) return InvalidArgumentError("eth_feeHistory: at most 100 percentiles");
  for (size_t i = 0; i < reward_percentiles.size(); ++i) {
    const double p = reward_percentiles[i];
    if (!std::isfinite(p) || p < 0 || p > 100 || (i > 0 && p < reward_percentiles[i - 1])) {
      return InvalidArgumentError("eth_feeHistory: percentiles must be non-decreasing values in [0, 100]");
    }
  }
  ASSIGN_OR_RETURN(json r, Call(kM, json::array({Quantity(blocks), BlockTagName(newest), reward_percentiles})));
  if (!r.is_object()) return NotA(What(kM, "result"), "an object");
  FeeHistory out;
  ASSIGN_OR_RETURN(out.oldest_block, DecodeQuantity64(Member(r, "oldestBlock"), What(kM, "result.oldestBlock")));
  const json& ratios = Member(r, "gasUsedRatio");
  if (!ratios.is_array()) return NotA(What(kM, "result.gasUsedRatio"), "an array");
  const size_t n = ratios.size();
  if (n == 0 || n > blocks) {
    return InvalidArgumentError("eth_feeHistory: result covers " + std::to_string(n) + " blocks, asked for " +
                                std::to_string(blocks));
  }
  for (size_t i = 0; i < n; ++i) {
    const json& g = ratios[i];
    const double v = g.is_number() ? g.get<double>() : -1;
    if (!g.is_number() || !std::isfinite(v) || v < 0 || v > 1) {
      return NotA(What(kM, "result.gasUsedRatio[" + std::to_string(i) + "]"), "a ratio in [0, 1]");
    }
    out.gas_used_ratio.push_back(v);
  }
  const json& fees = Member(r, "baseFeePerGas");
  if (!fees.is_array() || fees.size() != n + 1) {
    return InvalidArgumentError("eth_feeHistory: result.baseFeePerGas must have one entry per block plus one");
  }
  for (size_t i = 0; i < fees.size(); ++i) {
    ASSIGN_OR_RETURN(U256 f, DecodeQuantity(fees[i], What(kM, "result.baseFeePerGas[" + std::to_string(i) + "]")));
    out.base_fee_per_gas.push_back(f);
  }
  out.next_base_fee_per_gas = out.base_fee_per_gas.back();
  const json& reward = Member(r, "reward");
  if (!reward_percentiles.empty()) {
    if (!reward.is_array() || reward.size() != n) {
      return InvalidArgumentError("eth_feeHistory: result.reward must have one entry per block");
    }
    std::vector<U256> first;
    for (size_t i = 0; i < n; ++i) {
      const std::string where = "result.reward[" + std::to_string(i) + "]";
      if (!reward[i].is_array() || reward[i].size() != reward_percentiles.size()) {
        return InvalidArgumentError("eth_feeHistory: " + where + " must have one entry per percentile");
      }
      std::vector<U256> row;
      for (size_t j = 0; j < reward[i].size(); ++j) {
        ASSIGN_OR_RETURN(U256 v, DecodeQuantity(reward[i][j], What(kM, where + "[" + std::to_string(j) + "]")));
        row.push_back(v);
      }
      if (out.gas_used_ratio[i] > 0) first.push_back(row[0]);
      out.reward.push_back(std::move(row));
    }
    if (!first.empty()) {
      std::sort(first.begin(), first.end());
      out.suggested_priority_fee = first[first.size() / 2];
    }
  }
  return out;
}

StatusOr<crypto::Hash256> RpcClient::SendRawTransaction(ByteSpan raw) {
  if (raw.empty()) return InvalidArgumentError("eth_sendRawTransaction: empty transaction");
  ASSIGN_OR_RETURN(json r, Call("eth_sendRawTransaction", json::array({HexEncode(raw, /*prefix=*/true)})));
  ASSIGN_OR_RETURN(crypto::Hash256 h, DecodeHash(r, "eth_sendRawTransaction: result"));
  if (h != crypto::Keccak256(raw)) {
    return InvalidArgumentError("eth_sendRawTransaction: result is not the hash of the transaction sent");
  }
  return h;
}

StatusOr<std::optional<Receipt>> RpcClient::GetTransactionReceipt(const crypto::Hash256& hash) {
  constexpr std::string_view kM = "eth_getTransactionReceipt";
  ASSIGN_OR_RETURN(json r, Call(kM, json::array({HexEncode(hash, /*prefix=*/true)})));
  if (r.is_null()) return std::optional<Receipt>();
  if (!r.is_object()) return NotA(What(kM, "result"), "an object or null");
  Receipt out;
  ASSIGN_OR_RETURN(out.transaction_hash, DecodeHash(Member(r, "transactionHash"), What(kM, "result.transactionHash")));
  if (out.transaction_hash != hash) {
    return InvalidArgumentError("eth_getTransactionReceipt: result.transactionHash is not the hash asked for");
  }
  ASSIGN_OR_RETURN(uint64_t status, DecodeQuantity64(Member(r, "status"), What(kM, "result.status")));
  if (status > 1) return InvalidArgumentError("eth_getTransactionReceipt: result.status is neither 0x0 nor 0x1");
  out.status = static_cast<uint8_t>(status);
  ASSIGN_OR_RETURN(out.block_number, DecodeQuantity64(Member(r, "blockNumber"), What(kM, "result.blockNumber")));
  ASSIGN_OR_RETURN(out.block_hash, DecodeHash(Member(r, "blockHash"), What(kM, "result.blockHash")));
  ASSIGN_OR_RETURN(out.gas_used, DecodeQuantity(Member(r, "gasUsed"), What(kM, "result.gasUsed")));
  ASSIGN_OR_RETURN(out.effective_gas_price,
                   DecodeQuantity(Member(r, "effectiveGasPrice"), What(kM, "result.effectiveGasPrice")));
  ASSIGN_OR_RETURN(out.contract_address, DecodeOptionalAddress(r, "contractAddress", What(kM, "result.contractAddress")));
  return std::optional<Receipt>(std::move(out));
}

StatusOr<std::optional<TransactionInfo>> RpcClient::GetTransactionByHash(const crypto::Hash256& hash) {
  constexpr std::string_view kM = "eth_getTransactionByHash";
  ASSIGN_OR_RETURN(json r, Call(kM, json::array({HexEncode(hash, /*prefix=*/true)})));
  if (r.is_null()) return std::optional<TransactionInfo>();
  if (!r.is_object()) return NotA(What(kM, "result"), "an object or null");
  TransactionInfo out;
  ASSIGN_OR_RETURN(out.hash, DecodeHash(Member(r, "hash"), What(kM, "result.hash")));
  if (out.hash != hash) return InvalidArgumentError("eth_getTransactionByHash: result.hash is not the hash asked for");
  // Nodes before Berlin leave `type` out: those transactions are all legacy.
  ASSIGN_OR_RETURN(std::optional<U256> type, DecodeOptionalQuantity(r, "type", What(kM, "result.type")));
  if (type && *type > U256(0xff)) return InvalidArgumentError("eth_getTransactionByHash: result.type is not a byte");
  out.type = type ? static_cast<uint8_t>(type->Low64()) : 0;
  ASSIGN_OR_RETURN(out.nonce, DecodeQuantity64(Member(r, "nonce"), What(kM, "result.nonce")));
  ASSIGN_OR_RETURN(std::optional<eth::Address> from, DecodeOptionalAddress(r, "from", What(kM, "result.from")));
  if (!from) return NotA(What(kM, "result.from"), "an address");
  out.from = *from;
  ASSIGN_OR_RETURN(out.to, DecodeOptionalAddress(r, "to", What(kM, "result.to")));
  ASSIGN_OR_RETURN(out.value, DecodeQuantity(Member(r, "value"), What(kM, "result.value")));
  ASSIGN_OR_RETURN(out.gas, DecodeQuantity(Member(r, "gas"), What(kM, "result.gas")));
  ASSIGN_OR_RETURN(out.gas_price, DecodeOptionalQuantity(r, "gasPrice", What(kM, "result.gasPrice")));
  ASSIGN_OR_RETURN(out.max_fee_per_gas, DecodeOptionalQuantity(r, "maxFeePerGas", What(kM, "result.maxFeePerGas")));
  ASSIGN_OR_RETURN(out.max_priority_fee_per_gas,
                   DecodeOptionalQuantity(r, "maxPriorityFeePerGas", What(kM, "result.maxPriorityFeePerGas")));
  ASSIGN_OR_RETURN(out.input, DecodeData(Member(r, "input"), What(kM, "result.input")));
  // Pending: blockNumber and blockHash are null together.
  const json& bn = Member(r, "blockNumber");
  const json& bh = Member(r, "blockHash");
  if (bn.is_null() != bh.is_null()) {
    return InvalidArgumentError("eth_getTransactionByHash: result.blockNumber and result.blockHash must both be set or both null");
  }
  if (!bn.is_null()) {
    ASSIGN_OR_RETURN(uint64_t number, DecodeQuantity64(bn, What(kM, "result.blockNumber")));
    ASSIGN_OR_RETURN(crypto::Hash256 block_hash, DecodeHash(bh, What(kM, "result.blockHash")));
    out.block_number = number;
    out.block_hash = block_hash;
  }
  return std::optional<TransactionInfo>(std::move(out));
}

}  // namespace vp::wallet
