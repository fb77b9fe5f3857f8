// What the benchmark programs share: peak memory, CPU time of all threads, wall time, the
// load average and the thread count.
#pragma once

#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#if defined(_OPENMP)
#include <omp.h>
#endif

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

// The 1-minute load average (0 when unreadable): recorded beside timings taken on a shared
// machine.
inline double LoadAvg() {
  double l = 0;
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf", &l) != 1) l = 0;
    std::fclose(f);
  }
  return l;
}

// OpenMP threads the prover may use (1 without OpenMP).
inline int Threads() {
#if defined(_OPENMP)
  return omp_get_max_threads();
#else
  return 1;
#endif
}

}  // namespace vp::bench
