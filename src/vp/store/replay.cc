// ReplayRepo over Db: one conditional upsert decides, atomically on both backends,
// whether the pair is new (inserted, or an expired row taken over) or a replay.
#include "vp/store/replay.h"

#include <string>
#include <unordered_map>

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

namespace {

// A PostgreSQL array literal of text elements, every element quoted.
std::string TextArray(const std::vector<const std::string*>& items) {
  std::string out = "{";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char ch : *items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  out += '}';
  return out;
}

}  // namespace

StatusOr<std::vector<bool>> ReplayRepo::RememberMany(const std::vector<Item>& items, int64_t now_ms) {
  for (const Item& it : items) {
    if (it.key_id.empty()) return InvalidArgumentError("replay: empty key id");
    if (it.signature_hex.empty()) return InvalidArgumentError("replay: empty signature");
  }
  std::vector<bool> fresh(items.size(), false);
  // Within the batch a repeat is a replay of the first; only first sightings go to the store.
  std::unordered_map<std::string, size_t> first;
  std::vector<size_t> unique;
  for (size_t i = 0; i < items.size(); ++i) {
    if (first.emplace(items[i].key_id + '\n' + items[i].signature_hex, i).second) unique.push_back(i);
  }
  if (unique.empty()) return fresh;
  if (Status tx = db_.Transact(TxMode::kWriteRelaxed, [&](Conn& c) -> Status {
    for (size_t i : unique) fresh[i] = false;
    if (c.dialect() == Dialect::kPostgres) {
      std::vector<const std::string*> keys, sigs;
      std::string expires = "{";
      for (size_t i : unique) {
        keys.push_back(&items[i].key_id);
        sigs.push_back(&items[i].signature_hex);
        if (expires.size() > 1) expires += ',';
        expires += std::to_string(items[i].expires_at_ms);
      }
      expires += '}';
      ASSIGN_OR_RETURN(Rows r, c.Query("INSERT INTO replay_signatures (key_id, signature, expires_at)"
                                       " SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])"
                                       " ON CONFLICT (key_id, signature) DO UPDATE SET expires_at = excluded.expires_at"
                                       " WHERE replay_signatures.expires_at <= $4 RETURNING key_id, signature",
                                       {Value(TextArray(keys)), Value(TextArray(sigs)), Value(expires), Value(now_ms)}));
      for (size_t row = 0; row < r.size(); ++row) {
        auto it = first.find(r.Text(row, 0) + '\n' + r.Text(row, 1));
        if (it != first.end()) fresh[it->second] = true;
      }
      return OkStatus();
    }
    for (size_t i : unique) {
      ASSIGN_OR_RETURN(Rows r, c.Query("INSERT INTO replay_signatures (key_id, signature, expires_at) VALUES ($1, $2, $3)"
                                       " ON CONFLICT (key_id, signature) DO UPDATE SET expires_at = excluded.expires_at"
                                       " WHERE replay_signatures.expires_at <= $4 RETURNING expires_at",
                                       {Value(items[i].key_id), Value(items[i].signature_hex),
                                        Value(items[i].expires_at_ms), Value(now_ms)}));
      fresh[i] = !r.empty();
    }
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
