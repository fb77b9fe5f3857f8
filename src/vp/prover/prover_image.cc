// Signed prover images: sign, check, and run from a sealed memfd.
#include "vp/prover/prover_image.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>

#include "vp/base/secure.h"
#include "vp/crypto/ed25519.h"
#include "vp/crypto/hash.h"
#include "vp/prover/session_frame.h"
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
  Fd(Fd&& o) noexcept : fd_(o.Release()) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.Release();
    }
    return *this;
  }
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
StatusOr<int> SealAndCheck(const ProverImage& image, ByteArray<48>* digest = nullptr) {
  auto sealed = signer::SealImage(image.binary_path);
  if (!sealed.ok()) return SignatureFailure("cannot read the image: " + sealed.status().message());
  Fd fd(sealed->first);
  if (digest != nullptr) *digest = sealed->second;
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

// A running image: its pid and the parent's ends of its stdin, stdout and stderr.
struct Child {
  pid_t pid = -1;
  Fd in, out, err;
};

// Runs the sealed image (image_fd, closed here) with args and env on fresh pipes. The child
// dies with the thread that started it (PR_SET_PDEATHSIG).
StatusOr<Child> Spawn(Fd image_fd, const std::vector<std::string>& args, const std::vector<std::string>& env) {
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
  std::vector<std::string> env_s = env;
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  const pid_t parent = ::getpid();
  const int image_fd_raw = image_fd.get();
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
  ::fcntl(in_w.get(), F_SETFL, O_NONBLOCK);
  Child c;
  c.pid = pid;
  c.in = Fd(in_w.Release());
  c.out = Fd(out_r.Release());
  c.err = Fd(err_r.Release());
  return c;
}

// write(2) to a pipe whose reader may have exited, without the process-wide SIGPIPE: the
// signal is blocked in this thread and a pending one consumed (EPIPE is the answer).
ssize_t WriteNoSigpipe(int fd, const uint8_t* p, size_t n) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigemptyset(&pending);
  ::sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  const ssize_t w = ::write(fd, p, n);
  const int saved = errno;
  if (w < 0 && saved == EPIPE && !was_pending) {
    const timespec zero{0, 0};
    while (::sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  ::pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  errno = saved;
  return w;
}

// Writes `input` to the child's stdin (closing it afterwards when close_input) and reads its
// stdout into `output` until `answered(output)` or stdout closes, keeping the last 4 KiB of
// stderr in err_tail. A one-shot run waits for both stdout and stderr to close. Fails with
// kUnavailable on should_stop or the deadline, kResourceExhausted above max_output_bytes.
Status Pump(Child& c, ByteSpan input, bool close_input, const std::function<bool(const Bytes&)>& answered,
            const ProverRunOptions& options, std::chrono::steady_clock::time_point t0, Bytes& output,
            std::string& err_tail, bool& out_closed) {
  size_t written = 0;
  bool err_open = c.err.get() >= 0;
  out_closed = false;
  bool writing = true;
  if (input.empty()) {
    writing = false;
    if (close_input) c.in.Reset();
  }
  const bool one_shot = !answered;
  while (!out_closed || (one_shot && err_open)) {
    if (!one_shot && answered(output)) return OkStatus();
    if (options.should_stop && options.should_stop()) return UnavailableError("prover cancelled");
    if (Ms(t0) > options.timeout_ms) {
      return UnavailableError("prover timed out after " + std::to_string(options.timeout_ms) + " ms");
    }
    pollfd fds[3];
    nfds_t nfds = 0;
    const int out_i = !out_closed ? static_cast<int>(nfds) : -1;
    if (!out_closed) fds[nfds++] = {c.out.get(), POLLIN, 0};
    const int err_i = err_open ? static_cast<int>(nfds) : -1;
    if (err_open) fds[nfds++] = {c.err.get(), POLLIN, 0};
    const int in_i = writing ? static_cast<int>(nfds) : -1;
    if (writing) fds[nfds++] = {c.in.get(), POLLOUT, 0};
    const int rc = ::poll(fds, nfds, 50);
    if (rc < 0 && errno != EINTR) return UnavailableError("poll");
    if (rc <= 0) continue;
    uint8_t buf[65536];
    if (out_i >= 0 && fds[out_i].revents != 0) {
      const ssize_t n = ::read(c.out.get(), buf, sizeof(buf));
      if (n > 0) {
        output.insert(output.end(), buf, buf + n);
        // A session's answer carries its frame header besides the proof.
        if (output.size() > options.max_output_bytes + (one_shot ? 0 : kAnswerHeaderSize)) {
          return ResourceExhaustedError("prover output above " + std::to_string(options.max_output_bytes) + " bytes");
        }
      } else if (n == 0 || errno != EINTR) {
        out_closed = true;
      }
    }
    if (err_i >= 0 && fds[err_i].revents != 0) {
      const ssize_t n = ::read(c.err.get(), buf, sizeof(buf));
      if (n > 0) {
        err_tail.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));  // NOLINT
        if (err_tail.size() > 4096) err_tail.erase(0, err_tail.size() - 4096);
      } else if (n == 0 || errno != EINTR) {
        err_open = false;
      }
    }
    if (in_i >= 0 && fds[in_i].revents != 0) {
      bool stop_writing = (fds[in_i].revents & (POLLERR | POLLHUP)) != 0;
      if (!stop_writing) {
        const ssize_t n = WriteNoSigpipe(c.in.get(), input.data() + written, input.size() - written);
        if (n > 0) written += static_cast<size_t>(n);
        if (n < 0 && errno != EAGAIN && errno != EINTR) stop_writing = true;
        if (written == input.size()) stop_writing = true;
      }
      if (stop_writing) {
        writing = false;
        if (close_input || written != input.size()) c.in.Reset();
      }
    }
  }
  return OkStatus();
}

// Reaps the child; kills it first when kill.
int Reap(pid_t pid, bool kill) {
  if (kill) ::kill(pid, SIGKILL);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  return wstatus;
}

// Reaps a child that closed its stdout: waits up to grace_ms for it to exit, then kills it.
int ReapWithin(pid_t pid, int grace_ms) {
  for (int waited = 0; waited < grace_ms; waited += 10) {
    int wstatus = 0;
    const pid_t r = ::waitpid(pid, &wstatus, WNOHANG);
    if (r == pid) return wstatus;
    if (r < 0 && errno != EINTR) return wstatus;
    ::usleep(10000);
  }
  return Reap(pid, true);
}

Status ExitFailure(int wstatus, const std::string& err_tail) {
  if (WIFSIGNALED(wstatus)) {
    return InternalError("prover killed by signal " + std::to_string(WTERMSIG(wstatus)) + ": " + err_tail);
  }
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    return InternalError("prover exited with status " + std::to_string(WEXITSTATUS(wstatus)) + ": " + err_tail);
  }
  return OkStatus();
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
  ASSIGN_OR_RETURN(int image_fd, SealAndCheck(image));
  std::vector<std::string> env = options.env;
  if (options.threads > 0) env.push_back("OMP_NUM_THREADS=" + std::to_string(options.threads));
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Child child, Spawn(Fd(image_fd), args, env));
  ProverRun run;
  std::string err_tail;
  bool out_closed = false;
  const Status pumped =
      Pump(child, input, /*close_input=*/true, nullptr, options, t0, run.output, err_tail, out_closed);
  const int wstatus = Reap(child.pid, !pumped.ok());
  run.wall_ms = Ms(t0);
  run.errors = err_tail;
  if (!pumped.ok()) return pumped;
  RETURN_IF_ERROR(ExitFailure(wstatus, err_tail));
  return run;
}

// One running `vaultproof-prover serve`.
class ProverSessionPool::Session {
 public:
  Session(Child child, const ByteArray<48>& digest) : child_(std::move(child)), digest_(digest) {}
  ~Session() {
    // Closing stdin asks the image to exit; one that does not within a second is killed.
    child_.in.Reset();
    if (child_.pid >= 0) (void)ReapWithin(child_.pid, 1000);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  const ByteArray<48>& digest() const { return digest_; }
  bool healthy() const { return healthy_; }
  // The image left with status 2 (usage) before answering: it does not know `serve`.
  bool usage_exit() const { return usage_exit_; }
  // False once the image has exited (an idle image leaves by itself); reaps it then.
  bool Alive() {
    if (!healthy_ || child_.pid < 0) return false;
    int wstatus = 0;
    const pid_t r = ::waitpid(child_.pid, &wstatus, WNOHANG);
    if (r == 0) return true;
    child_.pid = -1;
    healthy_ = false;
    return false;
  }

  // `answered`: whether the image wrote a byte of its answer (a reused image that exited idle
  // before reading the request answers nothing, and the request can go to a new one).
  StatusOr<ProverRun> Prove(ByteSpan input, unsigned threads, const ProverRunOptions& options, bool& answered) {
    answered = false;
    if (input.empty() || input.size() > kMaxRequestBytes) {
      return InvalidArgumentError("prover input must be 1 byte .. 1 GiB");
    }
    Bytes frame(kRequestHeaderSize);
    PutLe32(frame.data(), std::min(threads, kMaxRequestThreads));
    PutLe32(frame.data() + 4, static_cast<uint32_t>(input.size()));
    frame.insert(frame.end(), input.begin(), input.end());
    const auto t0 = std::chrono::steady_clock::now();
    ProverRun run;
    Bytes out;
    bool out_closed = false;
    const size_t cap = options.max_output_bytes;
    bool too_big = false;
    auto complete = [&](const Bytes& o) {
      if (o.size() < kAnswerHeaderSize) return false;
      const size_t len = GetLe32(o.data() + 1);
      if (len > cap) too_big = true;
      return too_big || o.size() >= kAnswerHeaderSize + len;
    };
    const Status pumped = Pump(child_, frame, /*close_input=*/false, complete, options, t0, out, err_tail_, out_closed);
    SecureWipe(frame.data(), frame.size());
    answered = !out.empty();
    run.wall_ms = Ms(t0);
    run.errors = err_tail_;
    if (!pumped.ok()) {
      Kill();
      return pumped;
    }
    if (too_big) {
      Kill();
      return ResourceExhaustedError("prover output above " + std::to_string(cap) + " bytes");
    }
    if (!complete(out)) {
      // The image left before answering: its exit says why.
      const int wstatus = ReapWithin(child_.pid, 1000);
      child_.pid = -1;
      healthy_ = false;
      usage_exit_ = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 2;
      const Status why = ExitFailure(wstatus, err_tail_);
      return why.ok() ? InternalError("prover exited before answering: " + err_tail_) : why;
    }
    const size_t len = GetLe32(out.data() + 1);
    if (out.size() != kAnswerHeaderSize + len || out[0] > static_cast<uint8_t>(AnswerKind::kRefusal)) {
      Kill();
      return InternalError("prover answered a malformed frame");
    }
    if (out[0] == static_cast<uint8_t>(AnswerKind::kRefusal)) {
      return InternalError("prover refused the request: " +
                           std::string(reinterpret_cast<const char*>(out.data() + kAnswerHeaderSize), len));  // NOLINT
    }
    run.output.assign(out.begin() + kAnswerHeaderSize, out.end());
    return run;
  }

 private:
  void Kill() {
    if (child_.pid >= 0) (void)Reap(child_.pid, true);
    child_.pid = -1;
    healthy_ = false;
  }

  Child child_;
  ByteArray<48> digest_;
  std::string err_tail_;
  bool healthy_ = true;
  bool usage_exit_ = false;
};

ProverSessionPool::ProverSessionPool(ProverImage image, std::vector<std::string> env, int idle_exit_ms)
    : image_(std::move(image)), env_(std::move(env)), idle_exit_ms_(idle_exit_ms) {}

ProverSessionPool::~ProverSessionPool() = default;

size_t ProverSessionPool::started() const {
  std::lock_guard<std::mutex> lock(mu_);
  return started_;
}

StatusOr<ProverRun> ProverSessionPool::Run(ByteSpan input, unsigned threads, const ProverRunOptions& options) {
  for (int attempt = 0;; ++attempt) {
    ByteArray<48> digest{};
    ASSIGN_OR_RETURN(int image_fd_raw, SealAndCheck(image_, &digest));
    Fd image_fd(image_fd_raw);
    std::unique_ptr<Session> session;
    std::vector<std::unique_ptr<Session>> stale;
    bool one_shot = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      one_shot = std::find(one_shot_.begin(), one_shot_.end(), digest) != one_shot_.end();
      while (!idle_.empty() && !session) {
        std::unique_ptr<Session> s = std::move(idle_.back());
        idle_.pop_back();
        if (s->digest() == digest && s->Alive()) {
          session = std::move(s);
        } else {
          stale.push_back(std::move(s));
        }
      }
    }
    stale.clear();  // outside the lock: closing an image may wait for it
    if (one_shot) {
      ProverRunOptions once = options;
      once.env = env_;
      once.threads = threads;
      return RunSignedProver(image_, {"segment"}, input, once);
    }
    const bool reused = session != nullptr;
    if (!session) {
      const std::vector<std::string> args = {"serve", "--idle-exit-ms", std::to_string(idle_exit_ms_)};
      ASSIGN_OR_RETURN(Child child, Spawn(std::move(image_fd), args, env_));
      session = std::make_unique<Session>(std::move(child), digest);
      std::lock_guard<std::mutex> lock(mu_);
      ++started_;
    }
    bool answered = false;
    StatusOr<ProverRun> run = session->Prove(input, threads, options, answered);
    const bool usage_exit = session->usage_exit();
    if (session->healthy()) {
      std::lock_guard<std::mutex> lock(mu_);
      idle_.push_back(std::move(session));
    }
    // An image signed before `serve` existed leaves with its usage (status 2): that digest is
    // run one segment per image from now on, this request included.
    if (!run.ok() && usage_exit && !answered) {
      std::lock_guard<std::mutex> lock(mu_);
      one_shot_.push_back(digest);
      continue;
    }
    // An idle image may exit just as a request reaches it; that request goes to a new one.
    if (!run.ok() && reused && !answered && attempt == 0 && !session && run.status().code() == StatusCode::kInternal) {
      continue;
    }
    return run;
  }
}

}  // namespace vp::prover
