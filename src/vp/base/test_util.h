// Helpers shared by the test suites (header-only; tests only): the replayable seed of
// randomized tests, and reading fixture files of the corpus.
//
//   std::mt19937_64 rng(vp::testing::TestSeed());        // prints the seed; VP_TEST_SEED replays it
//   std::string text = vp::testing::ReadFile(path);
#pragma once

#include <cstdint>
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

}  // namespace vp::testing
