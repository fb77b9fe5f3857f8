// Tally proof benchmark: finalizes elections of 2^k votes (random choices, 5 choices, the
// default segment layout: blocks of kDefaultBlockLeaves, up to kDefaultMaxSegmentLeaves
// leaves a segment) and reports prove time, the slowest segment, peak memory, proof size and
// verify time per segment. JSON lines on stdout (bench/results/tally.json collects them).
//
//   tally_bench [min_log] [max_log] [--max-segment-leaves N] [--block-leaves B] [--version V]
// (--version 1 --max-segment-leaves 16384: the layout and AIR before 2026-11-22.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_util.h"
#include "vp/stark/prover.h"
#include "vp/ballot/tally.h"

using namespace vp::ballot;  // NOLINT
using vp::bench::CpuMs;
using vp::bench::Ms;
using vp::bench::LoadAvg;
using vp::bench::PeakRssMb;
using vp::bench::Threads;

int main(int argc, char** argv) {
  vp::stark::KeepFreedMemoryForProving();
  unsigned min_log = 6, max_log = 10;
  uint64_t max_segment = kDefaultMaxSegmentLeaves, block = kDefaultBlockLeaves;
  uint32_t version = kTallyVersion;
  std::vector<unsigned> positional;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--max-segment-leaves") == 0 && i + 1 < argc) {
      max_segment = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--block-leaves") == 0 && i + 1 < argc) {
      block = std::strtoull(argv[++i], nullptr, 10);
    } else if (std::strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
      version = static_cast<uint32_t>(std::atoi(argv[++i]));
    } else {
      positional.push_back(static_cast<unsigned>(std::atoi(argv[i])));
    }
  }
  if (!positional.empty()) min_log = positional[0];
  if (positional.size() > 1) max_log = positional[1];
  const ElectionId election = *ParseElectionId("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09");
  vp::stark::SeededRandom rng(1);
  for (unsigned log = min_log; log <= max_log; ++log) {
    const uint64_t n = uint64_t{1} << log;
    TallyInput in;
    in.election_id = election;
    in.config_hash = ConfigHash("{}");
    in.num_choices = 5;
    in.max_segment_leaves = max_segment;
    in.block_leaves = block;
    in.version = version;
    in.leaves.resize(n);
    for (auto& l : in.leaves) {
      for (auto& b : l.random) b = static_cast<uint8_t>(rng.NextU64());
      l.choice = static_cast<uint32_t>(rng.NextU64() % 5);
      l.commitment = ComputeCommitment(election, l.choice, l.random);
    }
    const double cpu0 = CpuMs();
    const auto t0 = std::chrono::steady_clock::now();
    auto proof = ProveTally(in, vp::ballot::TallyProofOptions(), rng);
    const double prove_ms = Ms(t0);
    const double prove_cpu_ms = CpuMs() - cpu0;
    if (!proof.ok()) {
      std::fprintf(stderr, "prove failed: %s\n", proof.status().message().c_str());
      return 1;
    }
    size_t bytes = 0, max_seg_bytes = 0;
    for (const auto& s : proof->segments) {
      bytes += s.size();
      max_seg_bytes = std::max(max_seg_bytes, s.size());
    }
    double max_verify_ms = 0;
    const auto v0 = std::chrono::steady_clock::now();
    for (size_t i = 0; i < proof->segments.size(); ++i) {
      const auto s0 = std::chrono::steady_clock::now();
      const vp::Status st = VerifySegment(proof->statement, proof->statement.segments[i],
                                          proof->segments[i], {});
      max_verify_ms = std::max(max_verify_ms, Ms(s0));
      if (!st.ok()) {
        std::fprintf(stderr, "verify failed: %s\n", st.message().c_str());
        return 1;
      }
    }
    const double verify_ms = Ms(v0);
    std::printf(
        "{\"votes\": %llu, \"segments\": %zu, \"maxSegmentLeaves\": %llu, \"proveMs\": %.1f, "
        "\"proveCpuMs\": %.1f, \"proofBytes\": %zu, \"maxSegmentProofBytes\": %zu, "
        "\"verifyMs\": %.2f, \"maxSegmentVerifyMs\": %.2f, \"peakRssMb\": %.0f, \"loadAvg\": %.1f, "
        "\"threads\": %d}\n",
        static_cast<unsigned long long>(n), proof->segments.size(),
        static_cast<unsigned long long>(in.max_segment_leaves), prove_ms, prove_cpu_ms, bytes,
        max_seg_bytes, verify_ms, max_verify_ms, PeakRssMb(), LoadAvg(), Threads());
    std::fflush(stdout);
  }
  return 0;
}
