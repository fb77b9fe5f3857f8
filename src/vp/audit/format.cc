// Audit log byte formats, version 1 (docs/audit_log.md, sections 1 and 2).
#include "vp/audit/format.h"

#include "vp/crypto/hash.h"

namespace vp::audit {
namespace {

void AppendField(Bytes& out, std::string_view s) {
  AppendBigEndian(out, static_cast<uint64_t>(s.size()), 4);
  Append(out, AsBytes(s));
}

void AppendInt64(Bytes& out, int64_t v) { AppendBigEndian(out, static_cast<uint64_t>(v), 8); }

// Length of the well-formed UTF-8 sequence (RFC 3629) starting at s[i], or 0 if the byte
// there does not start one. NUL counts as malformed here (PostgreSQL TEXT refuses it).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c = b(i);
  const size_t left = s.size() - i;
  if (c == 0) return 0;
  if (c < 0x80) return 1;
  const auto cont = [&](size_t k) { return (b(k) & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(i + 1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (left < 3 || !cont(i + 1) || !cont(i + 2)) return 0;
    const uint8_t c1 = b(i + 1);
    if (c == 0xE0 && c1 < 0xA0) return 0;  // overlong
    if (c == 0xED && c1 > 0x9F) return 0;  // UTF-16 surrogates
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (left < 4 || !cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
    const uint8_t c1 = b(i + 1);
    if (c == 0xF0 && c1 < 0x90) return 0;  // overlong
    if (c == 0xF4 && c1 > 0x8F) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";


size_t CanonicalSize(const AuditRecord& r) {
  return 1 + 8 + 8 + 7 * 4 + r.request_id.size() + r.principal.size() + r.action.size() +
         r.resource.size() + r.outcome.size() + r.source_ip.size() + r.details.size();
}

void AppendCanonical(Bytes& out, const AuditRecord& r, int64_t seq) {
  out.push_back(kRecordFormatVersion);
  AppendInt64(out, seq);
  AppendInt64(out, r.time_ms);
  AppendField(out, r.request_id);
  AppendField(out, r.principal);
  AppendField(out, r.action);
  AppendField(out, r.resource);
  AppendField(out, r.outcome);
  AppendField(out, r.source_ip);
  AppendField(out, r.details);
}

}  // namespace

Bytes CanonicalRecord(const AuditRecord& r) { return CanonicalRecordAt(r, r.seq); }

Bytes CanonicalRecordAt(const AuditRecord& r, int64_t seq) {
  Bytes out;
  out.reserve(CanonicalSize(r));
  AppendCanonical(out, r, seq);
  return out;
}

ChainHash RecordHashAt(const ChainHash& prev, const AuditRecord& r, int64_t seq) {
  // One buffer for domain || prev || canonical: this runs for every record appended.
  Bytes msg;
  msg.reserve(kChainDomain.size() + prev.size() + CanonicalSize(r));
  Append(msg, AsBytes(kChainDomain));
  Append(msg, prev);
  AppendCanonical(msg, r, seq);
  return crypto::Sha256(msg);
}

ChainHash NextChainHash(const ChainHash& prev, ByteSpan canonical) {
  Bytes msg;
  msg.reserve(kChainDomain.size() + prev.size() + canonical.size());
  Append(msg, AsBytes(kChainDomain));
  Append(msg, prev);
  Append(msg, canonical);
  return crypto::Sha256(msg);
}

namespace {

// True when text is already normalized: well-formed UTF-8 without NUL, within max_bytes.
bool IsNormalized(std::string_view text, size_t max_bytes) {
  if (text.size() > max_bytes) return false;
  size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<uint8_t>(text[i]);
    if (c != 0 && c < 0x80) {  // the common case: printable ASCII
      ++i;
      continue;
    }
    const size_t n = Utf8SequenceLength(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

std::string NormalizeField(std::string_view text, size_t max_bytes) {
  if (IsNormalized(text, max_bytes)) return std::string(text);
  std::string out;
  out.reserve(text.size() < max_bytes ? text.size() : max_bytes);
  size_t i = 0;
  while (i < text.size()) {
    const size_t n = Utf8SequenceLength(text, i);
    const std::string_view piece = n == 0 ? kReplacement : text.substr(i, n);
    if (out.size() + piece.size() > max_bytes) break;  // cut at a character boundary
    out.append(piece);
    i += n == 0 ? 1 : n;
  }
  return out;
}

void NormalizeRecord(AuditRecord& r) {
  for (std::string* f : {&r.request_id, &r.principal, &r.action, &r.resource, &r.outcome,
                         &r.source_ip}) {
    if (!IsNormalized(*f, kMaxFieldBytes)) *f = NormalizeField(*f, kMaxFieldBytes);
  }
  if (!IsNormalized(r.details, kMaxDetailsBytes)) r.details = NormalizeField(r.details, kMaxDetailsBytes);
}

Bytes CanonicalDigest(const AuditDigest& d) {
  Bytes out;
  out.reserve(kDigestDomain.size() + 4 * 8 + 32 + 3 * 8);
  Append(out, AsBytes(kDigestDomain));
  AppendInt64(out, d.digest_no);
  AppendInt64(out, d.first_seq);
  AppendInt64(out, d.last_seq);
  AppendInt64(out, d.count());
  Append(out, d.head_hash);
  AppendInt64(out, d.first_time_ms);
  AppendInt64(out, d.last_time_ms);
  AppendInt64(out, d.created_ms);
  return out;
}

}  // namespace vp::audit
