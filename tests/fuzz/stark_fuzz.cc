// libFuzzer target: proof decoding + verification must never crash, hang or accept a
// mutated proof. Inputs starting with 0x00 are decoded as raw proof bytes; any other input
// mutates a valid proof made at start-up (byte flips at input-chosen offsets), which reaches
// the deep verifier checks a random byte string never gets to.
// Seeds: with VP_FUZZ_WRITE_SEEDS=DIR the binary writes the valid proof (0x00 || proof) and
// one small mutation into DIR and exits.
// Run: tests/fuzz/smoke.sh BUILD_DIR --target stark_fuzz [--time 600]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>

#include "seed_file.h"
#include "vp/stark/airs/fibonacci.h"
#include "vp/stark/airs/registry.h"
#include "vp/stark/prover.h"
#include "vp/stark/verifier.h"

namespace {

using namespace vp::stark;  // NOLINT

const vp::Bytes& ValidProof() {
  static const vp::Bytes kProof = [] {
    FibonacciAir air(40, Fp(1), Fp(1), FibonacciAir::Compute(40, Fp(1), Fp(1)));
    ProofOptions o;
    o.log_blowup = 2;
    o.num_queries = 8;
    o.grinding_bits = 2;
    o.log_folding_factor = 2;
    o.log_remainder_max = 2;
    SeededRandom rng(1);
    auto p = Prove(air, air.GenerateTrace(), o, rng);
    if (!p.ok()) std::abort();
    return SerializeProof(*p);
  }();
  return kProof;
}

vp::Status Check(vp::ByteSpan bytes) {
  auto proof = DeserializeProof(bytes);
  if (!proof.ok()) return proof.status();
  auto air = MakeAir(proof->air_name, proof->public_inputs);
  if (!air.ok()) return air.status();
  return Verify(**air, *proof, VerifierConfig{0});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* dir = std::getenv("VP_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return 0;
  vp::Bytes raw = {0x00};
  raw.insert(raw.end(), ValidProof().begin(), ValidProof().end());
  if (!Check(vp::ByteSpan(raw).subspan(1)).ok()) {
    std::fprintf(stderr, "seed proof does not verify\n");
    std::abort();
  }
  const vp::Bytes flip = {0x01, 0x00, 0x01};  // xor byte 256 with 0x01
  for (const auto& [name, bytes] : {std::pair{"proof", raw}, std::pair{"flip", flip}}) {
    vp::fuzz::WriteSeed(dir, name, bytes.data(), bytes.size());
  }
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 0 && data[0] == 0) {
    (void)Check(vp::ByteSpan(data + 1, size - 1));
    return 0;
  }
  vp::Bytes proof = ValidProof();
  for (size_t i = 0; i + 2 < size; i += 3) {
    const size_t pos = (static_cast<size_t>(data[i]) << 8 | data[i + 1]) % proof.size();
    proof[pos] ^= data[i + 2];
  }
  if (size % 7 == 3 && !proof.empty()) {
    proof.resize(proof.size() - 1 - (size % proof.size()) % proof.size());
  }
  const bool changed = proof != ValidProof();
  const vp::Status s = Check(proof);
  if (changed && s.ok()) std::abort();  // a mutated proof must never verify
  return 0;
}
