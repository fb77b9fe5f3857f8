// What the benchmark programs share: peak memory, CPU time of all threads, wall time.
#pragma once

#include <sys/resource.h>

#include <chrono>

namespace vp::bench {

inline double PeakRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// CPU time of all threads (user + system), to estimate idle-machine throughput when the
// machine is shared: with 2 cores and good scaling, idle wall time ~ CPU time / 2.
inline double CpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
          static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3);
}

inline double Ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace vp::bench
