#include "vp/http/vp1_auth.h"

#include "vp/crypto/hash.h"

namespace vp::http {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool ValidKeyId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

StatusOr<Vp1Authorization> ParseVp1Authorization(std::string_view header) {
  header = TrimSpaces(header);
  if (header.size() <= kVp1Scheme.size() || header.substr(0, kVp1Scheme.size()) != kVp1Scheme ||
      header[kVp1Scheme.size()] != ' ') {
    return UnauthenticatedError("authorization: expected scheme VP1-HMAC-SHA256");
  }
  std::string_view rest = header.substr(kVp1Scheme.size() + 1);
  Vp1Authorization out;
  bool have_cred = false, have_ts = false, have_sig = false;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view field = TrimSpaces(rest.substr(0, comma));
    size_t eq = field.find('=');
    if (eq == std::string_view::npos) return UnauthenticatedError("authorization: malformed field");
    std::string_view name = field.substr(0, eq);
    std::string_view value = field.substr(eq + 1);
    if (name == "Credential") {
      if (have_cred) return UnauthenticatedError("authorization: Credential given twice");
      if (!ValidKeyId(value)) return UnauthenticatedError("authorization: malformed Credential");
      out.key_id = std::string(value);
      have_cred = true;
    } else if (name == "Timestamp") {
      if (have_ts) return UnauthenticatedError("authorization: Timestamp given twice");
      if (value.empty() || value.size() > 12) return UnauthenticatedError("authorization: malformed Timestamp");
      int64_t ts = 0;
      for (char c : value) {
        if (c < '0' || c > '9') return UnauthenticatedError("authorization: malformed Timestamp");
        ts = ts * 10 + (c - '0');
      }
      out.timestamp = ts;
      have_ts = true;
    } else if (name == "Signature") {
      if (have_sig) return UnauthenticatedError("authorization: Signature given twice");
      auto sig = HexDecodeFixed<32>(value, HexPrefix::kForbidden);
      if (!sig.ok()) return UnauthenticatedError("authorization: malformed Signature");
      out.signature = *sig;
      have_sig = true;
    } else {
      return UnauthenticatedError("authorization: unknown field");
    }
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!have_cred || !have_ts || !have_sig) {
    return UnauthenticatedError("authorization: Credential, Timestamp and Signature are all required");
  }
  return out;
}

std::string Vp1StringToSign(std::string_view method, std::string_view path, std::string_view query,
                            int64_t timestamp, std::string_view body) {
  std::string s;
  s.reserve(32 + method.size() + path.size() + query.size() + 64);
  s += "VP1\n";
  s += method;
  s += '\n';
  s += path;
  s += '\n';
  s += query;
  s += '\n';
  s += std::to_string(timestamp);
  s += '\n';
  s += HexEncode(crypto::Sha256(AsBytes(body)));
  return s;
}

ByteArray<32> Vp1Signature(ByteSpan secret, std::string_view string_to_sign) {
  return crypto::HmacSha256(secret, AsBytes(string_to_sign));
}

std::string Vp1AuthorizationHeader(std::string_view key_id, ByteSpan secret, std::string_view method,
                                   std::string_view path, std::string_view query, int64_t timestamp,
                                   std::string_view body) {
  ByteArray<32> sig = Vp1Signature(secret, Vp1StringToSign(method, path, query, timestamp, body));
  std::string h(kVp1Scheme);
  h += " Credential=";
  h += key_id;
  h += ", Timestamp=";
  h += std::to_string(timestamp);
  h += ", Signature=";
  h += HexEncode(sig);
  return h;
}

Status Vp1CheckSkew(int64_t timestamp, int64_t now, int64_t max_skew) {
  int64_t d = timestamp - now;
  if (d > max_skew) return UnauthenticatedError("authorization: Timestamp is too far in the future");
  if (-d > max_skew) return UnauthenticatedError("authorization: Timestamp is too old");
  return OkStatus();
}

Status Vp1Verify(const Vp1Authorization& auth, ByteSpan secret, std::string_view method,
                 std::string_view path, std::string_view query, std::string_view body) {
  ByteArray<32> expected = Vp1Signature(secret, Vp1StringToSign(method, path, query, auth.timestamp, body));
  if (!ConstantTimeEqual(expected, auth.signature)) {
    return UnauthenticatedError("authorization: signature does not match");
  }
  return OkStatus();
}

std::string Base64UrlEncode(ByteSpan data) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  out.reserve((data.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8) | data[i + 2];
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  size_t left = data.size() - i;
  if (left == 1) {
    uint32_t v = uint32_t{data[i]} << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (left == 2) {
    uint32_t v = (uint32_t{data[i]} << 16) | (uint32_t{data[i + 1]} << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

SecureBuffer DeriveApiKeySecret(ByteSpan pepper, std::string_view key_id, std::string_view nonce) {
  std::string info = "vp1-api-key|";
  info += key_id;
  info += '|';
  info += nonce;
  ByteArray<32> mac = crypto::HmacSha256(pepper, AsBytes(info));
  std::string text = Base64UrlEncode(mac);
  SecureBuffer out = SecureBuffer::CopyOf(AsBytes(text));
  SecureWipe(text.data(), text.size());
  SecureWipe(mac.data(), mac.size());
  return out;
}

ByteArray<32> ApiKeySecretHash(ByteSpan salt, ByteSpan secret) {
  Bytes buf(salt.begin(), salt.end());
  Append(buf, secret);
  ByteArray<32> h = crypto::Sha256(buf);
  SecureWipe(buf.data(), buf.size());
  return h;
}

}  // namespace vp::http
