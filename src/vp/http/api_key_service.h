// ApiKeyService: API keys for the gateway and `vaultproof api-key`. Secrets are derived,
// never stored: secret = base64url(HMAC-SHA256(pepper, "vp1-api-key|" id "|" nonce)) with
// the 32-byte pepper of <data-dir>/api-key-pepper.key (0600); the store row keeps a random
// salt, SHA-256(salt || secret) and the nonce (vp1_auth.h, docs/api.md). Verification
// re-derives the secret once per cache fill, checks it against the stored salted hash,
// and keeps it in locked memory for key_cache_ms.
//
// Every method that touches the store blocks: the gateway calls them on its store pool.
//
//   ASSIGN_OR_RETURN(SecureBuffer pepper, ApiKeyService::LoadOrCreatePepper(data_dir));
//   ApiKeyService keys(*db, std::move(pepper));
//   ASSIGN_OR_RETURN(CreatedApiKey k, keys.Create("admin", "bootstrap", now_ms));
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vp/base/secure.h"
#include "vp/base/status.h"
#include "vp/store/api_keys.h"
#include "vp/store/db.h"

namespace vp::http {

inline constexpr std::string_view kPepperFileName = "api-key-pepper.key";

struct CreatedApiKey {
  store::ApiKey record;
  std::string secret;  // shown once to the creator; the caller wipes it
};

// A key as authentication sees it. found == false caches "no such key" briefly.
struct CachedApiKey {
  bool found = false;
  std::string id;
  std::string role;
  bool disabled = false;
  SecureBuffer secret;
  int64_t loaded_at_ms = 0;
};

class ApiKeyService {
 public:
  // Reads the pepper (64 hex characters and a newline), or creates it with mode 0600
  // (linked into place so concurrent starts agree). kFailedPrecondition when the file is
  // readable by group or others; kInvalidArgument when malformed; kUnavailable on I/O errors.
  static StatusOr<SecureBuffer> LoadOrCreatePepper(const std::string& data_dir);

  ApiKeyService(store::Db& db, SecureBuffer pepper, int64_t cache_ms = 30000);

  // kInvalidArgument for an unknown role or an empty/too long name (1..128 bytes).
  StatusOr<CreatedApiKey> Create(std::string_view role, std::string_view name, int64_t now_ms);
  StatusOr<std::vector<store::ApiKey>> List();
  // kNotFound when absent. Updates the cache at once.
  Status SetDisabled(std::string_view id, bool disabled);

  // The cached entry if it is fresh (found or not), else nullptr. Never blocks on the store.
  std::shared_ptr<const CachedApiKey> Cached(std::string_view id, int64_t now_ms) const;
  // Loads from the store, re-derives and checks the secret, caches. A missing key is a
  // cached entry with found == false (kept 1 s). kInternal if the stored hash does not
  // match the derivation (wrong pepper or a tampered row): the key is then refused.
  StatusOr<std::shared_ptr<const CachedApiKey>> Load(std::string_view id, int64_t now_ms);

  // Remembers a use in memory; FlushLastUsed writes them (at most one write per key).
  void NoteUse(std::string_view id, int64_t now_ms);
  Status FlushLastUsed();

 private:
  store::Db& db_;
  store::ApiKeyRepo repo_;
  SecureBuffer pepper_;
  int64_t cache_ms_;
  mutable std::shared_mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<const CachedApiKey>> cache_;  // guarded by mu_
  std::mutex use_mu_;
  std::unordered_map<std::string, int64_t> last_used_;  // guarded by use_mu_
};

}  // namespace vp::http
