// ReplayRepo over Db: one conditional upsert decides, atomically on both backends,
// whether the pair is new (inserted, or an expired row taken over) or a replay.
#include "vp/store/replay.h"

namespace vp::store {

StatusOr<bool> ReplayRepo::Remember(std::string_view key_id, std::string_view signature_hex, int64_t expires_at_ms,
                                    int64_t now_ms) {
  if (key_id.empty()) return InvalidArgumentError("replay: empty key id");
  if (signature_hex.empty()) return InvalidArgumentError("replay: empty signature");
  bool fresh = false;
  if (Status tx = db_.Transact(TxMode::kWriteRelaxed, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("INSERT INTO replay_signatures (key_id, signature, expires_at) VALUES ($1, $2, $3)"
                                     " ON CONFLICT (key_id, signature) DO UPDATE SET expires_at = excluded.expires_at"
                                     " WHERE replay_signatures.expires_at <= $4 RETURNING expires_at",
                                     {Value(key_id), Value(signature_hex), Value(expires_at_ms), Value(now_ms)}));
    fresh = !r.empty();
    return OkStatus();
  }); !tx.ok()) return tx;
  return fresh;
}

StatusOr<int64_t> ReplayRepo::Sweep(int64_t now_ms) {
  int64_t deleted = 0;
  if (Status tx = db_.Transact(TxMode::kWriteRelaxed, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("DELETE FROM replay_signatures WHERE expires_at <= $1", {Value(now_ms)}));
    deleted = r.affected;
    return OkStatus();
  }); !tx.ok()) return tx;
  return deleted;
}

}  // namespace vp::store
