// The object store over the platform database (docs/objects.md).
#include "vp/objects/object_store.h"

#include <chrono>

#include "vp/crypto/aead.h"
#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"

namespace vp::objects {
namespace {

using store::Conn;
using store::Params;
using store::TxMode;
using store::Value;

constexpr std::string_view kSealDomain = "vaultproof:object:v1";

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Associated data of a sealed chunk: its place cannot change without the tag failing.
Bytes ChunkAad(std::string_view bucket, std::string_view key, uint64_t seq, uint64_t chunks) {
  Bytes aad;
  auto put = [&](std::string_view s) {
    for (const char c : s) aad.push_back(static_cast<uint8_t>(c));
    aad.push_back(0);
  };
  put(kSealDomain);
  put(bucket);
  put(key);
  for (int i = 7; i >= 0; --i) aad.push_back(static_cast<uint8_t>(seq >> (8 * i)));
  for (int i = 7; i >= 0; --i) aad.push_back(static_cast<uint8_t>(chunks >> (8 * i)));
  return aad;
}

ObjectInfo InfoFromRow(const store::Rows& r, size_t i) {
  ObjectInfo info;
  info.bucket = r.Text(i, 0);
  info.key = r.Text(i, 1);
  info.size = static_cast<uint64_t>(r.Int(i, 2));
  auto digest = HexDecodeFixed<32>(r.Text(i, 3), HexPrefix::kForbidden);
  if (digest.ok()) info.sha256 = *digest;
  info.content_type = r.Text(i, 4);
  info.sealed = r.Int(i, 5) != 0;
  info.created_ms = r.Int(i, 6);
  info.expires_ms = r.IsNull(i, 7) ? 0 : r.Int(i, 7);
  return info;
}

constexpr const char* kInfoColumns =
    "bucket, object_key, size, sha256, content_type, sealed, created_at, expires_at, chunks";

std::string Name(std::string_view bucket, std::string_view key) {
  return "object " + std::string(bucket) + "/" + std::string(key);
}

}  // namespace

Status ValidateObjectName(std::string_view bucket, std::string_view key) {
  if (bucket.empty() || bucket.size() > 63) return InvalidArgumentError("object bucket: 1..63 characters");
  for (const char c : bucket) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
      return InvalidArgumentError("object bucket: only a-z, 0-9 and '-'");
    }
  }
  if (key.empty() || key.size() > 512) return InvalidArgumentError("object key: 1..512 characters");
  if (key.front() == '/') return InvalidArgumentError("object key: must not start with '/'");
  if (key.find("..") != std::string_view::npos) return InvalidArgumentError("object key: must not contain '..'");
  for (const char c : key) {
    if (c < 0x21 || c > 0x7e || c == '\\') {
      return InvalidArgumentError("object key: printable ASCII without spaces or '\\\\'");
    }
  }
  return OkStatus();
}

Status ObjectStore::Put(std::string_view bucket, std::string_view key, ByteSpan data,
                        const PutOptions& options) {
  RETURN_IF_ERROR(ValidateObjectName(bucket, key));
  if (data.size() > kMaxObjectSize) return ResourceExhaustedError(Name(bucket, key) + ": above 1 GiB");
  if (options.seal_key != nullptr && options.seal_key->size() != crypto::kAesGcmKeySize) {
    return InvalidArgumentError("object seal key must be 32 bytes");
  }
  const uint64_t chunks = data.empty() ? 0 : (data.size() + chunk_size_ - 1) / chunk_size_;
  // Seal before the transaction, so a retried transaction reuses the same ciphertext.
  std::vector<Bytes> stored;
  stored.reserve(chunks);
  for (uint64_t seq = 0; seq < chunks; ++seq) {
    const size_t at = static_cast<size_t>(seq) * chunk_size_;
    const ByteSpan part = data.subspan(at, std::min(chunk_size_, data.size() - at));
    if (options.seal_key == nullptr) {
      stored.emplace_back(part.begin(), part.end());
      continue;
    }
    ASSIGN_OR_RETURN(Bytes nonce, crypto::RandomBytes(crypto::kAesGcmNonceSize));
    ASSIGN_OR_RETURN(Bytes sealed, crypto::Aes256GcmSeal(options.seal_key->view(), nonce,
                                                          ChunkAad(bucket, key, seq, chunks), part));
    nonce.insert(nonce.end(), sealed.begin(), sealed.end());
    stored.push_back(std::move(nonce));
  }
  const std::string digest = HexEncode(crypto::Sha256(data));
  const int64_t now = NowMs();
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    const Params name = {Value(bucket), Value(key)};
    RETURN_IF_ERROR(c.Exec("DELETE FROM object_chunks WHERE bucket = $1 AND object_key = $2", name));
    RETURN_IF_ERROR(c.Exec("DELETE FROM objects WHERE bucket = $1 AND object_key = $2", name));
    RETURN_IF_ERROR(c.Exec(
        "INSERT INTO objects (bucket, object_key, size, sha256, content_type, sealed, chunks, "
        "created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        {Value(bucket), Value(key), Value(static_cast<int64_t>(data.size())), Value(digest),
         Value(options.content_type), Value(options.seal_key != nullptr),
         Value(static_cast<int64_t>(chunks)), Value(now),
         options.expires_ms > 0 ? Value(options.expires_ms) : Value::Null()}));
    for (uint64_t seq = 0; seq < chunks; ++seq) {
      RETURN_IF_ERROR(c.Exec(
          "INSERT INTO object_chunks (bucket, object_key, seq, data) VALUES ($1, $2, $3, $4)",
          {Value(bucket), Value(key), Value(static_cast<int64_t>(seq)), Value(stored[seq])}));
    }
    return OkStatus();
  });
}

StatusOr<ObjectInfo> ObjectStore::Stat(std::string_view bucket, std::string_view key) const {
  RETURN_IF_ERROR(ValidateObjectName(bucket, key));
  ObjectInfo info;
  const int64_t now = NowMs();
  const Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto rows, c.Query(std::string("SELECT ") + kInfoColumns +
                                            " FROM objects WHERE bucket = $1 AND object_key = $2",
                                        {Value(bucket), Value(key)}));
    if (rows.empty()) return NotFoundError(Name(bucket, key) + " not found");
    info = InfoFromRow(rows, 0);
    return OkStatus();
  });
  RETURN_IF_ERROR(tx);
  if (info.expires_ms > 0 && now >= info.expires_ms) return NotFoundError(Name(bucket, key) + " not found (expired)");
  return info;
}

StatusOr<Bytes> ObjectStore::Get(std::string_view bucket, std::string_view key,
                                 const SecureBuffer* seal_key) const {
  RETURN_IF_ERROR(ValidateObjectName(bucket, key));
  ObjectInfo info;
  uint64_t chunks = 0;
  std::vector<Bytes> parts;
  const Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    parts.clear();
    ASSIGN_OR_RETURN(auto rows, c.Query(std::string("SELECT ") + kInfoColumns +
                                            " FROM objects WHERE bucket = $1 AND object_key = $2",
                                        {Value(bucket), Value(key)}));
    if (rows.empty()) return NotFoundError(Name(bucket, key) + " not found");
    info = InfoFromRow(rows, 0);
    chunks = static_cast<uint64_t>(rows.Int(0, 8));
    ASSIGN_OR_RETURN(auto data, c.Query("SELECT seq, data FROM object_chunks WHERE bucket = $1 AND "
                                        "object_key = $2 ORDER BY seq",
                                        {Value(bucket), Value(key)}));
    for (size_t i = 0; i < data.size(); ++i) {
      if (static_cast<uint64_t>(data.Int(i, 0)) != i) return InternalError(Name(bucket, key) + " is corrupt: a chunk is missing");
      parts.push_back(data.Blob(i, 1));
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(tx);
  if (info.expires_ms > 0 && NowMs() >= info.expires_ms) return NotFoundError(Name(bucket, key) + " not found (expired)");
  if (parts.size() != chunks) return InternalError(Name(bucket, key) + " is corrupt: chunk count");
  if (info.sealed && seal_key == nullptr) return FailedPreconditionError(Name(bucket, key) + " is sealed: a key is needed");
  Bytes out;
  out.reserve(info.size);
  for (uint64_t seq = 0; seq < chunks; ++seq) {
    const Bytes& p = parts[seq];
    if (!info.sealed) {
      out.insert(out.end(), p.begin(), p.end());
      continue;
    }
    if (p.size() < crypto::kAesGcmNonceSize + crypto::kAesGcmTagSize) {
      return UnauthenticatedError(Name(bucket, key) + ": a sealed chunk is too short");
    }
    const ByteSpan all(p);
    auto plain = crypto::Aes256GcmOpen(seal_key->view(), all.first(crypto::kAesGcmNonceSize),
                                       ChunkAad(bucket, key, seq, chunks),
                                       all.subspan(crypto::kAesGcmNonceSize));
    if (!plain.ok()) return UnauthenticatedError(Name(bucket, key) + ": cannot open (wrong key or altered chunk)");
    out.insert(out.end(), plain->data(), plain->data() + plain->size());
  }
  if (out.size() != info.size || crypto::Sha256(out) != info.sha256) {
    return InternalError(Name(bucket, key) + " is corrupt: its content does not match its SHA-256");
  }
  return out;
}

Status ObjectStore::Delete(std::string_view bucket, std::string_view key) {
  RETURN_IF_ERROR(ValidateObjectName(bucket, key));
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    const Params name = {Value(bucket), Value(key)};
    RETURN_IF_ERROR(c.Exec("DELETE FROM object_chunks WHERE bucket = $1 AND object_key = $2", name));
    return c.Exec("DELETE FROM objects WHERE bucket = $1 AND object_key = $2", name);
  });
}

StatusOr<std::vector<ObjectInfo>> ObjectStore::List(std::string_view bucket, std::string_view prefix,
                                                    size_t limit) const {
  if (prefix.empty()) {
    RETURN_IF_ERROR(ValidateObjectName(bucket, "x"));
  } else {
    RETURN_IF_ERROR(ValidateObjectName(bucket, prefix));
  }
  std::vector<ObjectInfo> out;
  const int64_t now = NowMs();
  // Keys are compared as a range [prefix, prefix + 0x7f): keys are printable ASCII.
  const std::string hi = std::string(prefix) + "\x7f";
  const Status tx = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    out.clear();
    ASSIGN_OR_RETURN(auto rows, c.Query(std::string("SELECT ") + kInfoColumns +
                                            " FROM objects WHERE bucket = $1 AND object_key >= $2 AND "
                                            "object_key < $3 AND (expires_at IS NULL OR expires_at > $4) "
                                            "ORDER BY object_key LIMIT $5",
                                        {Value(bucket), Value(prefix), Value(hi), Value(now),
                                         Value(static_cast<int64_t>(limit))}));
    for (size_t i = 0; i < rows.size(); ++i) out.push_back(InfoFromRow(rows, i));
    return OkStatus();
  });
  RETURN_IF_ERROR(tx);
  return out;
}

StatusOr<size_t> ObjectStore::SweepExpired(int64_t now_ms, size_t limit) {
  size_t removed = 0;
  const Status tx = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    removed = 0;
    ASSIGN_OR_RETURN(auto rows, c.Query("SELECT bucket, object_key FROM objects WHERE expires_at IS NOT NULL "
                                        "AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
                                        {Value(now_ms), Value(static_cast<int64_t>(limit))}));
    for (size_t i = 0; i < rows.size(); ++i) {
      const Params name = {Value(rows.Text(i, 0)), Value(rows.Text(i, 1))};
      RETURN_IF_ERROR(c.Exec("DELETE FROM object_chunks WHERE bucket = $1 AND object_key = $2", name));
      RETURN_IF_ERROR(c.Exec("DELETE FROM objects WHERE bucket = $1 AND object_key = $2", name));
      ++removed;
    }
    return OkStatus();
  });
  RETURN_IF_ERROR(tx);
  return removed;
}

}  // namespace vp::objects
