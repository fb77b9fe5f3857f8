// The sealed-file master-key backend. Keys only ever sit in SecureBuffers: the keyring is
// built and decrypted in locked memory, and the file key is kept (not the passphrase) so a
// rotation can rewrite the file without asking the operator again.
#include "vp/kms/file_backend.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "vp/crypto/aead.h"
#include "vp/crypto/random.h"

namespace vp::kms {
namespace {

using crypto::ScryptParams;

constexpr size_t kSaltSize = 16;
constexpr size_t kKeySize = 32;
// magic(4) version(1) n(8) r(4) p(4) salt(16) nonce(12) ct_len(4)
constexpr size_t kHeaderSize = 4 + 1 + 8 + 4 + 4 + kSaltSize + crypto::kAesGcmNonceSize + 4;
constexpr size_t kMaxFileBytes = 64 * 1024;
constexpr size_t kMaxRingKeys = 16;
constexpr uint8_t kStateActive = 1;
constexpr uint8_t kStateRetiring = 2;

Status ErrnoError(std::string_view what, const std::string& path, int err,
                  std::string_view context = "master key file") {
  std::string msg = std::string(context) + ": " + std::string(what) + " " + path + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: return NotFoundError(std::move(msg));
    case EEXIST: return AlreadyExistsError(std::move(msg));
    case EACCES:
    case EPERM: return PermissionDeniedError(std::move(msg));
    case ENOSPC:
    case EDQUOT: return ResourceExhaustedError(std::move(msg));
    default: return UnavailableError(std::move(msg));
  }
}

uint64_t ReadBigEndian(ByteSpan b) {
  uint64_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return v;
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status WriteAll(int fd, ByteSpan data, const std::string& path) {
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write", path, errno);
    }
    off += static_cast<size_t>(n);
  }
  return OkStatus();
}

Status FsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoError("cannot fsync directory", dir, err);
  return OkStatus();
}

// Writes data to a 0600 temp file beside path, fsyncs it, then publishes it: with
// exclusive=true by link() (fails with kAlreadyExists if path exists, atomically), else by
// rename() over the old file. The directory is fsync'd so the new name survives a crash.
Status WriteFileAtomically(const std::string& path, ByteSpan data, bool exclusive) {
  std::string tmp = path + ".tmp.XXXXXX";
  const int fd = ::mkostemp(tmp.data(), O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot create temp file for", path, errno);
  Status st = OkStatus();
  if (::fchmod(fd, S_IRUSR | S_IWUSR) != 0) st = ErrnoError("cannot chmod", tmp, errno);
  if (st.ok()) st = WriteAll(fd, data, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = ErrnoError("cannot fsync", tmp, errno);
  if (::close(fd) != 0 && st.ok()) st = ErrnoError("cannot close", tmp, errno);
  if (st.ok()) {
    if (exclusive) {
      if (::link(tmp.c_str(), path.c_str()) != 0) st = ErrnoError("cannot create", path, errno);
    } else if (::rename(tmp.c_str(), path.c_str()) != 0) {
      st = ErrnoError("cannot replace", path, errno);
    }
  }
  // After link() the temp name is a second name for the same file; after rename() it is gone.
  if (exclusive || !st.ok()) ::unlink(tmp.c_str());
  RETURN_IF_ERROR(st);
  return FsyncDir(DirName(path));
}

StatusOr<Bytes> ReadSmallFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path, errno);
  Bytes out;
  uint8_t buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return ErrnoError("cannot read", path, err);
    }
    if (n == 0) break;
    out.insert(out.end(), buf, buf + n);
    if (out.size() > kMaxFileBytes) {
      ::close(fd);
      return InvalidArgumentError("master key file: " + path + " is larger than any sealed master-key file");
    }
  }
  ::close(fd);
  return out;
}

struct RingKey {
  std::string id;
  SecureBuffer key;
};

// The ring: active first, then retiring keys in the order they were created.
struct Ring {
  std::vector<RingKey> keys;
};

uint64_t KeyNumber(std::string_view id) {
  if (id.size() < 4 || id.substr(0, 3) != "mk-" || id[3] == '0' || id.size() > 3 + 9) return 0;
  uint64_t n = 0;
  for (char c : id.substr(3)) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n;
}

// count(1) then per key: len(1) id state(1) key(32).
SecureBuffer SerializeRing(const Ring& ring) {
  size_t size = 1;
  for (const RingKey& k : ring.keys) size += 1 + k.id.size() + 1 + kKeySize;
  SecureBuffer out(size);
  uint8_t* p = out.data();
  *p++ = static_cast<uint8_t>(ring.keys.size());
  for (size_t i = 0; i < ring.keys.size(); ++i) {
    const RingKey& k = ring.keys[i];
    *p++ = static_cast<uint8_t>(k.id.size());
    std::memcpy(p, k.id.data(), k.id.size());
    p += k.id.size();
    *p++ = i == 0 ? kStateActive : kStateRetiring;
    std::memcpy(p, k.key.data(), kKeySize);
    p += kKeySize;
  }
  return out;
}

StatusOr<Ring> ParseRing(ByteSpan in) {
  const Status bad = InvalidArgumentError("master key file: malformed key ring");
  if (in.empty()) return bad;
  const size_t count = in[0];
  if (count == 0 || count > kMaxRingKeys) return bad;
  size_t pos = 1;
  Ring active, retiring;
  for (size_t i = 0; i < count; ++i) {
    if (pos >= in.size()) return bad;
    const size_t id_len = in[pos++];
    if (in.size() - pos < id_len + 1 + kKeySize) return bad;
    RingKey k;
    k.id.assign(AsString(in.subspan(pos, id_len)));
    pos += id_len;
    if (!IsValidMasterKeyId(k.id)) return bad;
    const uint8_t state = in[pos++];
    k.key = SecureBuffer::CopyOf(in.subspan(pos, kKeySize));
    pos += kKeySize;
    if (state == kStateActive) {
      active.keys.push_back(std::move(k));
    } else if (state == kStateRetiring) {
      retiring.keys.push_back(std::move(k));
    } else {
      return bad;
    }
  }
  if (active.keys.size() != 1 || pos != in.size()) return bad;
  for (RingKey& r : retiring.keys) active.keys.push_back(std::move(r));
  for (size_t i = 0; i < active.keys.size(); ++i) {
    for (size_t j = i + 1; j < active.keys.size(); ++j) {
      if (active.keys[i].id == active.keys[j].id) return bad;
    }
  }
  return active;
}

struct Header {
  ScryptParams params;
  ByteArray<kSaltSize> salt{};
  ByteArray<crypto::kAesGcmNonceSize> nonce{};
  size_t ct_len = 0;
};

Bytes EncodeHeader(const Header& h) {
  Bytes out;
  out.reserve(kHeaderSize);
  for (char c : kSealedFileMagic) out.push_back(static_cast<uint8_t>(c));
  out.push_back(kSealedFileVersion);
  AppendBigEndian(out, h.params.n, 8);
  AppendBigEndian(out, h.params.r, 4);
  AppendBigEndian(out, h.params.p, 4);
  Append(out, h.salt);
  Append(out, h.nonce);
  AppendBigEndian(out, h.ct_len, 4);
  return out;
}

StatusOr<Header> DecodeHeader(ByteSpan file) {
  if (file.size() < kHeaderSize) return InvalidArgumentError("master key file: truncated header");
  for (size_t i = 0; i < 4; ++i) {
    if (file[i] != static_cast<uint8_t>(kSealedFileMagic[i])) {
      return InvalidArgumentError("master key file: not a sealed master-key file (bad magic)");
    }
  }
  if (file[4] != kSealedFileVersion) {
    return InvalidArgumentError("master key file: unsupported version " + std::to_string(file[4]));
  }
  Header h;
  h.params.n = ReadBigEndian(file.subspan(5, 8));
  h.params.r = static_cast<uint32_t>(ReadBigEndian(file.subspan(13, 4)));
  h.params.p = static_cast<uint32_t>(ReadBigEndian(file.subspan(17, 4)));
  Status ps = crypto::CheckScryptParams(h.params);
  if (!ps.ok()) return ps.Annotate("master key file");
  std::memcpy(h.salt.data(), file.data() + 21, kSaltSize);
  std::memcpy(h.nonce.data(), file.data() + 21 + kSaltSize, crypto::kAesGcmNonceSize);
  h.ct_len = static_cast<size_t>(ReadBigEndian(file.subspan(kHeaderSize - 4, 4)));
  if (h.ct_len != file.size() - kHeaderSize) {
    return InvalidArgumentError("master key file: length does not match its header");
  }
  return h;
}

// Seals the ring under file_key with a fresh nonce: header || AES-GCM(ring; aad = header).
StatusOr<Bytes> SealRing(const Ring& ring, ByteSpan file_key, const ScryptParams& params, ByteSpan salt) {
  SecureBuffer plain = SerializeRing(ring);
  Header h;
  h.params = params;
  std::memcpy(h.salt.data(), salt.data(), kSaltSize);
  RETURN_IF_ERROR(crypto::RandomBytes(h.nonce));
  h.ct_len = plain.size() + crypto::kAesGcmTagSize;
  Bytes out = EncodeHeader(h);
  ASSIGN_OR_RETURN(Bytes ct, crypto::Aes256GcmSeal(file_key, h.nonce, out, plain.view()));
  Append(out, ct);
  return out;
}

class FileBackend final : public MasterKeyBackend {
 public:
  FileBackend(std::string path, ScryptParams params, ByteArray<kSaltSize> salt, SecureBuffer file_key, Ring ring)
      : path_(std::move(path)), params_(params), salt_(salt), file_key_(std::move(file_key)),
        ring_(std::move(ring)) {}

  std::string Kind() const override { return "file"; }

  std::string ActiveKeyId() const override {
    std::shared_lock lock(mu_);
    return ring_.keys[0].id;
  }

  std::vector<std::string> KeyIds() const override {
    std::shared_lock lock(mu_);
    std::vector<std::string> ids;
    for (const RingKey& k : ring_.keys) ids.push_back(k.id);
    return ids;
  }

  StatusOr<WrappedKey> Wrap(ByteSpan plaintext, ByteSpan aad) override {
    if (plaintext.empty() || plaintext.size() > kWrapMaxPlaintext) {
      return InvalidArgumentError("wrap: plaintext must be 1.." + std::to_string(kWrapMaxPlaintext) + " bytes");
    }
    WrappedKey w;
    w.nonce.resize(kWrapNonceSize);
    RETURN_IF_ERROR(crypto::RandomBytes(std::span<uint8_t>(w.nonce)));
    std::shared_lock lock(mu_);
    const RingKey& active = ring_.keys[0];
    w.master_key_id = active.id;
    ASSIGN_OR_RETURN(w.ciphertext,
                     crypto::Aes256GcmSeal(active.key.view(), w.nonce, WrapAssociatedData(active.id, aad), plaintext));
    return w;
  }

  StatusOr<SecureBuffer> Unwrap(const WrappedKey& w, ByteSpan aad) override {
    if (!IsValidMasterKeyId(w.master_key_id) || w.nonce.size() != kWrapNonceSize ||
        w.ciphertext.size() < kWrapMinCiphertext || w.ciphertext.size() > kWrapMaxCiphertext) {
      return InvalidArgumentError("unwrap: malformed wrapped key");
    }
    std::shared_lock lock(mu_);
    for (const RingKey& k : ring_.keys) {
      if (k.id != w.master_key_id) continue;
      auto plain = crypto::Aes256GcmOpen(k.key.view(), w.nonce, WrapAssociatedData(k.id, aad), w.ciphertext);
      if (!plain.ok() && plain.status().code() == StatusCode::kUnauthenticated) {
        return UnauthenticatedError("unwrap: authentication failed (wrong context or tampered key)");
      }
      return plain;
    }
    return NotFoundError("unwrap: master key " + w.master_key_id + " is not in the ring");
  }

  Status BeginRotation() override {
    std::unique_lock lock(mu_);
    if (ring_.keys.size() > 1) return FailedPreconditionError("rotation: a rotation is already in progress");
    uint64_t max_n = 0;
    for (const RingKey& k : ring_.keys) max_n = std::max(max_n, KeyNumber(k.id));
    RingKey fresh;
    fresh.id = "mk-" + std::to_string(max_n + 1);
    ASSIGN_OR_RETURN(fresh.key, crypto::RandomSecret(kKeySize));
    Ring next;
    next.keys.push_back(std::move(fresh));
    for (const RingKey& k : ring_.keys) next.keys.push_back({k.id, SecureBuffer::CopyOf(k.key.view())});
    RETURN_IF_ERROR(Persist(next));
    ring_ = std::move(next);
    return OkStatus();
  }

  Status FinishRotation() override {
    std::unique_lock lock(mu_);
    if (ring_.keys.size() < 2) return FailedPreconditionError("rotation: no rotation in progress");
    Ring next;
    next.keys.push_back({ring_.keys[0].id, SecureBuffer::CopyOf(ring_.keys[0].key.view())});
    RETURN_IF_ERROR(Persist(next));
    ring_ = std::move(next);  // the retired keys are wiped as their SecureBuffers go
    return OkStatus();
  }

 private:
  Status Persist(const Ring& ring) {
    ASSIGN_OR_RETURN(Bytes sealed, SealRing(ring, file_key_.view(), params_, salt_));
    return WriteFileAtomically(path_, sealed, /*exclusive=*/false);
  }

  const std::string path_;
  const ScryptParams params_;
  const ByteArray<kSaltSize> salt_;
  const SecureBuffer file_key_;
  mutable std::shared_mutex mu_;
  Ring ring_;  // GUARDED_BY(mu_): never empty, active first
};

StatusOr<SecureBuffer> ReadPassphrase(int fd, const std::string& what) {
  // Room for the longest passphrase plus "\r\n" plus one byte that proves it is too long.
  SecureBuffer buf(kMaxPassphraseBytes + 3);
  size_t len = 0;
  while (len < buf.size()) {
    const ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read", what, errno, "passphrase");
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  if (len == buf.size()) return InvalidArgumentError("passphrase: longer than 4096 bytes");
  if (len > 0 && buf.data()[len - 1] == '\n') {
    --len;
    if (len > 0 && buf.data()[len - 1] == '\r') --len;
  }
  if (len > kMaxPassphraseBytes) return InvalidArgumentError("passphrase: longer than 4096 bytes");
  if (len == 0) return InvalidArgumentError("passphrase: empty");
  return SecureBuffer::CopyOf(ByteSpan(buf.data(), len));
}

}  // namespace

Status CreateSealedMasterKeyFile(const std::string& path, ByteSpan passphrase, const ScryptParams& params) {
  if (passphrase.empty()) return InvalidArgumentError("master key file: empty passphrase");
  if (passphrase.size() > kMaxPassphraseBytes) return InvalidArgumentError("master key file: passphrase too long");
  RETURN_IF_ERROR(crypto::CheckScryptParams(params));
  struct stat st;
  if (::lstat(path.c_str(), &st) == 0) return AlreadyExistsError("master key file: " + path + " already exists");
  ByteArray<kSaltSize> salt{};
  RETURN_IF_ERROR(crypto::RandomBytes(salt));
  ASSIGN_OR_RETURN(SecureBuffer file_key, crypto::Scrypt(passphrase, salt, params, kKeySize));
  Ring ring;
  RingKey first;
  first.id = "mk-1";
  ASSIGN_OR_RETURN(first.key, crypto::RandomSecret(kKeySize));
  ring.keys.push_back(std::move(first));
  ASSIGN_OR_RETURN(Bytes sealed, SealRing(ring, file_key.view(), params, salt));
  return WriteFileAtomically(path, sealed, /*exclusive=*/true);
}

StatusOr<std::unique_ptr<MasterKeyBackend>> OpenFileBackend(const std::string& path, SecureBuffer passphrase) {
  if (passphrase.empty()) return InvalidArgumentError("master key file: empty passphrase");
  ASSIGN_OR_RETURN(Bytes file, ReadSmallFile(path));
  ASSIGN_OR_RETURN(Header h, DecodeHeader(file));
  ASSIGN_OR_RETURN(SecureBuffer file_key, crypto::Scrypt(passphrase.view(), h.salt, h.params, kKeySize));
  const ByteSpan all(file);
  auto plain = crypto::Aes256GcmOpen(file_key.view(), h.nonce, all.first(kHeaderSize), all.subspan(kHeaderSize));
  if (!plain.ok()) {
    if (plain.status().code() == StatusCode::kUnauthenticated || plain.status().code() == StatusCode::kInvalidArgument) {
      return UnauthenticatedError("master key file: wrong passphrase or corrupted file");
    }
    return plain.status();
  }
  ASSIGN_OR_RETURN(Ring ring, ParseRing(plain->view()));
  return std::unique_ptr<MasterKeyBackend>(
      std::make_unique<FileBackend>(path, h.params, h.salt, std::move(file_key), std::move(ring)));
}

StatusOr<SecureBuffer> ReadPassphraseFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("cannot open", path, errno, "passphrase");
  auto r = ReadPassphrase(fd, path);
  ::close(fd);
  return r;
}

StatusOr<SecureBuffer> ReadPassphraseFd(int fd) {
  if (fd < 0) return InvalidArgumentError("passphrase: bad file descriptor");
  return ReadPassphrase(fd, "fd " + std::to_string(fd));
}

}  // namespace vp::kms
