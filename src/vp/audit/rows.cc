// Row decoding shared by the audit writer, reader and verifier.
#include "vp/audit/rows.h"

namespace vp::audit::internal {

AuditRecord RecordFromRow(const store::Rows& rows, size_t row) {
  AuditRecord r;
  r.seq = rows.Int(row, 0);
  r.time_ms = rows.Int(row, 1);
  r.request_id = rows.Text(row, 2);
  r.principal = rows.Text(row, 3);
  r.action = rows.Text(row, 4);
  r.resource = rows.Text(row, 5);
  r.outcome = rows.Text(row, 6);
  r.source_ip = rows.Text(row, 7);
  r.details = rows.Text(row, 8);
  if (!BlobTo(rows, row, 9, r.hash)) r.hash = ChainHash{};
  return r;
}

AuditDigest DigestFromRow(const store::Rows& rows, size_t row) {
  AuditDigest d;
  d.digest_no = rows.Int(row, 0);
  d.first_seq = rows.Int(row, 1);
  d.last_seq = rows.Int(row, 2);
  if (!BlobTo(rows, row, 3, d.head_hash)) d.head_hash = ChainHash{};
  d.first_time_ms = rows.Int(row, 4);
  d.last_time_ms = rows.Int(row, 5);
  d.created_ms = rows.Int(row, 6);
  if (!BlobTo(rows, row, 7, d.public_key)) d.public_key = crypto::Ed25519Public{};
  if (!BlobTo(rows, row, 8, d.signature)) d.signature = crypto::Ed25519Signature{};
  return d;
}

StatusOr<Head> ReadHead(store::Conn& conn, bool for_update) {
  std::string sql =
      "SELECT seq, hash, digest_no, digested_seq, digest_time_ms FROM audit_head WHERE id = 1";
  if (for_update && conn.dialect() == store::Dialect::kPostgres) sql += " FOR UPDATE";
  ASSIGN_OR_RETURN(store::Rows rows, conn.Query(sql));
  if (rows.empty()) return FailedPreconditionError("audit: the chain head row is missing");
  Head h;
  h.seq = rows.Int(0, 0);
  if (!BlobTo(rows, 0, 1, h.hash)) {
    return FailedPreconditionError("audit: the chain head hash is not 32 bytes");
  }
  h.digest_no = rows.Int(0, 2);
  h.digested_seq = rows.Int(0, 3);
  h.digest_time_ms = rows.Int(0, 4);
  return h;
}

}  // namespace vp::audit::internal
