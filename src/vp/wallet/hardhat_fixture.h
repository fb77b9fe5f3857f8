// Test support: a real Hardhat node (tests/chain/node.mjs, Hardhat 2.29.1, chain id 1337)
// on a free local port, for the tests that talk to a chain (rpc_test, broadcast_test,
// custody_e2e_test). Hardhat missing is an error that says to run scripts/setup, never a
// skip. The node and its launcher form one process group, started by PID and stopped
// together by Stop(); they also stop when the test binary dies (parent-death signal, end
// of file on stdin). XDG_DATA_HOME, XDG_CONFIG_HOME and XDG_CACHE_HOME point at a fresh
// temp folder (removed by Stop), so Hardhat writes nothing under the home directory.
//
//   static HardhatNode node;                       // in SetUpTestSuite:
//   std::string error = node.Start();              // "" once eth_chainId answered
//   auto rpc = RpcClient::Create(node.url());
//   node.Stop();                                   // in TearDownTestSuite
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "vp/base/test_util.h"
#include "vp/wallet/rpc.h"

namespace vp::wallet::testing {

// The source tree: VP_SOURCE_DIR (set by ctest), else the directory compiled in.
inline std::string SourceDir() {
  const char* env = std::getenv("VP_SOURCE_DIR");
  return env != nullptr && *env != '\0' ? env : VP_SOURCE_DIR_DEFAULT;
}

// A loopback port free at the time of the call (0 if none could be found).
inline uint16_t FreePort() {
  uint16_t port = 0;
  const int fd = vp::testing::ListenLoopback(&port);
  if (fd < 0) return 0;
  ::close(fd);
  return port;
}

class HardhatNode {
 public:
  HardhatNode() = default;
  ~HardhatNode() { Stop(); }
  HardhatNode(const HardhatNode&) = delete;
  HardhatNode& operator=(const HardhatNode&) = delete;

  // Starts the node (up to three tries, 90 s each). Returns "" once it answers eth_chainId,
  // else why it did not (with the node's log).
  std::string Start() {
    const std::string chain = SourceDir() + "/tests/chain";
    const std::string cli = chain + "/node_modules/hardhat/internal/cli/cli.js";
    if (!std::filesystem::exists(cli))
      return "Hardhat is not installed (" + cli + " is missing): run scripts/setup (or npm ci --prefix tests/chain)";
    std::string error = "not started";
    for (int attempt = 0; attempt < 3 && pid_ <= 0; ++attempt) error = StartOnce(chain);
    return error;
  }

  void Stop() {
    if (pid_ <= 0) {
      RemoveHome();
      return;
    }
    using namespace std::chrono_literals;
    ::kill(-pid_, SIGTERM);
    int wstatus = 0;
    for (int i = 0; i < 100 && ::waitpid(pid_, &wstatus, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
    if (::waitpid(pid_, &wstatus, WNOHANG) == 0) {
      ::kill(-pid_, SIGKILL);
      ::waitpid(pid_, &wstatus, 0);
    }
    pid_ = -1;
    ::close(stdin_fd_);
    std::error_code ec;
    std::filesystem::remove(log_, ec);
    RemoveHome();
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  uint16_t port() const { return port_; }
  int64_t startup_ms() const { return startup_ms_; }

 private:
  std::string StartOnce(const std::string& chain) {
    using namespace std::chrono_literals;
    port_ = FreePort();
    log_ = "/tmp/vp-hardhat-" + std::to_string(::getpid()) + "-" + std::to_string(port_) + ".log";
    RemoveHome();
    char home_tmpl[] = "/tmp/vp-hardhat-home-XXXXXX";
    if (::mkdtemp(home_tmpl) == nullptr) return "mkdtemp failed";
    home_ = home_tmpl;
    int stdin_pipe[2];
    if (::pipe(stdin_pipe) != 0) return "pipe failed";
    // Everything the child needs is prepared before fork: it only calls exec-safe functions.
    const std::string script = chain + "/node.mjs";
    const std::string port = std::to_string(port_);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      if (entry.starts_with("XDG_DATA_HOME=") || entry.starts_with("XDG_CONFIG_HOME=") ||
          entry.starts_with("XDG_CACHE_HOME="))
        continue;
      env_strings.emplace_back(entry);
    }
    for (const char* name : {"XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"})
      env_strings.push_back(std::string(name) + "=" + home_ + "/" + name);
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::vector<char*> argv = {const_cast<char*>("node"), const_cast<char*>(script.c_str()),
                               const_cast<char*>(port.c_str()), const_cast<char*>("--watch-stdin"), nullptr};
    const auto started = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      ::dup2(stdin_pipe[0], 0);
      ::close(stdin_pipe[0]);
      ::close(stdin_pipe[1]);
      const int log = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      if (log >= 0) {
        ::dup2(log, 1);
        ::dup2(log, 2);
      }
      ::execvpe("node", argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(stdin_pipe[0]);
    stdin_fd_ = stdin_pipe[1];
    ::fcntl(stdin_fd_, F_SETFD, FD_CLOEXEC);
    if (pid < 0) {
      ::close(stdin_fd_);
      return "fork failed";
    }
    pid_ = pid;
    RpcOptions o;
    o.connect_timeout = 1s;
    o.request_timeout = 5s;
    auto rpc = RpcClient::Create(url(), o);
    if (!rpc.ok()) {
      Stop();
      return rpc.status().ToString();
    }
    while (std::chrono::steady_clock::now() - started < 90s) {
      int wstatus = 0;
      if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
        const std::string log = vp::testing::ReadFile(log_);
        pid_ = -1;
        ::close(stdin_fd_);
        return "the Hardhat launcher exited before answering; its log:\n" + log;
      }
      if ((*rpc)->ChainId().ok()) {
        startup_ms_ =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
        std::cout << "[ hardhat  ] " << url() << " answered eth_chainId after " << startup_ms_ << " ms\n";
        return "";
      }
      std::this_thread::sleep_for(50ms);
    }
    const std::string log = vp::testing::ReadFile(log_);
    Stop();
    return "Hardhat did not answer within 90 s; its log:\n" + log;
  }

  void RemoveHome() {
    if (home_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(home_, ec);
    home_.clear();
  }

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::string home_;  // the XDG_* folders' parent
  uint16_t port_ = 0;
  std::string log_;
  int64_t startup_ms_ = 0;
};

}  // namespace vp::wallet::testing
