// The object store: named blobs (bundles, proofs, the prover's private input) kept in the
// platform's database, so that every gateway and worker sharing a PostgreSQL store sees the
// same objects (and SQLite needs nothing more). Objects are split into chunks of 1 MiB, carry
// their SHA-256 (checked on every read), may expire (lifecycle rules: SweepExpired deletes
// them, reads treat them as gone), and may be sealed with a caller's AES-256-GCM key, each
// chunk bound to its bucket, key, position and count (docs/objects.md).
//
//   ObjectStore objects(db);
//   RETURN_IF_ERROR(objects.Put("bundles", "e1/x1/bundle.zip", zip, {.content_type = "application/zip"}));
//   ASSIGN_OR_RETURN(Bytes zip2, objects.Get("bundles", "e1/x1/bundle.zip"));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"
#include "vp/base/status.h"
#include "vp/store/db.h"

namespace vp::objects {

inline constexpr size_t kDefaultChunkSize = size_t{1} << 20;
inline constexpr size_t kMaxObjectSize = size_t{1} << 30;

struct ObjectInfo {
  std::string bucket, key;
  uint64_t size = 0;
  ByteArray<32> sha256{};
  std::string content_type;
  bool sealed = false;
  int64_t created_ms = 0;
  int64_t expires_ms = 0;  // 0: never
};

struct PutOptions {
  std::string content_type = "application/octet-stream";
  int64_t expires_ms = 0;                 // unix ms; 0 keeps it until deleted
  const SecureBuffer* seal_key = nullptr;  // 32 bytes: store the object sealed
};

class ObjectStore {
 public:
  explicit ObjectStore(store::Db& db, size_t chunk_size = kDefaultChunkSize)
      : db_(db), chunk_size_(chunk_size) {}

  // Writes (or replaces) the object in one transaction: readers see the old or the new one.
  // Bucket: 1..63 of [a-z0-9-]; key: 1..512 printable ASCII characters, no "..", no
  // leading "/", no backslash. kInvalidArgument otherwise; kResourceExhausted above 1 GiB.
  Status Put(std::string_view bucket, std::string_view key, ByteSpan data, const PutOptions& options = {});
  // kNotFound when absent or expired (now_ms >= expires); kFailedPrecondition when it is
  // sealed and no key is given; kUnauthenticated when the key is wrong or a chunk was
  // altered; kInternal "object ... is corrupt" when the content does not match its SHA-256.
  StatusOr<Bytes> Get(std::string_view bucket, std::string_view key,
                      const SecureBuffer* seal_key = nullptr) const;
  StatusOr<ObjectInfo> Stat(std::string_view bucket, std::string_view key) const;
  // OK whether or not it existed.
  Status Delete(std::string_view bucket, std::string_view key);
  // The live objects whose key starts with prefix, by key, at most limit.
  StatusOr<std::vector<ObjectInfo>> List(std::string_view bucket, std::string_view prefix,
                                         size_t limit = 100) const;
  // Deletes up to `limit` objects expired at now_ms; returns how many.
  StatusOr<size_t> SweepExpired(int64_t now_ms, size_t limit = 1000);

 private:
  store::Db& db_;
  size_t chunk_size_;
};

Status ValidateObjectName(std::string_view bucket, std::string_view key);

}  // namespace vp::objects
