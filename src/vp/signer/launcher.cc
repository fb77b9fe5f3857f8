// Launcher: measured start of the signer (memfd + fexecve), kms start, bootstrap,
// attestation, supervision with backoff.
#include "vp/signer/launcher.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"
#include "vp/ipc/socket.h"
#include "vp/kms/attestation.h"

namespace vp::signer {
namespace {

using nlohmann::json;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

// When to try again after `failures` consecutive failed or short-lived starts: 100 ms,
// doubling, at most 5 s.
int64_t NextStartMs(int failures) {
  return NowMs() + std::min<int64_t>(5000, int64_t{100} << std::clamp(failures - 1, 0, 6));
}

int OpenLog(const std::string& dir, const char* name) {
  if (dir.empty()) return -1;
  const std::string path = dir + "/" + name;
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

std::vector<char*> Argv(std::vector<std::string>& args) {
  std::vector<char*> out;
  for (auto& a : args) out.push_back(a.data());
  out.push_back(nullptr);
  return out;
}

// In the child, between fork and exec: async-signal-safe calls only.
[[noreturn]] void ChildExec(int image_fd, const char* path, char* const* argv, int stdio_fd, int null_fd,
                            int listen_fd, int boot_fd, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  // Move everything above the target slots first, so dup2 cannot clobber a source.
  const int img = image_fd >= 0 ? ::fcntl(image_fd, F_DUPFD, 16) : -1;
  const int lst = listen_fd >= 0 ? ::fcntl(listen_fd, F_DUPFD, 16) : -1;
  const int bt = boot_fd >= 0 ? ::fcntl(boot_fd, F_DUPFD, 16) : -1;
  const int out = stdio_fd >= 0 ? ::fcntl(stdio_fd, F_DUPFD, 16) : -1;
  if (null_fd >= 0) ::dup2(null_fd, 0);
  if (out >= 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
  }
  int next = 3;
  if (lst >= 0) ::dup2(lst, next++);
  if (bt >= 0) ::dup2(bt, next++);
  int exec_fd = -1;
  if (img >= 0) {
    exec_fd = next;
    ::dup2(img, exec_fd);
    ::fcntl(exec_fd, F_SETFD, FD_CLOEXEC);  // the signer never sees its own image fd
    ++next;
  }
  ::syscall(SYS_close_range, static_cast<unsigned>(next), ~0U, 0U);
  static char* const kEnv[] = {nullptr};
  if (exec_fd >= 0) {
    ::syscall(SYS_execveat, exec_fd, "", argv, kEnv, AT_EMPTY_PATH);
  } else {
    ::execv(path, argv);
  }
  ::_exit(127);
}

Status WaitForSocket(const std::string& path, int timeout_ms) {
  const int64_t deadline = NowMs() + timeout_ms;
  while (NowMs() < deadline) {
    auto fd = ipc::ConnectUnix(path);
    if (fd.ok()) {
      ::close(*fd);
      return OkStatus();
    }
    ::usleep(20000);
  }
  return UnavailableError("kms did not start listening at " + path);
}

}  // namespace

StatusOr<std::pair<int, ByteArray<48>>> SealImage(const std::string& path) {
  const int src = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (src < 0) return NotFoundError(Errno("cannot open image " + path));
  const int mfd = static_cast<int>(::syscall(SYS_memfd_create, "vaultproof-image", MFD_CLOEXEC | MFD_ALLOW_SEALING));
  if (mfd < 0) {
    ::close(src);
    return UnavailableError(Errno("memfd_create"));
  }
  Bytes buf(1 << 16);
  for (;;) {
    const ssize_t n = ::read(src, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(src);
      ::close(mfd);
      return UnavailableError(Errno("read image"));
    }
    if (n == 0) break;
    ssize_t off = 0;
    while (off < n) {
      const ssize_t w = ::write(mfd, buf.data() + off, static_cast<size_t>(n - off));
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        ::close(src);
        ::close(mfd);
        return UnavailableError(Errno("write memfd"));
      }
      off += w;
    }
  }
  ::close(src);
  // From here the bytes cannot change: what we hash is what runs.
  if (::fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
    ::close(mfd);
    return UnavailableError(Errno("seal memfd"));
  }
  struct stat st {};
  if (::fstat(mfd, &st) != 0 || st.st_size <= 0) {
    ::close(mfd);
    return InvalidArgumentError("image is empty: " + path);
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, mfd, 0);
  if (map == MAP_FAILED) {
    ::close(mfd);
    return UnavailableError(Errno("mmap memfd"));
  }
  const ByteArray<48> digest = crypto::Sha384(ByteSpan(static_cast<const uint8_t*>(map), size));
  ::munmap(map, size);
  return std::make_pair(mfd, digest);
}

StatusOr<ByteArray<48>> MeasureFile(const std::string& path) {
  ASSIGN_OR_RETURN(auto sealed, SealImage(path));
  ::close(sealed.first);
  return sealed.second;
}

Launcher::Launcher(LauncherOptions options) : options_(std::move(options)) {}

StatusOr<std::unique_ptr<Launcher>> Launcher::Start(LauncherOptions options) {
  if (options.launcher_seed.size() != 32) return InvalidArgumentError("launcher key must be a 32-byte Ed25519 seed");
  if (::geteuid() == 0) {
    if (!options.signer_uid) options.signer_uid = 65534;
    if (!options.signer_gid) options.signer_gid = 65534;
  }
  std::unique_ptr<Launcher> l(new Launcher(std::move(options)));
  ASSIGN_OR_RETURN(l->listen_fd_, ipc::ListenUnix(l->options_.signer_socket, 0600));
  Launcher* raw = l.get();
  l->client_ = std::make_unique<SignerClient>(l->options_.signer_socket, [raw] { return raw->Credentials(); });
  l->supervisor_ = std::thread([raw] { raw->Supervise(); });
  // Up, or given up: a signer that fails its first three starts will not come up by waiting.
  const int64_t deadline = NowMs() + l->options_.start_timeout_ms;
  while (!l->signer_up() && NowMs() < deadline) {
    {
      std::lock_guard lock(l->mu_);
      if (l->signer_failures_ >= 3) break;
    }
    ::usleep(10000);
  }
  if (!l->signer_up()) {
    std::string why;
    {
      std::lock_guard lock(l->mu_);
      why = l->last_error_;
    }
    l->Stop();
    return UnavailableError("signer did not start: " + (why.empty() ? std::string("timed out") : why));
  }
  return l;
}

Launcher::~Launcher() { Stop(); }

void Launcher::Stop() {
  if (stop_.exchange(true)) return;
  if (supervisor_.joinable()) supervisor_.join();
  pid_t pids[2];
  {
    std::lock_guard lock(mu_);
    pids[0] = signer_pid_;
    pids[1] = kms_pid_;
    signer_up_ = false;
  }
  for (pid_t p : pids) {
    if (p > 0) ::kill(p, SIGTERM);
  }
  for (pid_t p : pids) {
    if (p <= 0) continue;
    int status = 0;
    for (int i = 0; i < 300; ++i) {
      if (::waitpid(p, &status, WNOHANG) != 0) break;
      if (i == 299) {
        ::kill(p, SIGKILL);
        ::waitpid(p, &status, 0);
      }
      ::usleep(10000);
    }
  }
  if (boot_fd_ >= 0) ::close(boot_fd_);
  boot_fd_ = -1;
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
  ::unlink(options_.signer_socket.c_str());
}

StatusOr<SignerCredentials> Launcher::Credentials() const {
  std::lock_guard lock(mu_);
  if (!signer_up_ || !auth_key_) return UnavailableError("signer unavailable: not running");
  return SignerCredentials{generation_, auth_key_, signer_public_};
}

bool Launcher::WaitUntilUp(int timeout_ms) const {
  const int64_t deadline = NowMs() + timeout_ms;
  while (NowMs() < deadline) {
    if (signer_up()) return true;
    ::usleep(10000);
  }
  return signer_up();
}

bool Launcher::signer_up() const {
  std::lock_guard lock(mu_);
  return signer_up_;
}
pid_t Launcher::signer_pid() const {
  std::lock_guard lock(mu_);
  return signer_pid_;
}
pid_t Launcher::kms_pid() const {
  std::lock_guard lock(mu_);
  return kms_pid_;
}
int Launcher::signer_starts() const {
  std::lock_guard lock(mu_);
  return signer_starts_;
}
int Launcher::kms_starts() const {
  std::lock_guard lock(mu_);
  return kms_starts_;
}
ByteArray<48> Launcher::measurement() const {
  std::lock_guard lock(mu_);
  return measurement_;
}

json Launcher::StatusJson() const {
  std::lock_guard lock(mu_);
  return json{{"signer", {{"up", signer_up_}, {"pid", signer_pid_}, {"starts", signer_starts_},
                          {"measurement", HexEncode(measurement_)}}},
              {"kms", {{"managed", !options_.kms_binary.empty()}, {"pid", kms_pid_}, {"starts", kms_starts_}}},
              {"lastError", last_error_}};
}

Status Launcher::StartKms() {
  std::vector<std::string> args{options_.kms_binary};
  args.insert(args.end(), options_.kms_args.begin(), options_.kms_args.end());
  auto argv = Argv(args);
  const int log_fd = OpenLog(options_.log_dir, "kms.log");
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) ChildExec(-1, options_.kms_binary.c_str(), argv.data(), log_fd, null_fd, -1, -1, parent);
  if (log_fd >= 0) ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) return UnavailableError(Errno("fork"));
  {
    std::lock_guard lock(mu_);
    kms_pid_ = pid;
    ++kms_starts_;
    kms_up_since_ms_ = NowMs();
  }
  return WaitForSocket(options_.kms_socket, 10000);
}

Status Launcher::StartSigner() {
  ASSIGN_OR_RETURN(auto image, SealImage(options_.signer_binary));
  const int image_fd = image.first;
  const ByteArray<48> measured = image.second;
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ::close(image_fd);
    return UnavailableError(Errno("socketpair"));
  }
  std::vector<std::string> args{"vaultproof-signer"};
  auto argv = Argv(args);
  const int log_fd = OpenLog(options_.log_dir, "signer.log");
  const int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid == 0) ChildExec(image_fd, nullptr, argv.data(), log_fd, null_fd, listen_fd_, sv[1], parent);
  ::close(image_fd);
  ::close(sv[1]);
  if (log_fd >= 0) ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);
  if (pid < 0) {
    ::close(sv[0]);
    return UnavailableError(Errno("fork"));
  }
  {
    std::lock_guard lock(mu_);
    signer_pid_ = pid;
    ++signer_starts_;
    measurement_ = measured;
    signer_up_since_ms_ = NowMs();  // a start that fails at once is not "stable"
  }
  ipc::Connection boot(sv[0]);
  auto fail = [&](const std::string& why) -> Status {
    ::kill(pid, SIGKILL);
    return UnavailableError(why);
  };
  ASSIGN_OR_RETURN(SecureBuffer auth, crypto::RandomSecret(32));
  json opts = {{"netns", options_.network_namespace},
               {"cacheTtlSeconds", options_.cache_ttl_s},
               {"cacheEntries", options_.cache_entries},
               {"attestationRefreshSeconds", options_.attestation_refresh_s}};
  if (options_.signer_uid) opts["uid"] = *options_.signer_uid;
  if (options_.signer_gid) opts["gid"] = *options_.signer_gid;
  if (!options_.signer_test_seed_hex.empty()) opts["testSeed"] = options_.signer_test_seed_hex;
  ipc::FieldWriter init;
  init.Add(auth.view()).AddString(options_.kms_socket).AddString(opts.dump());
  Bytes init_body = init.Take();
  Status sent = boot.WriteFrame(ipc::Frame{.protocol = ipc::kProtocolLauncher, .kind = 0x01, .body = init_body});
  SecureWipe(init_body.data(), init_body.size());
  if (!sent.ok()) return fail("signer bootstrap: " + sent.message());
  auto hello = boot.ReadFrame(10000);
  if (!hello.ok()) return fail("signer bootstrap: " + hello.status().message());
  auto fields = ipc::OpenReply(hello->body);
  if (!fields.ok()) return fail("signer bootstrap: " + fields.status().message());
  auto pub = fields->Next("signer public key", 32);
  if (!pub.ok() || pub->size() != 32) return fail("signer bootstrap: bad public key");
  crypto::X25519Public signer_pub{};
  std::copy(pub->begin(), pub->end(), signer_pub.begin());
  const ByteArray<48> attested = options_.debug_measurement ? ByteArray<48>{} : measured;
  auto doc = kms::SignAttestation(options_.launcher_seed.view(), attested, signer_pub, WallMs());
  if (!doc.ok()) return fail("attestation: " + doc.status().message());
  ipc::FieldWriter att;
  att.Add(kms::EncodeAttestation(*doc));
  if (Status s = boot.WriteFrame(ipc::Frame{.protocol = ipc::kProtocolLauncher, .kind = 0x02, .body = att.Take()});
      !s.ok())
    return fail("signer bootstrap: " + s.message());
  // The signer is serving once it answers an authenticated health request.
  {
    std::lock_guard lock(mu_);
    ++generation_;
    auth_key_ = std::make_shared<const SecureBuffer>(std::move(auth));
    signer_public_ = signer_pub;
    signer_up_ = true;
    signer_up_since_ms_ = NowMs();
    if (boot_fd_ >= 0) ::close(boot_fd_);
    boot_fd_ = boot.Release();
  }
  return OkStatus();
}

void Launcher::KillSigner() {
  std::lock_guard lock(mu_);
  signer_up_ = false;
  if (signer_pid_ > 0) ::kill(signer_pid_, SIGKILL);
}

Status Launcher::ServeBootstrap() {
  int fd;
  crypto::X25519Public pub;
  ByteArray<48> measured;
  {
    std::lock_guard lock(mu_);
    fd = boot_fd_;
    pub = signer_public_;
    measured = measurement_;
  }
  if (fd < 0) return OkStatus();
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 100) <= 0) return OkStatus();
  if ((p.revents & POLLIN) == 0) return UnavailableError("signer bootstrap channel closed");
  ipc::Connection conn(fd);
  auto req = conn.ReadFrame(1000);
  Status result = OkStatus();
  if (!req.ok()) {
    result = UnavailableError("signer bootstrap channel: " + req.status().message());
  } else if (req->protocol != ipc::kProtocolLauncher || req->kind != 0x03) {
    result = InvalidArgumentError("unexpected bootstrap frame from the signer");
  } else {
    const ByteArray<48> attested = options_.debug_measurement ? ByteArray<48>{} : measured;
    auto doc = kms::SignAttestation(options_.launcher_seed.view(), attested, pub, WallMs());
    if (!doc.ok()) {
      result = doc.status();
    } else {
      ipc::FieldWriter att;
      att.Add(kms::EncodeAttestation(*doc));
      result = conn.WriteFrame(ipc::Frame{.protocol = ipc::kProtocolLauncher, .kind = 0x02, .body = att.Take()});
    }
  }
  conn.Release();  // boot_fd_ keeps the fd
  return result;
}

void Launcher::ReapChildren() {
  std::lock_guard lock(mu_);
  int status = 0;
  if (signer_pid_ > 0 && ::waitpid(signer_pid_, &status, WNOHANG) == signer_pid_) {
    const bool was_stable = NowMs() - signer_up_since_ms_ > 10000;
    signer_failures_ = was_stable ? 1 : signer_failures_ + 1;
    signer_next_start_ms_ = NextStartMs(signer_failures_);
    signer_pid_ = 0;
    signer_up_ = false;
    if (boot_fd_ >= 0) ::close(boot_fd_);
    boot_fd_ = -1;
    last_error_ = "signer exited (status " + std::to_string(status) + ")";
  }
  if (kms_pid_ > 0 && ::waitpid(kms_pid_, &status, WNOHANG) == kms_pid_) {
    const bool was_stable = NowMs() - kms_up_since_ms_ > 10000;
    kms_failures_ = was_stable ? 1 : kms_failures_ + 1;
    kms_next_start_ms_ = NextStartMs(kms_failures_);
    kms_pid_ = 0;
    last_error_ = "kms exited (status " + std::to_string(status) + ")";
  }
}

void Launcher::Supervise() {
  while (!stop_.load()) {
    ReapChildren();
    bool need_kms, need_signer;
    {
      std::lock_guard lock(mu_);
      need_kms = !options_.kms_binary.empty() && kms_pid_ == 0 && NowMs() >= kms_next_start_ms_;
      need_signer = signer_pid_ == 0 && NowMs() >= signer_next_start_ms_ && (options_.kms_binary.empty() || kms_pid_ != 0);
    }
    if (need_kms) {
      if (Status s = StartKms(); !s.ok()) {
        std::lock_guard lock(mu_);
        last_error_ = s.message();
      }
      continue;
    }
    if (need_signer) {
      if (Status s = StartSigner(); !s.ok()) {
        std::lock_guard lock(mu_);
        last_error_ = s.message();
        ++signer_failures_;
        signer_next_start_ms_ = NextStartMs(signer_failures_);
      }
      continue;
    }
    if (Status s = ServeBootstrap(); !s.ok()) {
      {
        std::lock_guard lock(mu_);
        last_error_ = s.message();
      }
      KillSigner();
    }
    ::usleep(20000);
  }
}

}  // namespace vp::signer
