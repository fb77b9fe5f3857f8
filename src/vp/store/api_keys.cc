// ApiKeyRepo over Db.
#include "vp/store/api_keys.h"

namespace vp::store {
namespace {

constexpr std::string_view kColumns =
    "id, name, role, salt, secret_hash, derivation_nonce, disabled, created_at, last_used_at";

ApiKey FromRow(const Rows& r, size_t i) {
  ApiKey k;
  k.id = r.Text(i, 0);
  k.name = r.Text(i, 1);
  k.role = r.Text(i, 2);
  k.salt = r.Blob(i, 3);
  k.secret_hash = r.Blob(i, 4);
  k.derivation_nonce = r.Text(i, 5);
  k.disabled = r.Int(i, 6) != 0;
  k.created_at_ms = r.Int(i, 7);
  if (!r.IsNull(i, 8)) k.last_used_at_ms = r.Int(i, 8);
  return k;
}

Status NotFound(std::string_view id) { return NotFoundError("api key " + std::string(id) + " not found"); }

}  // namespace

bool IsValidApiKeyRole(std::string_view role) {
  for (std::string_view r : kApiKeyRoles) {
    if (r == role) return true;
  }
  return false;
}

Status ApiKeyRepo::Create(const ApiKey& key) {
  if (key.id.empty()) return InvalidArgumentError("api key: empty id");
  if (key.name.empty()) return InvalidArgumentError("api key: empty name");
  if (!IsValidApiKeyRole(key.role)) return InvalidArgumentError("api key: unknown role '" + key.role + "'");
  Status s = db_.Transact(TxMode::kWrite, [&](Conn& c) {
    return c.Exec(
        "INSERT INTO api_keys (id, name, role, salt, secret_hash, derivation_nonce, disabled, created_at, last_used_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {Value(key.id), Value(key.name), Value(key.role), Value(key.salt), Value(key.secret_hash),
         Value(key.derivation_nonce), Value(key.disabled), Value(key.created_at_ms),
         key.last_used_at_ms ? Value(*key.last_used_at_ms) : Value::Null()});
  });
  if (s.code() == StatusCode::kAlreadyExists) return AlreadyExistsError("api key " + key.id + " already exists");
  return s;
}

StatusOr<ApiKey> ApiKeyRepo::Get(std::string_view id) {
  Rows rows;
  if (Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(rows, c.Query("SELECT " + std::string(kColumns) + " FROM api_keys WHERE id = $1", {Value(id)}));
    return OkStatus();
  }); !tx.ok()) return tx;
  if (rows.empty()) return NotFound(id);
  return FromRow(rows, 0);
}

StatusOr<std::vector<ApiKey>> ApiKeyRepo::List() {
  Rows rows;
  if (Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(rows, c.Query("SELECT " + std::string(kColumns) + " FROM api_keys ORDER BY created_at, id"));
    return OkStatus();
  }); !tx.ok()) return tx;
  std::vector<ApiKey> out;
  out.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) out.push_back(FromRow(rows, i));
  return out;
}

Status ApiKeyRepo::SetDisabled(std::string_view id, bool disabled) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE api_keys SET disabled = $1 WHERE id = $2", {Value(disabled), Value(id)}));
    return r.affected == 0 ? NotFound(id) : OkStatus();
  });
}

Status ApiKeyRepo::TouchLastUsed(std::string_view id, int64_t now_ms) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND"
                                     " (last_used_at IS NULL OR last_used_at < $1)",
                                     {Value(now_ms), Value(id)}));
    if (r.affected > 0) return OkStatus();
    ASSIGN_OR_RETURN(Rows e, c.Query("SELECT 1 FROM api_keys WHERE id = $1", {Value(id)}));
    return e.empty() ? NotFound(id) : OkStatus();
  });
}

}  // namespace vp::store
