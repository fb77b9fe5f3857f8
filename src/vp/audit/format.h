// The byte formats of the audit log, version 1: canonical record serialization, the hash
// chain, the signed digest message, and the field normalization applied before hashing.
// Specified in docs/audit_log.md; change nothing here without a new version there.
//
//   Bytes canon = vp::audit::CanonicalRecord(record);
//   ChainHash h = vp::audit::NextChainHash(prev, canon);   // SHA-256("vp-audit-v1" || prev || canon)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vp/audit/audit.h"

namespace vp::audit {

inline constexpr uint8_t kRecordFormatVersion = 1;
inline constexpr std::string_view kChainDomain = "vp-audit-v1";
inline constexpr std::string_view kDigestDomain = "vp-audit-digest-v1";

// Field limits in bytes (after normalization, cut at a UTF-8 character boundary).
inline constexpr size_t kMaxFieldBytes = 4096;
inline constexpr size_t kMaxDetailsBytes = 65536;

// hash_0: the "previous hash" of record 1.
inline constexpr ChainHash kGenesisHash{};

// u8 version || u64 seq || i64 time_ms || 7 x (u32 length || bytes) for request_id,
// principal, action, resource, outcome, source_ip, details (all integers big-endian).
Bytes CanonicalRecord(const AuditRecord& record);
// As CanonicalRecord, with `seq` in place of record.seq (the writer assigns seqs, and the
// verifier tries records at other positions).
Bytes CanonicalRecordAt(const AuditRecord& record, int64_t seq);

// SHA-256(kChainDomain || prev || canonical).
ChainHash NextChainHash(const ChainHash& prev, ByteSpan canonical);
inline ChainHash RecordHash(const ChainHash& prev, const AuditRecord& record) {
  return NextChainHash(prev, CanonicalRecord(record));
}
// RecordHash with `seq` in place of record.seq.
ChainHash RecordHashAt(const ChainHash& prev, const AuditRecord& record, int64_t seq);

// Replaces invalid UTF-8 (each offending byte) and NUL with U+FFFD, then cuts to max_bytes
// at a character boundary. Valid text within the limit is returned unchanged.
std::string NormalizeField(std::string_view text, size_t max_bytes);
// Normalizes every text field of record in place.
void NormalizeRecord(AuditRecord& record);

// A signed statement about the chain: records first_seq..last_seq (count of them), the
// chain hash of record last_seq, the least and greatest record time in the range, and when
// it was made. Digests are numbered 1, 2, ... and cover consecutive ranges.
struct AuditDigest {
  int64_t digest_no = 0;
  int64_t first_seq = 0;
  int64_t last_seq = 0;
  ChainHash head_hash{};
  int64_t first_time_ms = 0;
  int64_t last_time_ms = 0;
  int64_t created_ms = 0;
  crypto::Ed25519Public public_key{};
  crypto::Ed25519Signature signature{};

  int64_t count() const { return last_seq - first_seq + 1; }
};

// kDigestDomain || u64 digest_no || u64 first_seq || u64 last_seq || u64 count ||
// head_hash (32) || i64 first_time_ms || i64 last_time_ms || i64 created_ms: the bytes
// the Ed25519 signature covers (public_key and signature are not part of them).
Bytes CanonicalDigest(const AuditDigest& digest);

}  // namespace vp::audit
