// The audit digest signing key file <data-dir>/audit-signing.key (docs/audit_log.md, 2.1).
// The seed only ever sits in SecureBuffers, hex included.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "vp/audit/audit.h"
#include "vp/crypto/random.h"

namespace vp::audit {
namespace {

constexpr size_t kSeedBytes = 32;
constexpr size_t kMaxFileBytes = 256;

std::string KeyPath(const std::string& data_dir) {
  std::string p = data_dir.empty() ? std::string(".") : data_dir;
  if (p.back() != '/') p += '/';
  p += FileDigestSigner::kFileName;
  return p;
}

Status ErrnoError(std::string_view what, const std::string& path, int err) {
  std::string msg = "audit key: " + std::string(what) + " " + path + ": " + std::strerror(err);
  if (err == EACCES || err == EPERM) return PermissionDeniedError(std::move(msg));
  return UnavailableError(std::move(msg));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

StatusOr<std::shared_ptr<FileDigestSigner>> LoadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) {
    const int err = errno;
    if (err == ENOENT) return NotFoundError("audit key: " + path + " does not exist");
    return ErrnoError("cannot open", path, err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoError("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) return FailedPreconditionError("audit key: " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    return FailedPreconditionError("audit key: " + path +
                                   " is accessible by group or others; it must be mode 0600");
  }
  SecureBuffer buf(kMaxFileBytes + 1);
  size_t used = 0;
  while (used < buf.size()) {
    const ssize_t n = ::read(fd.get(), buf.data() + used, buf.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot read", path, errno);
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  if (used > kMaxFileBytes) return InvalidArgumentError("audit key: " + path + " is too large");
  std::string_view text(reinterpret_cast<const char*>(buf.data()), used);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.remove_suffix(1);
  }
  if (text.size() != 2 * kSeedBytes) {
    return InvalidArgumentError("audit key: " + path + " must hold 64 hex characters");
  }
  auto seed = HexDecodeSecret(text);
  if (!seed.ok()) return InvalidArgumentError("audit key: " + path + " is not hex");
  return FileDigestSigner::FromSeed(seed->view());
}

// Writes a fresh key to a private temporary file and links it into place: link() fails
// with EEXIST when another process got there first, and then its key is the one used.
Status CreateFile(const std::string& path) {
  ASSIGN_OR_RETURN(SecureBuffer seed, crypto::Ed25519GenerateSeed());
  SecureBuffer text(2 * kSeedBytes + 1);
  static constexpr char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < kSeedBytes; ++i) {
    text.data()[2 * i] = static_cast<uint8_t>(kHex[seed.data()[i] >> 4]);
    text.data()[2 * i + 1] = static_cast<uint8_t>(kHex[seed.data()[i] & 0x0F]);
  }
  text.data()[2 * kSeedBytes] = '\n';

  ASSIGN_OR_RETURN(Bytes nonce, crypto::RandomBytes(8));
  const std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + HexEncode(nonce);
  {
    Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (fd.get() < 0) return ErrnoError("cannot create", tmp, errno);
    if (::fchmod(fd.get(), 0600) != 0) {  // whatever the umask was
      const int err = errno;
      ::unlink(tmp.c_str());
      return ErrnoError("cannot chmod", tmp, err);
    }
    size_t done = 0;
    while (done < text.size()) {
      const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
      if (n < 0) {
        if (errno == EINTR) continue;
        const int err = errno;
        ::unlink(tmp.c_str());
        return ErrnoError("cannot write", tmp, err);
      }
      done += static_cast<size_t>(n);
    }
    if (::fsync(fd.get()) != 0) {
      const int err = errno;
      ::unlink(tmp.c_str());
      return ErrnoError("cannot sync", tmp, err);
    }
  }
  const int rc = ::link(tmp.c_str(), path.c_str());
  const int err = errno;
  ::unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) return ErrnoError("cannot link", path, err);
  // Make the new directory entry durable too.
  const auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() >= 0) (void)::fsync(dfd.get());
  return OkStatus();
}

}  // namespace

StatusOr<std::shared_ptr<FileDigestSigner>> FileDigestSigner::FromSeed(ByteSpan seed) {
  if (seed.size() != kSeedBytes) return InvalidArgumentError("audit key: seed must be 32 bytes");
  ASSIGN_OR_RETURN(crypto::Ed25519Public pub, crypto::Ed25519PublicKey(seed));
  return std::make_shared<FileDigestSigner>(SecureBuffer::CopyOf(seed), pub);
}

StatusOr<std::shared_ptr<FileDigestSigner>> FileDigestSigner::Load(const std::string& data_dir) {
  return LoadFile(KeyPath(data_dir));
}

StatusOr<std::shared_ptr<FileDigestSigner>> FileDigestSigner::LoadOrCreate(const std::string& data_dir) {
  const std::string path = KeyPath(data_dir);
  auto loaded = LoadFile(path);
  if (loaded.ok() || loaded.status().code() != StatusCode::kNotFound) return loaded;
  if (!data_dir.empty() && ::mkdir(data_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoError("cannot create directory", data_dir, errno);
  }
  RETURN_IF_ERROR(CreateFile(path));
  return LoadFile(path);
}

StatusOr<crypto::Ed25519Signature> FileDigestSigner::Sign(ByteSpan message) const {
  return crypto::Ed25519Sign(seed_.view(), message);
}

}  // namespace vp::audit
