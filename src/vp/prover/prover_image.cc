// Signed prover images: sign, check, and run from a sealed memfd.
#include "vp/prover/prover_image.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "vp/base/secure.h"
#include "vp/crypto/ed25519.h"
#include "vp/crypto/hash.h"
#include "vp/signer/launcher.h"

extern char** environ;

namespace vp::prover {
namespace {

Status SignatureFailure(const std::string& why) {
  return PermissionDeniedError(std::string(kImageSignatureFailed) + ": " + why);
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

StatusOr<ByteArray<64>> ReadSignature(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return SignatureFailure("no signature file " + path);
  std::string text;
  char buf[256];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SignatureFailure("cannot read " + path);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > 1024) return SignatureFailure("signature file too long");
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.size() != 128) return SignatureFailure("signature file must hold 128 hex digits");
  auto sig = HexDecodeFixed<64>(text, HexPrefix::kForbidden);
  if (!sig.ok()) return SignatureFailure("signature file is not hex");
  return *sig;
}

// Seals the image and checks its signature; returns the sealed memfd.
StatusOr<int> SealAndCheck(const ProverImage& image) {
  auto sealed = signer::SealImage(image.binary_path);
  if (!sealed.ok()) return SignatureFailure("cannot read the image: " + sealed.status().message());
  Fd fd(sealed->first);
  ASSIGN_OR_RETURN(ByteArray<64> sig, ReadSignature(image.SignaturePath()));
  const Bytes msg = ProverImageMessage(sealed->second);
  if (!crypto::Ed25519Verify(image.release_public_key, msg, sig)) {
    return SignatureFailure("the image's digest " + HexEncode(sealed->second).substr(0, 16) +
                            "... is not signed by the release key");
  }
  return fd.Release();
}

double Ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Bytes ProverImageMessage(const ByteArray<48>& sha384) {
  Bytes msg;
  msg.reserve(kProverImageDomain.size() + sha384.size());
  for (const char c : kProverImageDomain) msg.push_back(static_cast<uint8_t>(c));
  for (const uint8_t b : sha384) msg.push_back(b);
  return msg;
}

StatusOr<ByteArray<48>> SignProverImage(ByteSpan release_seed, const std::string& binary_path,
                                        const std::string& signature_path) {
  ASSIGN_OR_RETURN(ByteArray<48> digest, signer::MeasureFile(binary_path));
  ASSIGN_OR_RETURN(auto sig, crypto::Ed25519Sign(release_seed, ProverImageMessage(digest)));
  const std::string path = signature_path.empty() ? binary_path + ".sig" : signature_path;
  std::ofstream out(path, std::ios::trunc);
  if (!out) return UnavailableError("cannot write " + path);
  out << HexEncode(sig) << "\n";
  if (!out.flush()) return UnavailableError("cannot write " + path);
  return digest;
}

Status CheckProverImage(const ProverImage& image) {
  ASSIGN_OR_RETURN(int fd, SealAndCheck(image));
  ::close(fd);
  return OkStatus();
}

StatusOr<ProverRun> RunSignedProver(const ProverImage& image, const std::vector<std::string>& args,
                                    ByteSpan input, const ProverRunOptions& options) {
  ASSIGN_OR_RETURN(int image_fd_raw, SealAndCheck(image));
  Fd image_fd(image_fd_raw);
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) != 0) return UnavailableError("pipe");
  Fd in_r(in_pipe[0]), in_w(in_pipe[1]);
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return UnavailableError("pipe");
  Fd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) return UnavailableError("pipe");
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);

  std::vector<std::string> argv_s = {"vaultproof-prover"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s = options.env;
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t parent = ::getpid();
  const auto t0 = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) return UnavailableError(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::fexecve(image_fd_raw, argv.data(), envp.data());
    ::_exit(127);
  }
  in_r.Reset();
  out_w.Reset();
  err_w.Reset();
  image_fd.Reset();
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);

  ProverRun run;
  std::string err_tail;
  size_t written = 0;
  bool out_open = true, err_open = true;
  Status failure = OkStatus();
  if (input.empty()) in_w.Reset();
  while (out_open || err_open) {
    if (options.should_stop && options.should_stop()) {
      failure = UnavailableError("prover cancelled");
      break;
    }
    if (Ms(t0) > options.timeout_ms) {
      failure = UnavailableError("prover timed out after " + std::to_string(options.timeout_ms) + " ms");
      break;
    }
    pollfd fds[3];
    nfds_t nfds = 0;
    const int out_i = out_open ? static_cast<int>(nfds) : -1;
    if (out_open) fds[nfds++] = {out_r.get(), POLLIN, 0};
    const int err_i = err_open ? static_cast<int>(nfds) : -1;
    if (err_open) fds[nfds++] = {err_r.get(), POLLIN, 0};
    const int in_i = in_w.get() >= 0 ? static_cast<int>(nfds) : -1;
    if (in_w.get() >= 0) fds[nfds++] = {in_w.get(), POLLOUT, 0};
    const int rc = ::poll(fds, nfds, 50);
    if (rc < 0 && errno != EINTR) {
      failure = UnavailableError("poll");
      break;
    }
    if (rc <= 0) continue;
    uint8_t buf[65536];
    if (out_i >= 0 && fds[out_i].revents != 0) {
      const ssize_t n = ::read(out_r.get(), buf, sizeof(buf));
      if (n > 0) {
        run.output.insert(run.output.end(), buf, buf + n);
        if (run.output.size() > options.max_output_bytes) {
          failure = ResourceExhaustedError("prover output above " + std::to_string(options.max_output_bytes) + " bytes");
          break;
        }
      } else if (n == 0 || errno != EINTR) {
        out_open = false;
      }
    }
    if (err_i >= 0 && fds[err_i].revents != 0) {
      const ssize_t n = ::read(err_r.get(), buf, sizeof(buf));
      if (n > 0) {
        err_tail.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));  // NOLINT
        if (err_tail.size() > 4096) err_tail.erase(0, err_tail.size() - 4096);
      } else if (n == 0 || errno != EINTR) {
        err_open = false;
      }
    }
    if (in_i >= 0 && fds[in_i].revents != 0) {
      if ((fds[in_i].revents & (POLLERR | POLLHUP)) != 0) {
        in_w.Reset();
      } else {
        const ssize_t n = ::write(in_w.get(), input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) in_w.Reset();
        if (written == input.size()) in_w.Reset();
      }
    }
  }
  if (!failure.ok()) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  run.wall_ms = Ms(t0);
  run.errors = err_tail;
  if (!failure.ok()) return failure;
  if (WIFSIGNALED(wstatus)) {
    return InternalError("prover killed by signal " + std::to_string(WTERMSIG(wstatus)) + ": " + err_tail);
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return InternalError("prover exited with status " + std::to_string(WEXITSTATUS(wstatus)) + ": " + err_tail);
  }
  return run;
}

}  // namespace vp::prover
