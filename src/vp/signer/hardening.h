// Process hardening for vaultproof-signer: the steps that turn a freshly started process
// into the "enclave" of docs/threat_model.md. The signer's main calls HardenProcess once,
// right after it has opened its sockets and before it starts any thread or reads any key:
//
//   vp::signer::HardeningOptions opt;
//   opt.uid = 65534; opt.gid = 65534;      // its own uid when started as root
//   opt.keep_fds = {listen_fd, kms_fd};
//   ASSIGN_OR_RETURN(vp::signer::HardeningReport report, vp::signer::HardenProcess(opt));
//   for (const auto& w : report.warnings) log.warn(w);
//
// Steps, in this order (why the order: each step needs a privilege the next one removes):
//   1. close every fd >= 3 not in keep_fds (close_range) - no inherited file or socket;
//   2. RLIMIT_CORE 0 and PR_SET_DUMPABLE 0 - no core file, and /proc/<pid>/mem, ptrace
//      and /proc/<pid>/environ are refused to other processes of the same uid;
//   3. raise RLIMIT_MEMLOCK to memlock_bytes (needs root's CAP_SYS_RESOURCE when above
//      the hard limit; capped at the hard limit with a warning otherwise);
//   4. unshare(CLONE_NEWNET): a network namespace with only a down `lo` (a warning when
//      refused, e.g. EPERM in an unprivileged container);
//   5. setgroups({}), setresgid, setresuid to the requested ids, then check that
//      setuid(0) fails and no capability is left; dumpable is set to 0 again because a
//      credential change resets it to the fs.suid_dumpable sysctl;
//   6. mlockall(MCL_CURRENT|MCL_FUTURE|MCL_ONFAULT): nothing is ever swapped (a warning
//      when refused; skipped under AddressSanitizer, whose shadow memory is terabytes of
//      reserved address space, and skipped when RLIMIT_MEMLOCK is below memlock_bytes
//      without CAP_IPC_LOCK, because MCL_FUTURE would then make every later allocation
//      beyond the limit fail);
//   7. PR_SET_NO_NEW_PRIVS 1;
//   8. the seccomp filter below, synchronised to all threads.
// Under AddressSanitizer (the asan-ubsan preset): mlockall is skipped, pipe/pipe2 are
// allowed (below), and LeakSanitizer's check at exit is turned off once the process is
// hardened (it needs ptrace, fork and /proc/self/maps), so a hardened process exits cleanly.
// Errors (the process must then exit): kInvalidArgument for bad options, kFailedPrecondition
// when more than one thread runs (unshare(CLONE_NEWNET) moves the calling thread only),
// kPermissionDenied / kInternal when a step that must succeed fails (1, 2, 5, 7, 8).
//
// The seccomp filter (the single table is kSyscallPolicy in hardening.cc). Default action:
// the syscall fails with EPERM, so an unexpected call turns into an error reply rather than
// a dead signer. Allowed, and why:
//   I/O on fds it already holds: read write readv writev pread64 lseek fcntl fstat
//     newfstatat (glibc stdio) close shutdown
//   sockets: recvfrom sendto recvmsg sendmsg accept accept4 getsockopt setsockopt
//     getsockname getpeername; socket(AF_UNIX, SOCK_STREAM[|NONBLOCK|CLOEXEC]) and connect
//     only when allow_unix_connect (the signer dials the kms socket)
//   waiting: poll ppoll epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait
//     epoll_pwait2 futex nanosleep clock_nanosleep sched_yield restart_syscall (the kernel
//     resumes an interrupted sleep through it)
//   memory: mmap and mprotect (never PROT_EXEC: no new code after start-up) munmap mremap
//     madvise brk mlock mlock2 munlock membarrier
//   threads: clone with CLONE_THREAD only (no fork), clone3 fails with ENOSYS (its flags
//     sit in memory a filter cannot read; glibc then falls back to clone), set_robust_list
//     rseq exit exit_group sigaltstack
//   signals: rt_sigaction rt_sigprocmask rt_sigreturn, tgkill on its own pid only (abort)
//   time and identity: clock_gettime gettimeofday getrandom getpid gettid
//     sched_getaffinity (thread-count queries)
//   limits: getrlimit, prlimit64 read-only (new_limit must be NULL)
//   prctl(PR_SET_NAME) only (thread names)
//   sanitizer builds only: pipe pipe2 (UBSan's vptr check probes memory through a pipe);
//     error reports there are not symbolized, as /proc/self/exe cannot be read
// Killed on sight (SCMP_ACT_KILL_PROCESS; an attempt means the process is compromised):
//   execve execveat ptrace process_vm_readv process_vm_writev open_by_handle_at kexec_load
//   kexec_file_load init_module finit_module delete_module bpf mount umount2 pivot_root
//   chroot unshare setns userfaultfd perf_event_open pidfd_getfd process_madvise keyctl
//   add_key request_key, socket() of any family but AF_UNIX, and syscalls of another ABI
//   (i386, x32).
// Not allowed (EPERM): open/openat and every other path-based call - the signer opens
// nothing after hardening - plus fork, kill, ioctl, setuid and the rest.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vp/base/status.h"

namespace vp::signer {

struct HardeningOptions {
  // Switch to this uid/gid (and drop supplementary groups) when running as root. Set both
  // or neither; 0 is refused. When not root, a differing uid only adds a warning.
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
  // unshare(CLONE_NEWNET) before dropping root; if refused, a warning and go on.
  bool new_network_namespace = true;
  // Every other fd >= 3 is closed. Each listed fd must be open (kInvalidArgument otherwise).
  std::vector<int> keep_fds;
  // RLIMIT_MEMLOCK is raised to this while still root (mlockall needs it).
  uint64_t memlock_bytes = 256ull << 20;
  // Allow socket(AF_UNIX, SOCK_STREAM) + connect (the signer connects to the kms socket).
  bool allow_unix_connect = true;
};

struct HardeningReport {
  bool dropped_privileges = false, network_namespace = false, no_new_privs = false, seccomp = false,
       memory_locked = false, not_dumpable = false, core_limit_zero = false, fds_closed = false;
  // Steps that were refused and skipped, e.g.
  // "network namespace unavailable: Operation not permitted".
  std::vector<std::string> warnings;
};

// Applies the steps above to the calling process; irreversible. On error the process is
// left part-hardened and must exit.
StatusOr<HardeningReport> HardenProcess(const HardeningOptions& options);

// What /proc/<pid>/status says about a process: the fields tests and health checks look
// at. no_new_privs / seccomp are -1 when the kernel does not report them; seccomp is
// 0 (off), 1 (strict) or 2 (filter). uid/gid are the effective ids.
struct ProcessSecurityStatus {
  int no_new_privs = -1;
  int seccomp = -1;
  uid_t uid = 0;
  gid_t gid = 0;
};
// kInvalidArgument for pid <= 0; kNotFound when no such process exists; kPermissionDenied
// when the file cannot be read; kInternal when it lacks the Uid/Gid lines.
// Opens a file, so it cannot run inside a hardened process.
StatusOr<ProcessSecurityStatus> ReadProcessSecurityStatus(pid_t pid);

}  // namespace vp::signer
