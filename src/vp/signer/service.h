// The signer service: authenticates gateway requests (mac over the connection's
// challenge), unwraps key blobs through the kms, and signs. Transport-free; the
// vaultproof-signer main serves it on the launcher's socket after hardening.
// Plaintext keys and data keys live only in SecureBuffers, in bounded caches (count and
// age) so that a busy wallet does not cost a kms round trip per signature.
//
//   SignerService svc(std::move(auth_key), std::move(ephemeral), attestation_source, &kms, {});
//   ipc::Frame reply = svc.Handle(request, challenge, last_request_id);
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "vp/base/secure.h"
#include "vp/crypto/x25519.h"
#include "vp/eth/address.h"
#include "vp/ipc/frame.h"
#include "vp/kms/protocol.h"
#include "vp/signer/protocol.h"

namespace vp::signer {

struct SignerOptions {
  int64_t cache_ttl_ms = 300'000;
  size_t cache_entries = 1024;
  std::string health_extra_json = "{}";  // the hardening report, merged into health
  // Where new keys come from: the OS CSPRNG (crypto::RandomSecret) unless a test-only
  // signer build (test_hooks.h) replaces it.
  std::function<StatusOr<SecureBuffer>(size_t)> random_secret;
};

// Returns the current attestation document (EncodeAttestation bytes), refreshing it
// through the launcher when it is getting old.
using AttestationSource = std::function<StatusOr<Bytes>()>;

// Least-recently-used, bounded by count and age; values are shared so a caller can use
// one after the lock is released while eviction wipes only when the last user is done.
template <typename V>
class SecretCache {
 public:
  SecretCache(size_t capacity, int64_t ttl_ms) : capacity_(capacity), ttl_ms_(ttl_ms) {}
  std::shared_ptr<const V> Get(const std::string& key, int64_t now_ms);
  void Put(const std::string& key, std::shared_ptr<const V> value, int64_t now_ms);
  size_t size() const;

 private:
  struct Entry {
    std::string key;
    std::shared_ptr<const V> value;
    int64_t expires_ms;
  };
  size_t capacity_;
  int64_t ttl_ms_;
  mutable std::mutex mu_;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<std::string, typename std::list<Entry>::iterator> index_;
};

struct UsableKey {
  SecureBuffer private_key;  // 32 bytes (an Ed25519 seed for KeyKind::kEd25519)
  KeyKind kind = KeyKind::kSecp256k1;
  ByteArray<32> ed25519_public{};
  eth::Address address;
  crypto::PublicKeyUncompressed public_key{};
  std::string path;          // "" for a single key
};

class SignerService {
 public:
  SignerService(SecureBuffer auth_key, crypto::X25519KeyPair ephemeral, AttestationSource attestation,
                kms::KmsClient* kms, SignerOptions options);

  // Answers one request. `last_request_id` is the connection's highest accepted id.
  ipc::Frame Handle(const ipc::Frame& request, ByteSpan challenge, uint64_t& last_request_id);

  const crypto::X25519Public& import_public_key() const { return ephemeral_.public_key; }
  size_t cached_data_keys() const { return dek_cache_.size(); }
  size_t cached_keys() const { return key_cache_.size(); }

 private:
  StatusOr<Bytes> Dispatch(Op op, ipc::FieldReader& r);
  StatusOr<Bytes> CreateKey(ipc::FieldReader& r);
  StatusOr<Bytes> ImportKey(ipc::FieldReader& r);
  // Seals `secret` under a fresh data key for `ctx` (address filled in) into a blob.
  StatusOr<Bytes> SealNewBlob(const KeyContext& ctx, ByteSpan secret);
  StatusOr<std::shared_ptr<const UsableKey>> ResolveKey(ipc::FieldReader& r);
  StatusOr<std::shared_ptr<const UsableKey>> ResolveSecpKey(ipc::FieldReader& r);
  StatusOr<std::shared_ptr<const SecureBuffer>> DataKey(ByteSpan context, ByteSpan wrapped);
  std::string PublicJson(const UsableKey& key) const;
  Bytes HealthJson() const;
  int64_t NowMs() const;

  SecureBuffer auth_key_;
  crypto::X25519KeyPair ephemeral_;
  AttestationSource attestation_;
  kms::KmsClient* kms_;
  SignerOptions options_;
  SecretCache<SecureBuffer> dek_cache_;
  SecretCache<UsableKey> key_cache_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace vp::signer
