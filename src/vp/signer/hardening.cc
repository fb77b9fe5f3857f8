// Process hardening for vaultproof-signer (see hardening.h for the steps and the syscall
// policy). The seccomp policy is the one table kSyscallPolicy below.
#include "vp/signer/hardening.h"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <climits>
#include <cstring>
#include <memory>
#include <string_view>
#include <system_error>

#if defined(__SANITIZE_ADDRESS__)
#define VP_HARDENING_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VP_HARDENING_ASAN 1
#endif
#endif

#if defined(VP_HARDENING_ASAN)
#include <atomic>

// LeakSanitizer's check at exit needs ptrace, clone without CLONE_THREAD and
// /proc/self/maps, all refused after hardening, so it would turn every clean exit of a
// hardened process into "LeakSanitizer has encountered a fatal error". This hook (part of
// the LSan interface) skips the check once the process is hardened; before that it runs.
namespace {
std::atomic<bool> g_hardened{false};
}  // namespace
extern "C" int __lsan_is_turned_off() { return g_hardened.load() ? 1 : 0; }
#endif

namespace vp::signer {
namespace {

// ---------------------------------------------------------------------------------------
// The seccomp policy.

enum class Action : uint8_t {
  kAllow,
  kKill,    // SCMP_ACT_KILL_PROCESS
  kEnosys,  // fail with ENOSYS so that libc falls back to an older, filterable syscall
};
enum class When : uint8_t {
  kAlways,
  kUnixConnect,  // only with HardeningOptions::allow_unix_connect
  kSanitizer,    // only in ASan+UBSan builds, for the sanitizer runtime
};

#if defined(VP_HARDENING_ASAN)
constexpr bool kSanitizerBuild = true;  // the asan-ubsan preset: ASan always comes with UBSan
#else
constexpr bool kSanitizerBuild = false;
#endif

// Stands for the process's own pid, known only when the filter is built.
constexpr uint64_t kOwnPid = ~0ull;

struct ArgCheck {
  unsigned arg;
  scmp_compare op;
  uint64_t a;
  uint64_t b;  // the value for SCMP_CMP_MASKED_EQ (a is the mask)
};

struct SyscallRule {
  int nr;
  const char* name;
  Action action;
  When when = When::kAlways;
  unsigned arg_count = 0;
  ArgCheck args[2] = {};
};

#define VP_SYS(name) SCMP_SYS(name), #name

// Comparisons are on the full 64-bit register, so an argument whose upper half is not
// zero (the kernel would only read the lower 32 bits of an int) never matches an allow
// rule and always matches the socket kill rule.
constexpr uint64_t kSocketFlags = SOCK_NONBLOCK | SOCK_CLOEXEC;

constexpr SyscallRule kSyscallPolicy[] = {
    // I/O on fds it already holds.
    {VP_SYS(read), Action::kAllow},
    {VP_SYS(write), Action::kAllow},
    {VP_SYS(readv), Action::kAllow},
    {VP_SYS(writev), Action::kAllow},
    {VP_SYS(pread64), Action::kAllow},
    {VP_SYS(lseek), Action::kAllow},
    {VP_SYS(fcntl), Action::kAllow},
    {VP_SYS(fstat), Action::kAllow},       // glibc stdio sizes its buffer with it
    {VP_SYS(newfstatat), Action::kAllow},  // glibc >= 2.33 implements fstat with it
    {VP_SYS(close), Action::kAllow},
    {VP_SYS(shutdown), Action::kAllow},
    // Sockets it holds or accepts.
    {VP_SYS(recvfrom), Action::kAllow},
    {VP_SYS(sendto), Action::kAllow},
    {VP_SYS(recvmsg), Action::kAllow},
    {VP_SYS(sendmsg), Action::kAllow},
    {VP_SYS(accept), Action::kAllow},
    {VP_SYS(accept4), Action::kAllow},
    {VP_SYS(getsockopt), Action::kAllow},  // SO_PEERCRED of a client
    {VP_SYS(setsockopt), Action::kAllow},
    {VP_SYS(getsockname), Action::kAllow},
    {VP_SYS(getpeername), Action::kAllow},
    // The kms connection: a Unix stream socket, nothing else.
    {VP_SYS(socket), Action::kAllow, When::kUnixConnect, 2,
     {{0, SCMP_CMP_EQ, AF_UNIX, 0}, {1, SCMP_CMP_MASKED_EQ, ~kSocketFlags, SOCK_STREAM}}},
    {VP_SYS(connect), Action::kAllow, When::kUnixConnect},
    // Waiting.
    {VP_SYS(poll), Action::kAllow},
    {VP_SYS(ppoll), Action::kAllow},
    {VP_SYS(epoll_create), Action::kAllow},
    {VP_SYS(epoll_create1), Action::kAllow},
    {VP_SYS(epoll_ctl), Action::kAllow},
    {VP_SYS(epoll_wait), Action::kAllow},
    {VP_SYS(epoll_pwait), Action::kAllow},
    {VP_SYS(epoll_pwait2), Action::kAllow},
    {VP_SYS(futex), Action::kAllow},
    {VP_SYS(nanosleep), Action::kAllow},
    {VP_SYS(clock_nanosleep), Action::kAllow},
    {VP_SYS(sched_yield), Action::kAllow},
    {VP_SYS(restart_syscall), Action::kAllow},  // how the kernel resumes an interrupted sleep
    // Memory. No PROT_EXEC: nothing needs new executable pages after start-up.
    {VP_SYS(mmap), Action::kAllow, When::kAlways, 1, {{2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0}}},
    {VP_SYS(mprotect), Action::kAllow, When::kAlways, 1, {{2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0}}},
    {VP_SYS(munmap), Action::kAllow},
    {VP_SYS(mremap), Action::kAllow},
    {VP_SYS(madvise), Action::kAllow},
    {VP_SYS(brk), Action::kAllow},
    {VP_SYS(mlock), Action::kAllow},  // SecureBuffer
    {VP_SYS(mlock2), Action::kAllow},
    {VP_SYS(munlock), Action::kAllow},
    {VP_SYS(membarrier), Action::kAllow},
    // Threads, never processes. CLONE_THREAD implies CLONE_SIGHAND and CLONE_VM.
    {VP_SYS(clone), Action::kAllow, When::kAlways, 1,
     {{0, SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD}}},
    {VP_SYS(clone3), Action::kEnosys},  // its flags are in memory: glibc falls back to clone
    {VP_SYS(set_robust_list), Action::kAllow},
    {VP_SYS(rseq), Action::kAllow},
    {VP_SYS(exit), Action::kAllow},
    {VP_SYS(exit_group), Action::kAllow},
    {VP_SYS(sigaltstack), Action::kAllow},
    // Signals: its own handlers and masks; tgkill only towards itself (abort, raise).
    {VP_SYS(rt_sigaction), Action::kAllow},
    {VP_SYS(rt_sigprocmask), Action::kAllow},
    {VP_SYS(rt_sigreturn), Action::kAllow},
    {VP_SYS(tgkill), Action::kAllow, When::kAlways, 1, {{0, SCMP_CMP_EQ, kOwnPid, 0}}},
    // Time, randomness, identity.
    {VP_SYS(clock_gettime), Action::kAllow},
    {VP_SYS(gettimeofday), Action::kAllow},
    {VP_SYS(getrandom), Action::kAllow},
    {VP_SYS(getpid), Action::kAllow},
    {VP_SYS(gettid), Action::kAllow},
    {VP_SYS(sched_getaffinity), Action::kAllow},  // std::thread::hardware_concurrency
    // Limits: read, never write (new_limit must be NULL).
    {VP_SYS(getrlimit), Action::kAllow},
    {VP_SYS(prlimit64), Action::kAllow, When::kAlways, 1, {{2, SCMP_CMP_EQ, 0, 0}}},
    // Thread names only.
    {VP_SYS(prctl), Action::kAllow, When::kAlways, 1, {{0, SCMP_CMP_EQ, PR_SET_NAME, 0}}},

    // The sanitizer runtime: UBSan's vptr check probes whether memory is readable by
    // writing it into a pipe; refused, every polymorphic call reports an invalid vptr.
    {VP_SYS(pipe), Action::kAllow, When::kSanitizer},
    {VP_SYS(pipe2), Action::kAllow, When::kSanitizer},

    // Killed: running code, reading or writing other processes, kernel code and
    // configuration, leaving the namespaces it was put in, and any network socket.
    {VP_SYS(execve), Action::kKill},
    {VP_SYS(execveat), Action::kKill},
    {VP_SYS(ptrace), Action::kKill},
    {VP_SYS(process_vm_readv), Action::kKill},
    {VP_SYS(process_vm_writev), Action::kKill},
    {VP_SYS(process_madvise), Action::kKill},
    {VP_SYS(pidfd_getfd), Action::kKill},
    {VP_SYS(open_by_handle_at), Action::kKill},
    {VP_SYS(kexec_load), Action::kKill},
    {VP_SYS(kexec_file_load), Action::kKill},
    {VP_SYS(init_module), Action::kKill},
    {VP_SYS(finit_module), Action::kKill},
    {VP_SYS(delete_module), Action::kKill},
    {VP_SYS(bpf), Action::kKill},
    {VP_SYS(perf_event_open), Action::kKill},
    {VP_SYS(userfaultfd), Action::kKill},
    {VP_SYS(keyctl), Action::kKill},
    {VP_SYS(add_key), Action::kKill},
    {VP_SYS(request_key), Action::kKill},
    {VP_SYS(mount), Action::kKill},
    {VP_SYS(umount2), Action::kKill},
    {VP_SYS(pivot_root), Action::kKill},
    {VP_SYS(chroot), Action::kKill},
    {VP_SYS(unshare), Action::kKill},
    {VP_SYS(setns), Action::kKill},
    {VP_SYS(socket), Action::kKill, When::kAlways, 1, {{0, SCMP_CMP_NE, AF_UNIX, 0}}},
};

#undef VP_SYS

// ---------------------------------------------------------------------------------------
// Helpers.

std::string ErrnoText(int err) { return std::system_category().message(err); }

Status ErrnoStatus(StatusCode code, std::string_view what, int err) {
  return Status(code, std::string(what) + ": " + ErrnoText(err));
}

// /proc/<which>/status, whole. `which` is a pid or "self".
StatusOr<std::string> ReadStatusFile(const std::string& which) {
  const std::string path = "/proc/" + which + "/status";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT || err == ESRCH) return NotFoundError(path + ": no such process");
    if (err == EACCES || err == EPERM) return ErrnoStatus(StatusCode::kPermissionDenied, path, err);
    return ErrnoStatus(StatusCode::kUnavailable, path, err);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) break;
    if (errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    if (err == ESRCH) return NotFoundError(path + ": no such process");
    return ErrnoStatus(StatusCode::kUnavailable, path, err);
  }
  ::close(fd);
  return text;
}

// The value of "Key:\tvalue" in a status file ("" when absent).
std::string_view StatusField(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':') {
      line.remove_prefix(key.size() + 1);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      return line;
    }
    pos = end + 1;
  }
  return {};
}

// The index-th whitespace-separated unsigned number of a field; nullopt when absent or malformed.
std::optional<uint64_t> FieldNumber(std::string_view value, size_t index) {
  for (size_t i = 0;; ++i) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (value.empty()) return std::nullopt;
    uint64_t n = 0;
    const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || ptr == value.data()) return std::nullopt;
    if (i == index) return n;
    value.remove_prefix(static_cast<size_t>(ptr - value.data()));
  }
}

Status CheckOptions(const HardeningOptions& o) {
  if (o.uid.has_value() != o.gid.has_value()) {
    return InvalidArgumentError("hardening: set both uid and gid, or neither");
  }
  if (o.uid.has_value() && (*o.uid == 0 || *o.gid == 0)) {
    return InvalidArgumentError("hardening: uid/gid 0 is not a privilege drop");
  }
  for (const int fd : o.keep_fds) {
    if (fd < 0) return InvalidArgumentError("hardening: keep_fds holds negative fd " + std::to_string(fd));
    if (::fcntl(fd, F_GETFD) == -1) {
      return InvalidArgumentError("hardening: keep_fds: fd " + std::to_string(fd) + " is not open");
    }
  }
  return OkStatus();
}

// unshare(CLONE_NEWNET) moves only the calling thread, and the process-wide steps assume
// nobody else runs meanwhile, so hardening must come before any thread starts.
Status CheckSingleThreaded() {
  auto text = ReadStatusFile("self");
  if (!text.ok()) return FailedPreconditionError("hardening: cannot count threads: " + text.status().message());
  const auto threads = FieldNumber(StatusField(*text, "Threads"), 0);
  if (!threads.has_value()) return FailedPreconditionError("hardening: /proc/self/status has no Threads line");
  if (*threads != 1) {
    return FailedPreconditionError("hardening: must run before any thread starts (" + std::to_string(*threads) +
                                   " threads)");
  }
  return OkStatus();
}

Status CloseRange(unsigned first, unsigned last) {
  if (first > last) return OkStatus();
  if (::close_range(first, last, 0) == 0) return OkStatus();
  if (errno != ENOSYS) return ErrnoStatus(StatusCode::kInternal, "hardening: close_range", errno);
  // Kernels before 5.9: close one by one up to the fd limit (an fd cannot exceed it).
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return ErrnoStatus(StatusCode::kInternal, "hardening: getrlimit", errno);
  const uint64_t max_fd = lim.rlim_max == RLIM_INFINITY ? uint64_t{INT_MAX} : std::min<uint64_t>(lim.rlim_max, INT_MAX);
  for (uint64_t fd = first; fd <= last && fd < max_fd; ++fd) ::close(static_cast<int>(fd));
  return OkStatus();
}

Status CloseOtherFds(std::vector<int> keep) {
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  unsigned next = 3;
  for (const int fd : keep) {
    if (fd < 3) continue;
    const auto u = static_cast<unsigned>(fd);
    if (u > next) RETURN_IF_ERROR(CloseRange(next, u - 1));
    next = u + 1;
  }
  return CloseRange(next, ~0u);
}

Status SetNotDumpable() {
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
    return ErrnoStatus(StatusCode::kInternal, "hardening: PR_SET_DUMPABLE", errno);
  }
  if (::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0) return InternalError("hardening: process is still dumpable");
  return OkStatus();
}

Status SetCoreLimitZero() {
  const rlimit zero{0, 0};
  if (::setrlimit(RLIMIT_CORE, &zero) != 0) return ErrnoStatus(StatusCode::kInternal, "hardening: RLIMIT_CORE", errno);
  return OkStatus();
}

void RaiseMemlockLimit(uint64_t want, HardeningReport& report) {
  rlimit cur{};
  if (::getrlimit(RLIMIT_MEMLOCK, &cur) != 0) {
    report.warnings.push_back("RLIMIT_MEMLOCK unreadable: " + ErrnoText(errno));
    return;
  }
  if (cur.rlim_cur == RLIM_INFINITY || cur.rlim_cur >= want) return;
  rlimit next = cur;
  next.rlim_cur = want;
  if (next.rlim_max != RLIM_INFINITY && next.rlim_max < want) next.rlim_max = want;
  if (::setrlimit(RLIMIT_MEMLOCK, &next) == 0) return;
  const int err = errno;
  // Raising the hard limit needs CAP_SYS_RESOURCE: take what the hard limit allows.
  rlimit capped = cur;
  capped.rlim_cur = cur.rlim_max;
  (void)::setrlimit(RLIMIT_MEMLOCK, &capped);
  report.warnings.push_back("RLIMIT_MEMLOCK stays at " + std::to_string(cur.rlim_max) + " bytes (wanted " +
                            std::to_string(want) + "): " + ErrnoText(err));
}

[[maybe_unused]] bool HasEffectiveCapability(cap_value_t cap) {
  cap_t caps = ::cap_get_proc();
  if (caps == nullptr) return false;
  cap_flag_value_t value = CAP_CLEAR;
  const bool ok = ::cap_get_flag(caps, cap, CAP_EFFECTIVE, &value) == 0;
  ::cap_free(caps);
  return ok && value == CAP_SET;
}

// True when the process holds no capability in any set.
StatusOr<bool> HasNoCapabilities() {
  cap_t caps = ::cap_get_proc();
  if (caps == nullptr) return ErrnoStatus(StatusCode::kInternal, "hardening: cap_get_proc", errno);
  cap_t empty = ::cap_init();
  if (empty == nullptr) {
    ::cap_free(caps);
    return ErrnoStatus(StatusCode::kInternal, "hardening: cap_init", errno);
  }
  const int diff = ::cap_compare(caps, empty);
  ::cap_free(empty);
  ::cap_free(caps);
  return diff == 0;
}

Status DropPrivileges(uid_t uid, gid_t gid) {
  if (::setgroups(0, nullptr) != 0) return ErrnoStatus(StatusCode::kPermissionDenied, "hardening: setgroups", errno);
  if (::setresgid(gid, gid, gid) != 0) return ErrnoStatus(StatusCode::kPermissionDenied, "hardening: setresgid", errno);
  if (::setresuid(uid, uid, uid) != 0) return ErrnoStatus(StatusCode::kPermissionDenied, "hardening: setresuid", errno);
  // setresuid away from 0 clears every capability unless the launcher set
  // SECBIT_KEEP_CAPS / SECBIT_NO_SETUID_FIXUP; clear them explicitly either way.
  cap_t empty = ::cap_init();
  if (empty == nullptr) return ErrnoStatus(StatusCode::kInternal, "hardening: cap_init", errno);
  const int set = ::cap_set_proc(empty);
  const int set_err = errno;
  ::cap_free(empty);
  if (set != 0) return ErrnoStatus(StatusCode::kInternal, "hardening: clearing capabilities", set_err);

  // Verify, the way an attacker would try it, that root cannot come back.
  uid_t ru = 0, eu = 0, su = 0;
  gid_t rg = 0, eg = 0, sg = 0;
  if (::getresuid(&ru, &eu, &su) != 0 || ::getresgid(&rg, &eg, &sg) != 0) {
    return ErrnoStatus(StatusCode::kInternal, "hardening: getresuid", errno);
  }
  if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid || sg != gid) {
    return InternalError("hardening: ids did not change as requested");
  }
  if (::getgroups(0, nullptr) != 0) return InternalError("hardening: supplementary groups remain");
  if (::setuid(0) == 0 || ::setgid(0) == 0) return InternalError("hardening: root could be regained");
  ASSIGN_OR_RETURN(const bool no_caps, HasNoCapabilities());
  if (!no_caps) return InternalError("hardening: capabilities remain after the uid change");
  return OkStatus();
}

void LockMemory([[maybe_unused]] uint64_t want, HardeningReport& report) {
#if defined(VP_HARDENING_ASAN)
  // ASan reserves terabytes of shadow address space and intercepts mlockall as a no-op.
  report.warnings.push_back("mlockall skipped under AddressSanitizer");
#else
  if (!HasEffectiveCapability(CAP_IPC_LOCK)) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_MEMLOCK, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < want) {
      // With MCL_FUTURE every later mapping counts against the limit: thread stacks and
      // large allocations would fail once it is reached. SecureBuffer still locks its pages.
      report.warnings.push_back("mlockall skipped: RLIMIT_MEMLOCK is " + std::to_string(lim.rlim_cur) +
                                " bytes, below the " + std::to_string(want) + " wanted");
      return;
    }
  }
  int rc = ::mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT);
  if (rc != 0 && errno == EINVAL) rc = ::mlockall(MCL_CURRENT | MCL_FUTURE);  // kernels before 4.4
  if (rc != 0) {
    report.warnings.push_back("mlockall refused: " + ErrnoText(errno));
    return;
  }
  report.memory_locked = true;
#endif
}

Status SetNoNewPrivs() {
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return ErrnoStatus(StatusCode::kInternal, "hardening: PR_SET_NO_NEW_PRIVS", errno);
  }
  if (::prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) return InternalError("hardening: no_new_privs did not stick");
  return OkStatus();
}

uint32_t ScmpAction(Action a) {
  switch (a) {
    case Action::kAllow: return SCMP_ACT_ALLOW;
    case Action::kKill: return SCMP_ACT_KILL_PROCESS;
    case Action::kEnosys: return SCMP_ACT_ERRNO(ENOSYS);
  }
  return SCMP_ACT_KILL_PROCESS;
}

Status LoadSeccompFilter(const HardeningOptions& options) {
  std::unique_ptr<void, void (*)(scmp_filter_ctx)> ctx(::seccomp_init(SCMP_ACT_ERRNO(EPERM)), ::seccomp_release);
  if (ctx == nullptr) return InternalError("hardening: seccomp_init failed");
  auto attr = [&](scmp_filter_attr a, uint32_t v, const char* what) -> Status {
    const int rc = ::seccomp_attr_set(ctx.get(), a, v);
    if (rc < 0) return ErrnoStatus(StatusCode::kInternal, std::string("hardening: seccomp ") + what, -rc);
    return OkStatus();
  };
  // A syscall of another ABI (i386 int 0x80, x32) would bypass the table: kill it.
  RETURN_IF_ERROR(attr(SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS, "bad-arch action"));
  RETURN_IF_ERROR(attr(SCMP_FLTATR_CTL_TSYNC, 1, "thread sync"));
  const auto own_pid = static_cast<uint64_t>(::getpid());
  for (const SyscallRule& rule : kSyscallPolicy) {
    if (rule.when == When::kUnixConnect && !options.allow_unix_connect) continue;
    if (rule.when == When::kSanitizer && !kSanitizerBuild) continue;
    scmp_arg_cmp args[2] = {};
    for (size_t i = 0; i < rule.arg_count; ++i) {
      const ArgCheck& c = rule.args[i];
      args[i] = scmp_arg_cmp{c.arg, c.op, c.a == kOwnPid ? own_pid : c.a, c.b};
    }
    const int rc = ::seccomp_rule_add_exact_array(ctx.get(), ScmpAction(rule.action), rule.nr, rule.arg_count, args);
    if (rc < 0) return ErrnoStatus(StatusCode::kInternal, std::string("hardening: seccomp rule for ") + rule.name, -rc);
  }
  const int rc = ::seccomp_load(ctx.get());
  if (rc < 0) return ErrnoStatus(StatusCode::kPermissionDenied, "hardening: seccomp_load", -rc);
  return OkStatus();
}

}  // namespace

StatusOr<HardeningReport> HardenProcess(const HardeningOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  RETURN_IF_ERROR(CheckSingleThreaded());
  HardeningReport report;
  // The parent-death signal the launcher set, which a credential change clears (below).
  int parent_death_signal = 0;
  (void)::prctl(PR_GET_PDEATHSIG, &parent_death_signal);
  const pid_t parent = ::getppid();

  RETURN_IF_ERROR(CloseOtherFds(options.keep_fds));
  report.fds_closed = true;

  RETURN_IF_ERROR(SetCoreLimitZero());
  report.core_limit_zero = true;
  RETURN_IF_ERROR(SetNotDumpable());

  RaiseMemlockLimit(options.memlock_bytes, report);

  if (options.new_network_namespace) {
    if (::unshare(CLONE_NEWNET) == 0) {
      report.network_namespace = true;
    } else {
      report.warnings.push_back("network namespace unavailable: " + ErrnoText(errno));
    }
  }

  const bool root = ::geteuid() == 0;
  if (options.uid.has_value()) {
    if (root) {
      RETURN_IF_ERROR(DropPrivileges(*options.uid, *options.gid));
      report.dropped_privileges = true;
    } else if (::geteuid() != *options.uid || ::getegid() != *options.gid) {
      report.warnings.push_back("not root: keeps uid " + std::to_string(::geteuid()) + " instead of " +
                                std::to_string(*options.uid));
    }
  } else if (root) {
    report.warnings.push_back("running as root: no uid/gid to switch to");
  }
  // A credential change resets dumpable to the fs.suid_dumpable sysctl, which may be 1.
  RETURN_IF_ERROR(SetNotDumpable());
  // It also clears the parent-death signal: re-arm it, so the signer never outlives the
  // gateway that launched it (an orphan would keep unwrapped keys in memory).
  if (parent_death_signal != 0) {
    if (::prctl(PR_SET_PDEATHSIG, parent_death_signal) != 0) {
      return ErrnoStatus(StatusCode::kInternal, "hardening: PR_SET_PDEATHSIG", errno);
    }
    if (::getppid() != parent) return FailedPreconditionError("hardening: the launcher exited during start-up");
  }
  report.not_dumpable = true;

  LockMemory(options.memlock_bytes, report);

  RETURN_IF_ERROR(SetNoNewPrivs());
  report.no_new_privs = true;

  RETURN_IF_ERROR(LoadSeccompFilter(options));
  report.seccomp = true;
#if defined(VP_HARDENING_ASAN)
  g_hardened.store(true);
#endif
  return report;
}

StatusOr<ProcessSecurityStatus> ReadProcessSecurityStatus(pid_t pid) {
  if (pid <= 0) return InvalidArgumentError("process status: bad pid " + std::to_string(pid));
  ASSIGN_OR_RETURN(const std::string text, ReadStatusFile(std::to_string(pid)));
  ProcessSecurityStatus out;
  if (const auto v = FieldNumber(StatusField(text, "NoNewPrivs"), 0); v.has_value() && *v <= 1) {
    out.no_new_privs = static_cast<int>(*v);
  }
  if (const auto v = FieldNumber(StatusField(text, "Seccomp"), 0); v.has_value() && *v <= 2) {
    out.seccomp = static_cast<int>(*v);
  }
  // Real, effective, saved, filesystem: the effective id is the one access checks use.
  const auto uid = FieldNumber(StatusField(text, "Uid"), 1);
  const auto gid = FieldNumber(StatusField(text, "Gid"), 1);
  if (!uid.has_value() || !gid.has_value() || *uid > UINT32_MAX || *gid > UINT32_MAX) {
    return InternalError("process status: /proc/" + std::to_string(pid) + "/status lacks Uid/Gid");
  }
  out.uid = static_cast<uid_t>(*uid);
  out.gid = static_cast<gid_t>(*gid);
  return out;
}

}  // namespace vp::signer
