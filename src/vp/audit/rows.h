// Internal to vp::audit: the SQL column lists of the audit tables (docs/audit_log.md,
// section 3) and the decoding of their rows, shared by the writer, reader and verifier.
#pragma once

#include <string>
#include <string_view>

#include "vp/audit/audit.h"
#include "vp/audit/format.h"
#include "vp/store/db.h"

namespace vp::audit::internal {

inline constexpr std::string_view kRecordColumns =
    "seq, time_ms, request_id, principal, action, resource, outcome, source_ip, details, hash";
inline constexpr size_t kRecordColumnCount = 10;

inline constexpr std::string_view kDigestColumns =
    "digest_no, first_seq, last_seq, head_hash, first_time_ms, last_time_ms, created_ms, "
    "public_key, signature";

struct Head {
  int64_t seq = 0;
  ChainHash hash{};
  int64_t digest_no = 0;
  int64_t digested_seq = 0;
  int64_t digest_time_ms = 0;
};

// Copies a blob cell into a fixed array; false when its length differs.
template <size_t N>
bool BlobTo(const store::Rows& rows, size_t row, size_t col, ByteArray<N>& out) {
  const Bytes& b = rows.Blob(row, col);
  if (b.size() != N) return false;
  for (size_t i = 0; i < N; ++i) out[i] = b[i];
  return true;
}

// A record row selected with kRecordColumns. A hash that is not 32 bytes decodes as
// all-zero (the verifier then reports the record as modified).
AuditRecord RecordFromRow(const store::Rows& rows, size_t row);
// A digest row selected with kDigestColumns; malformed keys/signatures decode as zeros
// (and then fail verification).
AuditDigest DigestFromRow(const store::Rows& rows, size_t row);

// Reads the chain head (locked FOR UPDATE on PostgreSQL when for_update). kFailedPrecondition
// if the row is missing or malformed.
StatusOr<Head> ReadHead(store::Conn& conn, bool for_update);

}  // namespace vp::audit::internal
