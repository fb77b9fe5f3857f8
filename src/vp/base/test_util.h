// Helpers shared by the test suites and benchmarks (header-only; never in the product):
// the replayable seed of randomized tests, reading fixture files of the corpus, and
// running a command for its output.
//
//   std::mt19937_64 rng(vp::testing::TestSeed());        // prints the seed; VP_TEST_SEED replays it
//   std::string text = vp::testing::ReadFile(path);
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

namespace vp::testing {

inline constexpr uint64_t kDefaultTestSeed = 20261121;

// VP_TEST_SEED when set, else kDefaultTestSeed; printed so a failing run can be replayed.
inline uint64_t TestSeed() {
  const char* env = std::getenv("VP_TEST_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : kDefaultTestSeed;
  std::cout << "[ seed     ] VP_TEST_SEED=" << seed << "\n";
  return seed;
}

// The whole file as bytes ("" if it cannot be read: the caller's assertions then fail).
inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `cmd` through the shell and returns its stdout; *exit_code (if given) is its exit
// status, or -1 when it did not exit normally.
inline std::string RunCapture(const std::string& cmd, int* exit_code = nullptr) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) {
    if (exit_code != nullptr) *exit_code = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  const int status = ::pclose(p);
  if (exit_code != nullptr) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return out;
}

// A TCP socket listening on 127.0.0.1 at a port the kernel chose (written to *port), for
// the test servers that play a peer; -1 when it cannot be made.
inline int ListenLoopback(uint16_t* port, int backlog = 16) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, backlog) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

}  // namespace vp::testing
