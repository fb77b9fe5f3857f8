#include "vp/http/api_key_service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "vp/crypto/random.h"
#include "vp/http/vp1_auth.h"

namespace vp::http {
namespace {

constexpr int64_t kNegativeCacheMs = 1000;

StatusOr<SecureBuffer> ReadPepper(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    if (errno == ENOENT) return NotFoundError("pepper: " + path + " does not exist");
    return UnavailableError("pepper: cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return UnavailableError("pepper: cannot stat " + path);
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    return FailedPreconditionError("pepper: " + path + " must not be accessible by group or others (chmod 600)");
  }
  SecureBuffer text(80);
  ssize_t n = ::read(fd, text.data(), text.size());
  ::close(fd);
  if (n != 65 || text.data()[64] != '\n') return InvalidArgumentError("pepper: " + path + " is malformed");
  auto pepper = HexDecodeSecret(AsString(ByteSpan(text.data(), 64)));
  if (!pepper.ok() || pepper->size() != 32) return InvalidArgumentError("pepper: " + path + " is malformed");
  return std::move(*pepper);
}

}  // namespace

StatusOr<SecureBuffer> ApiKeyService::LoadOrCreatePepper(const std::string& data_dir) {
  const std::string path = data_dir + "/" + std::string(kPepperFileName);
  auto existing = ReadPepper(path);
  if (existing.ok() || existing.status().code() != StatusCode::kNotFound) return existing;
  ASSIGN_OR_RETURN(SecureBuffer pepper, crypto::RandomSecret(32));
  std::string hex = HexEncode(pepper.view()) + "\n";
  // Written to a private temporary name and linked into place: of two processes starting
  // at once, exactly one link succeeds and both then read the same file.
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    SecureWipe(hex.data(), hex.size());
    return UnavailableError("pepper: cannot create " + tmp + ": " + std::strerror(errno));
  }
  bool ok = ::write(fd, hex.data(), hex.size()) == static_cast<ssize_t>(hex.size()) && ::fsync(fd) == 0;
  ::close(fd);
  SecureWipe(hex.data(), hex.size());
  if (!ok) {
    ::unlink(tmp.c_str());
    return UnavailableError("pepper: cannot write " + tmp);
  }
  int link_rc = ::link(tmp.c_str(), path.c_str());
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (link_rc != 0 && link_errno != EEXIST) {
    return UnavailableError("pepper: cannot create " + path + ": " + std::strerror(link_errno));
  }
  return ReadPepper(path);
}

ApiKeyService::ApiKeyService(store::Db& db, SecureBuffer pepper, int64_t cache_ms)
    : db_(db), repo_(db), pepper_(std::move(pepper)), cache_ms_(cache_ms) {}

StatusOr<CreatedApiKey> ApiKeyService::Create(std::string_view role, std::string_view name, int64_t now_ms) {
  if (!store::IsValidApiKeyRole(role)) {
    return InvalidArgumentError("role: must be one of admin, operator, approver, auditor");
  }
  if (name.empty() || name.size() > 128) return InvalidArgumentError("name: must be 1..128 bytes");
  ASSIGN_OR_RETURN(Bytes id_bytes, crypto::RandomBytes(10));
  ASSIGN_OR_RETURN(Bytes nonce_bytes, crypto::RandomBytes(16));
  ASSIGN_OR_RETURN(Bytes salt, crypto::RandomBytes(16));
  CreatedApiKey out;
  out.record.id = "ak_" + HexEncode(id_bytes);
  out.record.name = std::string(name);
  out.record.role = std::string(role);
  out.record.derivation_nonce = HexEncode(nonce_bytes);
  out.record.salt = salt;
  out.record.created_at_ms = now_ms;
  SecureBuffer secret = DeriveApiKeySecret(pepper_.view(), out.record.id, out.record.derivation_nonce);
  ByteArray<32> hash = ApiKeySecretHash(salt, secret.view());
  out.record.secret_hash.assign(hash.begin(), hash.end());
  RETURN_IF_ERROR(repo_.Create(out.record));
  out.secret = std::string(AsString(secret.view()));
  return out;
}

StatusOr<std::vector<store::ApiKey>> ApiKeyService::List() { return repo_.List(); }

Status ApiKeyService::SetDisabled(std::string_view id, bool disabled) {
  RETURN_IF_ERROR(repo_.SetDisabled(id, disabled));
  std::unique_lock lock(mu_);
  cache_.erase(std::string(id));
  return OkStatus();
}

std::shared_ptr<const CachedApiKey> ApiKeyService::Cached(std::string_view id, int64_t now_ms) const {
  std::shared_lock lock(mu_);
  auto it = cache_.find(std::string(id));
  if (it == cache_.end()) return nullptr;
  const CachedApiKey& k = *it->second;
  int64_t ttl = k.found ? cache_ms_ : kNegativeCacheMs;
  if (now_ms - k.loaded_at_ms >= ttl || now_ms < k.loaded_at_ms) return nullptr;
  return it->second;
}

StatusOr<std::shared_ptr<const CachedApiKey>> ApiKeyService::Load(std::string_view id, int64_t now_ms) {
  auto entry = std::make_shared<CachedApiKey>();
  entry->id = std::string(id);
  entry->loaded_at_ms = now_ms;
  auto row = repo_.Get(id);
  if (!row.ok() && row.status().code() != StatusCode::kNotFound) return row.status();
  if (row.ok()) {
    SecureBuffer secret = DeriveApiKeySecret(pepper_.view(), row->id, row->derivation_nonce);
    ByteArray<32> hash = ApiKeySecretHash(row->salt, secret.view());
    if (!ConstantTimeEqual(hash, row->secret_hash)) {
      return InternalError("api key " + row->id + ": stored hash does not match the derivation (wrong pepper?)");
    }
    entry->found = true;
    entry->role = row->role;
    entry->disabled = row->disabled;
    entry->secret = std::move(secret);
  }
  std::shared_ptr<const CachedApiKey> out = entry;
  std::unique_lock lock(mu_);
  cache_[entry->id] = out;
  return out;
}

void ApiKeyService::NoteUse(std::string_view id, int64_t now_ms) {
  std::lock_guard<std::mutex> lock(use_mu_);
  int64_t& t = last_used_[std::string(id)];
  if (now_ms > t) t = now_ms;
}

Status ApiKeyService::FlushLastUsed() {
  std::unordered_map<std::string, int64_t> pending;
  {
    std::lock_guard<std::mutex> lock(use_mu_);
    pending.swap(last_used_);
  }
  Status first;
  for (const auto& [id, t] : pending) {
    Status s = repo_.TouchLastUsed(id, t);
    if (!s.ok() && s.code() != StatusCode::kNotFound && first.ok()) first = s;
  }
  return first;
}

}  // namespace vp::http
