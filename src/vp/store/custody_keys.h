// CustodyKeyRepo: the signer's key blobs as the gateway keeps them. Blobs are opaque
// here (ciphertext plus public context); master-key rotation replaces them row by row
// with compare-and-swap, so a rotation never overwrites a concurrent change.
//
//   RETURN_IF_ERROR(repo.Insert({.key_id = "k-1", .wallet_id = "w-1", .blob = blob, .master_key_id = "mk-1"}, now));
//   ASSIGN_OR_RETURN(bool replaced, repo.ReplaceBlob("k-1", old_blob, new_blob, "mk-2", now));
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::store {

struct CustodyKeyRow {
  std::string key_id;
  std::string wallet_id;
  Bytes blob;
  std::string master_key_id;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

class CustodyKeyRepo {
 public:
  explicit CustodyKeyRepo(Db& db) : db_(db) {}

  // kAlreadyExists for a key id already stored; kInvalidArgument for empty fields.
  Status Insert(const CustodyKeyRow& row, int64_t now_ms);
  StatusOr<std::optional<CustodyKeyRow>> Get(std::string_view key_id);
  // Rows ordered by key id, after `after_key_id` ("" for the first page).
  StatusOr<std::vector<CustodyKeyRow>> List(std::string_view after_key_id, int64_t limit);
  // Rows whose data key is wrapped by a master key other than `master_key_id`.
  StatusOr<int64_t> CountNotUnder(std::string_view master_key_id);
  // Replaces the blob only if it is still `expected`; false when it changed meanwhile.
  StatusOr<bool> ReplaceBlob(std::string_view key_id, const Bytes& expected, const Bytes& replacement,
                             std::string_view master_key_id, int64_t now_ms);

 private:
  Db& db_;
};

}  // namespace vp::store
