// Process hardening of the signer, each step checked on a forked child so the test
// process itself stays untouched. The child hardens itself, runs a check inside the
// hardened process, tells the parent over a pipe, then blocks on a pipe read while the
// parent inspects it from outside (/proc/<pid>/...); closing that pipe lets it exit.
// Root-only parts (the uid switch, the network namespace, /proc/<pid>/mem) skip otherwise.
#include "vp/signer/hardening.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <new>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace vp::signer {
namespace {

constexpr uid_t kNobody = 65534;

bool IsRoot() { return ::geteuid() == 0; }

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kAsan = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif
#else
constexpr bool kAsan = false;
#endif

// What a /proc/<pid>/mem attacker looks for. Targets overwrite it with kTargetSecret after
// fork, so the attacker (another fork, same address) can tell the target's bytes from its own.
char g_secret[32] = "parent-copy-of-the-secret------";
constexpr char kTargetSecret[32] = "only-the-target-holds-this-key!";

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

void Say(int fd, const std::string& line) { WriteAll(fd, line + "\n"); }

std::string Errno(int err) { return std::string(::strerrordesc_np(err) ? ::strerrordesc_np(err) : "?"); }

int WaitFor(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

std::string DescribeWait(int status) {
  if (WIFEXITED(status)) return "exited " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("killed by ") + ::sigabbrev_np(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// A forked child. `body` runs in it with the fd to report on; when body returns, the child
// says "ready" and blocks until Finish(). It may also exit or die on its own.
class Child {
 public:
  explicit Child(const std::function<void(int out_fd, int go_fd)>& body) {
    int out[2];
    int go[2];
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(go, O_CLOEXEC) != 0) std::abort();
    pid_ = ::fork();
    if (pid_ < 0) std::abort();
    if (pid_ == 0) {
      ::close(out[0]);
      ::close(go[1]);
      body(out[1], go[0]);
      Say(out[1], "ready");
      char c = 0;
      while (::read(go[0], &c, 1) < 0 && errno == EINTR) {
      }
      ::_exit(0);  // not exit(): no atexit handlers (gtest, LeakSanitizer) in a hardened child
    }
    ::close(out[1]);
    ::close(go[0]);
    go_fd_ = go[1];
    std::string buffer;
    char chunk[1024];
    for (;;) {
      const ssize_t n = ::read(out[0], chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
      if (buffer.size() >= 6 && buffer.compare(buffer.size() - 6, 6, "ready\n") == 0) {
        ready_ = true;
        break;
      }
    }
    ::close(out[0]);
    std::istringstream lines(buffer);
    for (std::string line; std::getline(lines, line);) {
      if (line != "ready") lines_.push_back(line);
    }
  }
  ~Child() { Finish(); }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool ready() const { return ready_; }
  const std::vector<std::string>& lines() const { return lines_; }

  // Lets the child exit; returns its wait status.
  int Finish() {
    if (go_fd_ >= 0) {
      ::close(go_fd_);
      go_fd_ = -1;
      status_ = WaitFor(pid_);
    }
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
  bool ready_ = false;
  int status_ = 0;
  std::vector<std::string> lines_;
};

// Runs inside the hardened child; returns "" when every expectation held, else what failed.
using InChildCheck = std::function<std::string()>;
// Runs in the child before HardenProcess (may add keep_fds, change ids, ...).
using ChildSetup = std::function<void(HardeningOptions&)>;

// The child's view of HardenProcess, as it reported it.
struct ChildView {
  bool hardened = false;
  std::string error;  // Status::ToString() when HardenProcess failed
  HardeningReport report;
  bool check_ran = false;
  std::string check_failure;

  bool HasWarning(std::string_view part) const {
    for (const auto& w : report.warnings) {
      if (w.find(part) != std::string::npos) return true;
    }
    return false;
  }
};

class HardenedChild {
 public:
  explicit HardenedChild(HardeningOptions options, InChildCheck check = {}, ChildSetup setup = {})
      : child_([&](int out, int go) {
          std::memcpy(g_secret, kTargetSecret, sizeof g_secret);
          if (setup) setup(options);
          options.keep_fds.push_back(out);
          options.keep_fds.push_back(go);
          auto r = HardenProcess(options);
          if (!r.ok()) {
            Say(out, "error " + r.status().ToString());
            ::_exit(2);
          }
          const HardeningReport& rep = *r;
          std::string flags;
          for (bool b : {rep.dropped_privileges, rep.network_namespace, rep.no_new_privs, rep.seccomp,
                         rep.memory_locked, rep.not_dumpable, rep.core_limit_zero, rep.fds_closed}) {
            flags += b ? '1' : '0';
          }
          Say(out, "report " + flags);
          for (const auto& w : rep.warnings) Say(out, "warning " + w);
          if (check) {
            const std::string failure = check();
            Say(out, failure.empty() ? std::string("check passed") : "check failed " + failure);
          }
        }) {
    for (const std::string& line : child_.lines()) {
      if (line.rfind("error ", 0) == 0) {
        view_.error = line.substr(6);
      } else if (line.rfind("report ", 0) == 0 && line.size() == 15) {
        view_.hardened = true;
        bool* flags[] = {&view_.report.dropped_privileges, &view_.report.network_namespace,
                         &view_.report.no_new_privs,       &view_.report.seccomp,
                         &view_.report.memory_locked,      &view_.report.not_dumpable,
                         &view_.report.core_limit_zero,    &view_.report.fds_closed};
        for (size_t i = 0; i < 8; ++i) *flags[i] = line[7 + i] == '1';
      } else if (line.rfind("warning ", 0) == 0) {
        view_.report.warnings.push_back(line.substr(8));
      } else if (line == "check passed") {
        view_.check_ran = true;
      } else if (line.rfind("check failed ", 0) == 0) {
        view_.check_ran = true;
        view_.check_failure = line.substr(13);
      }
    }
  }

  pid_t pid() const { return child_.pid(); }
  bool ready() const { return child_.ready(); }
  const ChildView& view() const { return view_; }
  int Finish() { return child_.Finish(); }

 private:
  ChildView view_;
  Child child_;
};

// The options the signer's launcher uses: its own uid when we are root.
HardeningOptions SignerOptions() {
  HardeningOptions o;
  if (IsRoot()) {
    o.uid = kNobody;
    o.gid = kNobody;
  }
  return o;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// "Key:\tvalue" of /proc/<pid>/status.
std::string StatusLine(pid_t pid, const std::string& key) {
  std::istringstream in(ReadText("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key + ":", 0) == 0) {
      std::string v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  }
  return "<absent>";
}

std::string Link(const std::string& path) {
  char buf[256];
  const ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "<unreadable " + path + ">";
}

#define EXPECT_HARDENED(child)                                                   \
  do {                                                                           \
    ASSERT_TRUE((child).view().hardened) << "HardenProcess: " << (child).view().error; \
    ASSERT_TRUE((child).ready()) << "child died: " << DescribeWait((child).Finish());   \
  } while (0)

// --- what /proc and the report say -------------------------------------------------------

TEST(HardenProcess, ProcStatusShowsNoNewPrivsAndSeccompFilter) {
  HardenedChild child(SignerOptions());
  EXPECT_HARDENED(child);
  EXPECT_TRUE(child.view().report.no_new_privs);
  EXPECT_TRUE(child.view().report.seccomp);
  auto s = ReadProcessSecurityStatus(child.pid());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->no_new_privs, 1);
  EXPECT_EQ(s->seccomp, 2);  // SECCOMP_MODE_FILTER
  EXPECT_EQ(StatusLine(child.pid(), "NoNewPrivs"), "1");
  EXPECT_EQ(StatusLine(child.pid(), "Seccomp"), "2");
  EXPECT_EQ(child.Finish(), 0) << DescribeWait(child.Finish());
}

TEST(HardenProcess, CoreLimitZeroAndNotDumpable) {
  HardenedChild child(SignerOptions(), [] {
    rlimit core{1, 1};
    if (::getrlimit(RLIMIT_CORE, &core) != 0) return "getrlimit: " + Errno(errno);
    if (core.rlim_cur != 0 || core.rlim_max != 0) return std::string("RLIMIT_CORE is not 0/0");
    // Raising it again is a write: refused.
    const rlimit one{1, 1};
    if (::setrlimit(RLIMIT_CORE, &one) == 0) return std::string("RLIMIT_CORE could be raised");
    // PR_SET_DUMPABLE is not an allowed prctl: the process cannot make itself dumpable.
    if (::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0) return std::string("PR_SET_DUMPABLE 1 allowed");
    return std::string();
  });
  EXPECT_HARDENED(child);
  EXPECT_EQ(child.view().check_failure, "");
  EXPECT_TRUE(child.view().check_ran);
  EXPECT_TRUE(child.view().report.core_limit_zero);
  EXPECT_TRUE(child.view().report.not_dumpable);
  // The kernel hands the files under /proc/<pid> of a non-dumpable process to root
  // instead of its owner.
  const auto st = ReadProcessSecurityStatus(child.pid());
  ASSERT_TRUE(st.ok());
  if (st->uid != 0) {
    struct stat info {};
    ASSERT_EQ(::stat(("/proc/" + std::to_string(child.pid()) + "/mem").c_str(), &info), 0);
    EXPECT_EQ(info.st_uid, 0u) << "the process is still dumpable";
  }
  EXPECT_NE(ReadText("/proc/" + std::to_string(child.pid()) + "/limits").find("Max core file size        0"),
            std::string::npos);
}

TEST(HardenProcess, SwitchesToTheRequestedIdsWithNoWayBack) {
  if (!IsRoot()) GTEST_SKIP() << "needs root";
  HardenedChild child(SignerOptions(), [] {
    if (::setuid(0) == 0) return std::string("setuid(0) succeeded");
    if (::setgid(0) == 0) return std::string("setgid(0) succeeded");
    return std::string();
  });
  EXPECT_HARDENED(child);
  EXPECT_EQ(child.view().check_failure, "");
  EXPECT_TRUE(child.view().report.dropped_privileges);
  auto s = ReadProcessSecurityStatus(child.pid());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->uid, kNobody);
  EXPECT_EQ(s->gid, kNobody);
  // Real, effective, saved and fs ids all switched, no groups, no capabilities: nothing
  // is left that setuid(0) could return to.
  EXPECT_EQ(StatusLine(child.pid(), "Uid"), "65534\t65534\t65534\t65534");
  EXPECT_EQ(StatusLine(child.pid(), "Gid"), "65534\t65534\t65534\t65534");
  EXPECT_EQ(StatusLine(child.pid(), "Groups"), "");
  EXPECT_EQ(StatusLine(child.pid(), "CapPrm"), "0000000000000000");
  EXPECT_EQ(StatusLine(child.pid(), "CapEff"), "0000000000000000");
  EXPECT_EQ(StatusLine(child.pid(), "CapAmb"), "0000000000000000");
}

TEST(HardenProcess, NetworkNamespaceHasOnlyLoopback) {
  HardenedChild child(SignerOptions());
  EXPECT_HARDENED(child);
  if (!child.view().report.network_namespace) {
    EXPECT_TRUE(child.view().HasWarning("network namespace unavailable: "));
    GTEST_SKIP() << "no network namespace here (not root?)";
  }
  const std::string proc = "/proc/" + std::to_string(child.pid());
  EXPECT_NE(Link(proc + "/ns/net"), Link("/proc/self/ns/net"));
  // /proc/<pid>/net/dev lists the interfaces of that process's namespace.
  std::istringstream dev(ReadText(proc + "/net/dev"));
  std::vector<std::string> interfaces;
  size_t n = 0;
  for (std::string line; std::getline(dev, line); ++n) {
    if (n < 2) continue;  // two header lines
    const size_t colon = line.find(':');
    ASSERT_NE(colon, std::string::npos) << line;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    interfaces.push_back(name);
  }
  EXPECT_EQ(interfaces, std::vector<std::string>{"lo"});
}

TEST(HardenProcess, ClosesEveryFdButTheKeptOnes) {
  struct Fds {
    int kept = -1, dropped = -1, high = 1000;
  };
  static Fds fds;  // written by the child's setup, read by its check: same process
  HardenedChild child(
      SignerOptions(),
      [] {
        std::string failures;
        if (::fcntl(fds.kept, F_GETFD) == -1) failures += "kept fd closed; ";
        if (::fcntl(fds.dropped, F_GETFD) != -1 || errno != EBADF) failures += "dropped fd open; ";
        if (::fcntl(fds.high, F_GETFD) != -1) failures += "fd 1000 open; ";
        for (int std_fd = 0; std_fd < 3; ++std_fd) {
          if (::fcntl(std_fd, F_GETFD) == -1) failures += "fd " + std::to_string(std_fd) + " closed; ";
        }
        // A kept fd still works.
        if (::write(fds.kept, "x", 1) != 1) failures += "kept fd unusable; ";
        return failures;
      },
      [](HardeningOptions& o) {
        fds.kept = ::open("/dev/null", O_WRONLY);
        fds.dropped = ::open("/dev/null", O_RDONLY);
        ::dup2(fds.dropped, fds.high);
        o.keep_fds.push_back(fds.kept);
      });
  EXPECT_HARDENED(child);
  EXPECT_TRUE(child.view().report.fds_closed);
  EXPECT_TRUE(child.view().check_ran);
  EXPECT_EQ(child.view().check_failure, "");
}

TEST(HardenProcess, MemoryLockedOrWarned) {
  HardenedChild child(SignerOptions());
  EXPECT_HARDENED(child);
  // With the uid switch, mlockall needs RLIMIT_MEMLOCK raised, which needs CAP_SYS_RESOURCE
  // (containers often lack it): then a warning says why memory is not locked.
  for (const auto& w : child.view().report.warnings) std::cout << "[ warning  ] " << w << "\n";
  EXPECT_TRUE(child.view().report.memory_locked || child.view().HasWarning("mlockall"));
  if (child.view().report.memory_locked) {
    EXPECT_NE(StatusLine(child.pid(), "VmLck"), "0 kB");
  }
}

TEST(HardenProcess, RootWithoutUidSwitchLocksAllMemory) {
  if (!IsRoot()) GTEST_SKIP() << "needs root (CAP_IPC_LOCK)";
  if (kAsan) GTEST_SKIP() << "mlockall is skipped under AddressSanitizer";
  HardenedChild child(HardeningOptions{}, [] {
    // MCL_FUTURE: new memory is locked too. Kept until the child exits, so the parent sees it.
    static std::vector<char>* big = new std::vector<char>(10u << 20, 1);
    return (*big)[12345] == 1 ? std::string() : std::string("bad memory");
  });
  EXPECT_HARDENED(child);
  EXPECT_EQ(child.view().check_failure, "");
  EXPECT_TRUE(child.view().report.memory_locked);
  EXPECT_TRUE(child.view().HasWarning("running as root"));
  const std::string locked = StatusLine(child.pid(), "VmLck");
  EXPECT_GT(std::stol(locked), 10 * 1024) << locked;
}

// --- what still works ------------------------------------------------------------------

TEST(HardenProcess, ThreadsMemoryTimeAndRandomnessStillWork) {
  HardenedChild child(SignerOptions(), [] {
    std::string failures;
    try {
      std::atomic<int> value{0};
      std::thread t([&value] {
        ::prctl(PR_SET_NAME, "vp-worker", 0, 0, 0);
        std::vector<char> in_thread(1 << 20, 2);
        value = in_thread[100] + 40;
      });
      t.join();
      if (value != 42) failures += "thread did not run; ";
    } catch (const std::exception& e) {
      failures += std::string("std::thread: ") + e.what() + "; ";
    }
    std::vector<char>* big = new (std::nothrow) std::vector<char>(10u << 20, 7);
    if (big == nullptr || (*big)[(10u << 20) - 1] != 7) failures += "10 MB malloc failed; ";
    delete big;
    char random[32];
    if (::getrandom(random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) failures += "getrandom; ";
    timespec ts{};
    if (::clock_gettime(CLOCK_MONOTONIC, &ts) != 0) failures += "clock_gettime; ";
    const timespec nap{0, 1000000};
    if (::nanosleep(&nap, nullptr) != 0) failures += "nanosleep; ";
    if (::prctl(PR_SET_NAME, "vp-signer", 0, 0, 0) != 0) failures += "PR_SET_NAME; ";
    // glibc's clone3 probe is answered with ENOSYS so that it falls back to clone.
    if (::syscall(SYS_clone3, nullptr, 0) != -1 || errno != ENOSYS) failures += "clone3 not ENOSYS; ";
    return failures;
  });
  EXPECT_HARDENED(child);
  EXPECT_TRUE(child.view().check_ran);
  EXPECT_EQ(child.view().check_failure, "");
  EXPECT_EQ(child.Finish(), 0) << DescribeWait(child.Finish());
}

TEST(HardenProcess, AbortStillRaisesSigabrt) {
  HardenedChild child(SignerOptions(), []() -> std::string { std::abort(); });
  const int status = child.Finish();
  ASSERT_TRUE(child.view().hardened) << child.view().error;
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << DescribeWait(status);
}

// exit() runs atexit handlers and static destructors; under ASan that includes the leak
// check, which cannot work in a hardened process and is skipped there (hardening.cc).
TEST(HardenProcess, NormalExitIsClean) {
  HardenedChild child(SignerOptions(), []() -> std::string { std::exit(0); });
  ASSERT_TRUE(child.view().hardened) << child.view().error;
  const int status = child.Finish();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << DescribeWait(status);
}

// A pathname Unix socket is reachable from the new network namespace: the kms path.
TEST(HardenProcess, ConnectsToAUnixSocket) {
  const std::string path = "/tmp/vp-hardening-test-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  const int listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(listener, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  ASSERT_EQ(::bind(listener, reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0777), 0);  // the child connects as uid 65534
  ASSERT_EQ(::listen(listener, 4), 0);
  HardenedChild child(SignerOptions(), [&addr] {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return "socket(AF_UNIX): " + Errno(errno);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return "connect: " + Errno(errno);
    if (::send(fd, "hello", 5, MSG_NOSIGNAL) != 5) return "send: " + Errno(errno);
    // Only stream sockets.
    if (::socket(AF_UNIX, SOCK_DGRAM, 0) != -1 || errno != EPERM) return std::string("AF_UNIX datagram allowed");
    return std::string();
  });
  EXPECT_HARDENED(child);
  EXPECT_EQ(child.view().check_failure, "");
  pollfd p{listener, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  const int conn = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  char buf[8] = {};
  EXPECT_EQ(::recv(conn, buf, sizeof buf, 0), 5);
  EXPECT_STREQ(buf, "hello");
  ::close(conn);
  ::close(listener);
  ::unlink(path.c_str());
}

TEST(HardenProcess, NoUnixConnectWhenNotAllowed) {
  HardeningOptions o = SignerOptions();
  o.allow_unix_connect = false;
  HardenedChild child(o, [] {
    if (::socket(AF_UNIX, SOCK_STREAM, 0) != -1 || errno != EPERM) return std::string("socket(AF_UNIX) allowed");
    return std::string();
  });
  EXPECT_HARDENED(child);
  EXPECT_EQ(child.view().check_failure, "");
}

// --- what is refused (EPERM, the process lives on) ------------------------------------

TEST(HardenProcess, RefusesWithEperm) {
  HardenedChild child(SignerOptions(), [] {
    std::string failures;
    auto expect_eperm = [&failures](const char* what, long rc) {
      if (rc != -1 || errno != EPERM) {
        failures += std::string(what) + " gave " + std::to_string(rc) + " (" + Errno(errno) + "); ";
      }
    };
    expect_eperm("open /etc/hostname", ::open("/etc/hostname", O_RDONLY));
    expect_eperm("openat /etc/hostname", ::syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY));
    expect_eperm("open /proc/self/status", ::open("/proc/self/status", O_RDONLY));
    expect_eperm("fork", ::fork());
    expect_eperm("kill parent", ::kill(::getppid(), 0));
    expect_eperm("tgkill parent", ::syscall(SYS_tgkill, ::getppid(), ::getppid(), 0));
    expect_eperm("setuid 0", ::setuid(0));
    expect_eperm("ioctl", ::ioctl(0, FIONBIO, nullptr));
    const rlimit big{RLIM_INFINITY, RLIM_INFINITY};
    expect_eperm("prlimit write", ::prlimit(0, RLIMIT_NOFILE, &big, nullptr));
    rlimit current{};
    if (::prlimit(0, RLIMIT_NOFILE, nullptr, &current) != 0) failures += "prlimit read refused; ";
    expect_eperm("prctl PR_SET_NO_NEW_PRIVS 0", ::prctl(PR_SET_NO_NEW_PRIVS, 0, 0, 0, 0));
    // No new executable memory.
    void* exec = ::mmap(nullptr, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    expect_eperm("mmap PROT_EXEC", exec == MAP_FAILED ? -1 : 0);
    void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
      failures += "mmap RW refused; ";
    } else {
      expect_eperm("mprotect PROT_EXEC", ::mprotect(page, 4096, PROT_READ | PROT_EXEC));
      ::munmap(page, 4096);
    }
    return failures;
  });
  EXPECT_HARDENED(child);
  EXPECT_TRUE(child.view().check_ran);
  EXPECT_EQ(child.view().check_failure, "");
  EXPECT_EQ(child.Finish(), 0) << DescribeWait(child.Finish());
}

// --- what kills (SIGSYS) -----------------------------------------------------------------

struct KillCase {
  const char* name;
  long (*call)();
};

const KillCase kKillCases[] = {
    {"socket(AF_INET)", [] { return static_cast<long>(::socket(AF_INET, SOCK_STREAM, 0)); }},
    {"socket(AF_INET6)", [] { return static_cast<long>(::socket(AF_INET6, SOCK_DGRAM, 0)); }},
    {"socket(AF_NETLINK)", [] { return static_cast<long>(::socket(AF_NETLINK, SOCK_RAW, 0)); }},
    {"socket(AF_PACKET)", [] { return static_cast<long>(::socket(AF_PACKET, SOCK_RAW, 0)); }},
    // AF_INET in the low half that the kernel reads, garbage above: still not AF_UNIX.
    {"socket(AF_INET | 1 << 32)", [] { return ::syscall(SYS_socket, (1l << 32) | AF_INET, SOCK_STREAM, 0); }},
    {"execve", [] {
       char* const argv[] = {const_cast<char*>("/bin/true"), nullptr};
       return static_cast<long>(::execve("/bin/true", argv, nullptr));
     }},
    {"execveat", [] { return ::syscall(SYS_execveat, AT_FDCWD, "/bin/true", nullptr, nullptr, 0); }},
    {"ptrace", [] { return ::ptrace(PTRACE_TRACEME, 0, nullptr, nullptr); }},
    {"process_vm_readv", [] {
       char buf[8];
       iovec local{buf, sizeof buf};
       iovec remote{g_secret, sizeof buf};
       return static_cast<long>(::process_vm_readv(::getppid(), &local, 1, &remote, 1, 0));
     }},
    {"process_vm_writev", [] { return ::syscall(SYS_process_vm_writev, ::getppid(), nullptr, 0, nullptr, 0, 0); }},
    {"open_by_handle_at", [] { return ::syscall(SYS_open_by_handle_at, AT_FDCWD, nullptr, 0); }},
    {"kexec_load", [] { return ::syscall(SYS_kexec_load, 0, 0, nullptr, 0); }},
    {"init_module", [] { return ::syscall(SYS_init_module, nullptr, 0, ""); }},
    {"finit_module", [] { return ::syscall(SYS_finit_module, 0, "", 0); }},
    {"bpf", [] { return ::syscall(SYS_bpf, BPF_PROG_LOAD, nullptr, 0); }},
    {"mount", [] { return static_cast<long>(::mount("none", "/tmp", "tmpfs", 0, nullptr)); }},
    {"unshare", [] { return static_cast<long>(::unshare(CLONE_NEWUSER)); }},
    {"setns", [] { return static_cast<long>(::setns(0, CLONE_NEWNET)); }},
    {"pidfd_getfd", [] { return ::syscall(SYS_pidfd_getfd, 0, 0, 0); }},
    {"userfaultfd", [] { return ::syscall(SYS_userfaultfd, 0); }},
    {"perf_event_open", [] { return ::syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0); }},
#if defined(__x86_64__)
    // Another ABI's numbering (x32: bit 30 set) must not slip past the x86_64 table.
    {"x32 getpid", [] { return ::syscall(0x40000000L | SYS_getpid); }},
    // i386 int 0x80: eax 20 is getpid there.
    {"i386 int 0x80", [] {
       long rc = 20;
       asm volatile("int $0x80" : "+a"(rc) : : "memory");
       return rc;
     }},
#endif
};

TEST(HardenProcess, KillsOnForbiddenSyscalls) {
  for (const KillCase& c : kKillCases) {
    SCOPED_TRACE(c.name);
    HardenedChild child(SignerOptions(), [&c] {
      const long rc = c.call();
      return std::string("survived, returned ") + std::to_string(rc) + " (" + Errno(errno) + ")";
    });
    const int status = child.Finish();
    ASSERT_TRUE(child.view().hardened) << child.view().error;
    EXPECT_FALSE(child.view().check_ran) << child.view().check_failure;
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) << DescribeWait(status);
  }
}

// --- the /proc/<pid>/mem attack ---------------------------------------------------------

enum AttackResult : int {
  kOpenRefused = 10,  // EACCES / EPERM: what a non-dumpable target gets
  kOpenFailedOtherwise = 11,
  kReadFailed = 12,
  kReadTargetSecret = 13,
  kReadOtherBytes = 14,
  kDropFailed = 20,
};

// Becomes uid/gid 65534 and stays dumpable, as a process of that uid normally is (the uid
// change itself clears dumpable according to fs.suid_dumpable; this undoes it).
bool DropToNobodyDumpable() {
  return ::setgroups(0, nullptr) == 0 && ::setresgid(kNobody, kNobody, kNobody) == 0 &&
         ::setresuid(kNobody, kNobody, kNobody) == 0 && ::prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == 0;
}

// A process with the target's uid and no capabilities (a co-tenant of the signer's uid)
// opens /proc/<target>/mem and reads g_secret there.
int AttackProcMem(pid_t target) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setresgid(kNobody, kNobody, kNobody) != 0 ||
        ::setresuid(kNobody, kNobody, kNobody) != 0) {
      ::_exit(kDropFailed);
    }
    const std::string path = "/proc/" + std::to_string(target) + "/mem";
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) ::_exit(errno == EACCES || errno == EPERM ? kOpenRefused : kOpenFailedOtherwise);
    char buf[sizeof g_secret] = {};
    const auto offset = static_cast<off_t>(reinterpret_cast<uintptr_t>(g_secret));
    if (::pread(fd, buf, sizeof buf, offset) != static_cast<ssize_t>(sizeof buf)) ::_exit(kReadFailed);
    ::_exit(std::memcmp(buf, kTargetSecret, sizeof buf) == 0 ? kReadTargetSecret : kReadOtherBytes);
  }
  const int status = WaitFor(pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(HardenProcess, ProcMemOfTheSignerIsRefusedToItsOwnUid) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to place attacker and signer under uid 65534";
  HardenedChild signer(SignerOptions());  // blocked on its pipe read meanwhile
  EXPECT_HARDENED(signer);
  ASSERT_TRUE(signer.view().report.dropped_privileges);
  EXPECT_EQ(AttackProcMem(signer.pid()), kOpenRefused);
}

// PR_SET_DUMPABLE 0 itself, not only the uid switch (which also clears dumpable), stops
// the attack: here the process already runs as 65534 and was left dumpable.
TEST(HardenProcess, ProcMemIsRefusedEvenWhenStartedDumpableUnderThatUid) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to place attacker and signer under uid 65534";
  HardenedChild signer(HardeningOptions{}, {}, [](HardeningOptions&) {
    if (!DropToNobodyDumpable()) ::_exit(3);
  });
  EXPECT_HARDENED(signer);
  EXPECT_FALSE(signer.view().report.dropped_privileges);
  EXPECT_EQ(AttackProcMem(signer.pid()), kOpenRefused);
}

// Control: the same attack on a process of that uid that stays dumpable succeeds, so the
// test above can fail.
TEST(HardenProcess, ProcMemOfADumpableProcessOfTheSameUidIsReadable) {
  if (!IsRoot()) GTEST_SKIP() << "needs root to place attacker and target under uid 65534";
  Child target([](int out, int) {
    std::memcpy(g_secret, kTargetSecret, sizeof g_secret);
    Say(out, DropToNobodyDumpable() ? "ok" : "setup failed");
  });
  ASSERT_TRUE(target.ready());
  ASSERT_EQ(target.lines(), std::vector<std::string>{"ok"});
  EXPECT_EQ(AttackProcMem(target.pid()), kReadTargetSecret);
}

// --- going on without what is refused ---------------------------------------------------

// As an unprivileged process: no namespace, no uid switch; each is a warning, the rest holds.
TEST(HardenProcess, UnprivilegedProcessGetsWarningsNotErrors) {
  constexpr uid_t kUser = 12345;
  HardenedChild child(
      SignerOptions(), [] { return std::string(); },
      [](HardeningOptions& o) {
        if (IsRoot()) {
          if (::setgroups(0, nullptr) != 0 || ::setresgid(kUser, kUser, kUser) != 0 ||
              ::setresuid(kUser, kUser, kUser) != 0) {
            ::_exit(3);
          }
        }
        o.uid = 54321;  // not the uid it runs as
        o.gid = 54321;
      });
  EXPECT_HARDENED(child);
  const HardeningReport& r = child.view().report;
  EXPECT_FALSE(r.dropped_privileges);
  EXPECT_FALSE(r.network_namespace);
  EXPECT_TRUE(child.view().HasWarning("network namespace unavailable: Operation not permitted"));
  EXPECT_TRUE(child.view().HasWarning("not root: keeps uid"));
  EXPECT_TRUE(r.no_new_privs && r.seccomp && r.not_dumpable && r.core_limit_zero && r.fds_closed);
  auto s = ReadProcessSecurityStatus(child.pid());
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->seccomp, 2);
}

// --- refused options and states ---------------------------------------------------------

std::string HardenError(HardeningOptions o, ChildSetup setup = {}) {
  HardenedChild child(std::move(o), {}, std::move(setup));
  return child.view().hardened ? "hardened" : child.view().error;
}

TEST(HardenProcess, RefusesBadOptions) {
  HardeningOptions uid_only;
  uid_only.uid = kNobody;
  EXPECT_EQ(HardenError(uid_only).rfind("INVALID_ARGUMENT", 0), 0u) << HardenError(uid_only);
  HardeningOptions root_ids;
  root_ids.uid = 0;
  root_ids.gid = 0;
  EXPECT_EQ(HardenError(root_ids).rfind("INVALID_ARGUMENT", 0), 0u);
  HardeningOptions negative;
  negative.keep_fds = {-1};
  EXPECT_EQ(HardenError(negative).rfind("INVALID_ARGUMENT", 0), 0u);
  HardeningOptions not_open;
  not_open.keep_fds = {987};
  EXPECT_NE(HardenError(not_open).find("fd 987 is not open"), std::string::npos) << HardenError(not_open);
}

TEST(HardenProcess, RefusesToRunOnceThreadsExist) {
  const std::string error = HardenError(SignerOptions(), [](HardeningOptions&) {
    std::thread([] {
      for (;;) ::pause();
    }).detach();
  });
  EXPECT_EQ(error.rfind("FAILED_PRECONDITION", 0), 0u) << error;
}

// --- ReadProcessSecurityStatus ---------------------------------------------------------

TEST(ReadProcessSecurityStatus, OfThisProcess) {
  auto s = ReadProcessSecurityStatus(::getpid());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->uid, ::geteuid());
  EXPECT_EQ(s->gid, ::getegid());
  EXPECT_TRUE(s->no_new_privs == 0 || s->no_new_privs == 1);
  EXPECT_TRUE(s->seccomp >= 0 && s->seccomp <= 2);  // a container may filter us already
}

TEST(ReadProcessSecurityStatus, BadPids) {
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  WaitFor(gone);  // reaped: no /proc entry any more
  EXPECT_EQ(ReadProcessSecurityStatus(gone).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(ReadProcessSecurityStatus(0x7fffffff).status().code(), StatusCode::kNotFound);  // above pid_max
  EXPECT_EQ(ReadProcessSecurityStatus(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadProcessSecurityStatus(-1).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vp::signer
