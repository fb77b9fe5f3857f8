// ApiKeyRepo: the API keys of the gateway. The store never sees a secret: a row holds the
// salt, SHA-256(salt || secret) and the derivation nonce from which the gateway re-derives
// the secret with its pepper (see the vp::http auth code and docs/api.md).
//
//   ApiKeyRepo keys(*db);
//   RETURN_IF_ERROR(keys.Create(record));                 // kAlreadyExists on a duplicate id
//   ASSIGN_OR_RETURN(ApiKey k, keys.Get("ak_..."));       // kNotFound if absent
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::store {

// The roles of the platform. Stored as their lower-case names.
inline constexpr std::string_view kApiKeyRoles[] = {"admin", "operator", "approver", "auditor"};
bool IsValidApiKeyRole(std::string_view role);

struct ApiKey {
  std::string id;                // public key id, unique (chosen by the caller)
  std::string name;              // human label
  std::string role;              // one of kApiKeyRoles
  Bytes salt;                    // random, per key
  Bytes secret_hash;             // SHA-256(salt || secret)
  std::string derivation_nonce;  // input to the secret derivation (opaque text to the store)
  bool disabled = false;
  int64_t created_at_ms = 0;     // unix milliseconds
  std::optional<int64_t> last_used_at_ms;
};

class ApiKeyRepo {
 public:
  explicit ApiKeyRepo(Db& db) : db_(db) {}

  // kInvalidArgument for an empty id or name, or an unknown role; kAlreadyExists if the id
  // is taken.
  Status Create(const ApiKey& key);
  // kNotFound if no key has this id.
  StatusOr<ApiKey> Get(std::string_view id);
  // Every key, oldest first (created_at, then id).
  StatusOr<std::vector<ApiKey>> List();
  // kNotFound if no key has this id. Setting the current value again is OK.
  Status SetDisabled(std::string_view id, bool disabled);
  // Records a use; only ever moves last_used_at forward. kNotFound if absent. The gateway
  // calls this sparingly (e.g. once per key per minute), not on every request.
  Status TouchLastUsed(std::string_view id, int64_t now_ms);

 private:
  Db& db_;
};

}  // namespace vp::store
