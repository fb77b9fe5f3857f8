// CustodyKeyRepo over Db.
#include "vp/store/custody_keys.h"

namespace vp::store {
namespace {

CustodyKeyRow RowAt(const Rows& r, size_t i) {
  return CustodyKeyRow{r.Text(i, 0), r.Text(i, 1), r.Blob(i, 2), r.Text(i, 3), r.Int(i, 4), r.Int(i, 5)};
}

constexpr std::string_view kColumns = "key_id, wallet_id, blob, master_key_id, created_ms, updated_ms";

}  // namespace

Status CustodyKeyRepo::Insert(const CustodyKeyRow& row, int64_t now_ms) {
  if (row.key_id.empty() || row.wallet_id.empty() || row.blob.empty() || row.master_key_id.empty())
    return InvalidArgumentError("custody key: key id, wallet id, blob and master key id are required");
  return db_.Transact(TxMode::kWrite, [&](Conn& c) {
    return c.Exec("INSERT INTO custody_keys (key_id, wallet_id, blob, master_key_id, created_ms, updated_ms)"
                  " VALUES ($1, $2, $3, $4, $5, $5)",
                  {Value(row.key_id), Value(row.wallet_id), Value(row.blob), Value(row.master_key_id), Value(now_ms)});
  });
}

StatusOr<std::optional<CustodyKeyRow>> CustodyKeyRepo::Get(std::string_view key_id) {
  std::optional<CustodyKeyRow> out;
  RETURN_IF_ERROR(db_.WithConn([&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT " + std::string(kColumns) + " FROM custody_keys WHERE key_id = $1",
                                     {Value(key_id)}));
    if (!r.empty()) out = RowAt(r, 0);
    return OkStatus();
  }));
  return out;
}

StatusOr<std::vector<CustodyKeyRow>> CustodyKeyRepo::List(std::string_view after_key_id, int64_t limit) {
  std::vector<CustodyKeyRow> out;
  RETURN_IF_ERROR(db_.WithConn([&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT " + std::string(kColumns) +
                                         " FROM custody_keys WHERE key_id > $1 ORDER BY key_id LIMIT $2",
                                     {Value(after_key_id), Value(limit)}));
    for (size_t i = 0; i < r.size(); ++i) out.push_back(RowAt(r, i));
    return OkStatus();
  }));
  return out;
}

StatusOr<int64_t> CustodyKeyRepo::CountNotUnder(std::string_view master_key_id) {
  int64_t n = 0;
  RETURN_IF_ERROR(db_.WithConn([&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT COUNT(*) FROM custody_keys WHERE master_key_id <> $1",
                                     {Value(master_key_id)}));
    n = r.Int(0, 0);
    return OkStatus();
  }));
  return n;
}

StatusOr<bool> CustodyKeyRepo::ReplaceBlob(std::string_view key_id, const Bytes& expected, const Bytes& replacement,
                                           std::string_view master_key_id, int64_t now_ms) {
  bool replaced = false;
  RETURN_IF_ERROR(db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE custody_keys SET blob = $1, master_key_id = $2, updated_ms = $3"
                                     " WHERE key_id = $4 AND blob = $5",
                                     {Value(replacement), Value(master_key_id), Value(now_ms), Value(key_id),
                                      Value(expected)}));
    replaced = r.affected == 1;
    return OkStatus();
  }));
  return replaced;
}

}  // namespace vp::store
