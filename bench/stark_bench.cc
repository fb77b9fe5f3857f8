// STARK benchmark: proves Poseidon2 hash chains of 2^k hashes and reports hashes proven per
// second, phase times, peak memory, proof size, verify time and the ratio to hashing natively.
// Writes JSON lines to stdout (bench/results/stark.json collects them).
//
//   stark_bench [min_log] [max_log] [--no-zk] [--fit] [--repeat R]
//   --fit: use N = 2^k - padding hashes so the padded trace is exactly 2^k rows.
//   --repeat R: prove R times per size; proveMsMin / proveCpuMsMin are the fastest (this VM's
//   timings vary by 10-30% from run to run), the other figures are the first proof's.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "bench_util.h"
#include "vp/stark/airs/poseidon2_chain.h"
#include "vp/stark/layout.h"
#include "vp/stark/ntt.h"
#include "vp/stark/prover.h"
#include "vp/stark/verifier.h"

using namespace vp::stark;  // NOLINT
using vp::bench::CpuMs;
using vp::bench::Ms;
using vp::bench::LoadAvg;
using vp::bench::PeakRssMb;
using vp::bench::Threads;

int main(int argc, char** argv) {
  vp::stark::KeepFreedMemoryForProving();
  unsigned lo = 10, hi = 16;
  bool zk = true, fit = false;
  int pos = 0, repeat = 1;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
      repeat = std::max(1, std::atoi(argv[++i]));
    } else if (std::strcmp(argv[i], "--no-zk") == 0) {
      zk = false;
    } else if (std::strcmp(argv[i], "--fit") == 0) {
      fit = true;
    } else if (pos++ == 0) {
      lo = static_cast<unsigned>(std::atoi(argv[i]));
    } else {
      hi = static_cast<unsigned>(std::atoi(argv[i]));
    }
  }
  ProofOptions o;
  o.zero_knowledge = zk;
  for (unsigned k = lo; k <= hi; ++k) {
    size_t n = size_t{1} << k;
    if (fit && zk) n -= 2 * size_t{o.num_queries} + 4;
    const HashOut x = {Fp(1), Fp(2), Fp(3), Fp(4)};
    auto t0 = std::chrono::steady_clock::now();
    double c0 = CpuMs();
    const HashOut y = Poseidon2ChainAir::Compute(n, x);
    const double native_ms = Ms(t0);
    const double native_cpu_ms = CpuMs() - c0;
    Poseidon2ChainAir air(n, x, y);
    t0 = std::chrono::steady_clock::now();
    c0 = CpuMs();
    const TraceColumns trace = air.GenerateTrace();
    const double tracegen_ms = Ms(t0);
    SeededRandom rng(k);
    ProverStats st;
    t0 = std::chrono::steady_clock::now();
    auto proof = Prove(air, trace, o, rng, &st);
    const double prove_ms = Ms(t0);
    const double prove_cpu_ms = CpuMs() - c0;  // trace generation + proving
    if (!proof.ok()) {
      std::fprintf(stderr, "prove failed: %s\n", proof.status().ToString().c_str());
      return 1;
    }
    double prove_ms_min = prove_ms, prove_cpu_ms_min = prove_cpu_ms - tracegen_ms;
    for (int rep = 1; rep < repeat; ++rep) {
      SeededRandom again(k);
      const auto r0 = std::chrono::steady_clock::now();
      const double rc0 = CpuMs();
      if (!Prove(air, trace, o, again).ok()) return 1;
      prove_ms_min = std::min(prove_ms_min, Ms(r0));
      prove_cpu_ms_min = std::min(prove_cpu_ms_min, CpuMs() - rc0);
    }
    const auto bytes = SerializeProof(*proof);
    double verify_ms = 1e30;
    for (int rep = 0; rep < 5; ++rep) {
      t0 = std::chrono::steady_clock::now();
      const auto s = VerifyBytes(air, bytes);
      verify_ms = std::min(verify_ms, Ms(t0));
      if (!s.ok()) {
        std::fprintf(stderr, "verify failed: %s\n", s.ToString().c_str());
        return 1;
      }
    }
    const double total_ms = prove_ms + tracegen_ms;
    std::printf(
        "{\"hashes\":%zu,\"traceRows\":%zu,\"zk\":%s,\"proveMs\":%.1f,\"traceGenMs\":%.1f,"
        "\"hashesPerSec\":%.0f,\"nativeHashMs\":%.3f,\"proveToNativeRatio\":%.0f,"
        "\"proofBytes\":%zu,\"verifyMs\":%.3f,\"peakRssMb\":%.0f,"
        "\"phasesMs\":{\"trace\":%.1f,\"composition\":%.1f,\"ood\":%.1f,\"deep\":%.1f,"
        "\"fri\":%.1f,\"pow\":%.1f,\"queries\":%.1f},\"segments\":%zu,"
        "\"conjecturedSecurityBits\":%.0f,\"provenSecurityBits\":%.0f,"
        "\"proveCpuMs\":%.0f,\"nativeCpuMs\":%.1f,\"estIdle2CoreHashesPerSec\":%.0f,"
        "\"loadAvg\":%.1f,\"threads\":%d,\"repeats\":%d,\"proveMsMin\":%.1f,"
        "\"proveCpuMsMin\":%.0f,\"hashesPerSecBest\":%.0f}\n",
        n, st.trace_length, zk ? "true" : "false", prove_ms, tracegen_ms,
        static_cast<double>(n) / (total_ms / 1000.0), native_ms, total_ms / native_ms,
        bytes.size(), verify_ms, PeakRssMb(), st.trace_ms, st.composition_ms, st.ood_ms,
        st.deep_ms, st.fri_ms, st.pow_ms, st.query_ms, st.num_segments,
        o.ConjecturedSecurityBits(static_cast<unsigned>(Log2(st.lde_size))),
        o.ProvenSecurityBits(static_cast<unsigned>(Log2(st.lde_size))), prove_cpu_ms,
        native_cpu_ms, static_cast<double>(n) / (prove_cpu_ms / 2000.0), LoadAvg(), Threads(), repeat,
        prove_ms_min, prove_cpu_ms_min, static_cast<double>(n) / ((prove_ms_min + tracegen_ms) / 1000.0));
    std::fflush(stdout);
  }
  return 0;
}
