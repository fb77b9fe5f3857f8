// Seed corpus support shared by the fuzz targets: with VP_FUZZ_WRITE_SEEDS=DIR a target
// writes one valid input per format into DIR (tests/fuzz/smoke.sh does this before each
// run). A seed that cannot be written, or that its own decoder refuses, aborts: it would
// otherwise silently lead the fuzzer nowhere.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace vp::fuzz {

inline void RequireSeed(bool valid, std::string_view name) {
  if (valid) return;
  std::fprintf(stderr, "seed %.*s does not decode\n", static_cast<int>(name.size()), name.data());
  std::abort();
}

inline void WriteSeed(const char* dir, std::string_view name, const void* data, size_t size) {
  const std::string path = std::string(dir) + "/" + std::string(name);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(data, 1, size, f) != size) std::abort();
  std::fclose(f);
}

}  // namespace vp::fuzz
