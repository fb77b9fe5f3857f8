// libFuzzer target: the ballot product's decoders must never crash, hang or accept a
// tampered bundle. The first input byte picks the decoder of the rest:
//   0 bundle.zip (the strict ZIP reader, then every verification check)
//   1 receipt.json          2 prover input (input.json)   3 public-input.json
//   4 proof.bin container   5 election config             6 close-statement.json
//   7 a valid bundle made at start-up with bytes of its proof.bin flipped at input-chosen
//     offsets: verification must then fail (a flipped proof byte is never accepted)
// Decoders that accept also re-encode: what they accept must round-trip.
// Seeds: with VP_FUZZ_WRITE_SEEDS=DIR the binary writes one valid input per mode into DIR.
// Run: tests/fuzz/smoke.sh BUILD_DIR --target ballot_fuzz [--time 600]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "seed_file.h"
#include "vp/ballot/bundle.h"
#include "vp/ballot/election.h"
#include "vp/ballot/simulate.h"
#include "vp/ballot/tally.h"
#include "vp/ballot/verify_bundle.h"
#include "vp/crypto/ed25519.h"
#include "vp/prover/segment_request.h"

namespace {

using namespace vp::ballot;  // NOLINT

// A 4-leaf honest election, made once (default proof options: the checks require 100 bits).
const Simulation& Valid() {
  static const Simulation kSim = [] {
    SimulateOptions o;
    o.bot_count = 3;
    o.choice = 1;
    auto s = SimulateElection(o);
    if (!s.ok()) {
      std::fprintf(stderr, "simulate: %s\n", s.status().ToString().c_str());
      std::abort();
    }
    return *s;
  }();
  return kSim;
}

bool Verify(const BundleFiles& files) {
  const VerificationReport r = VerifyBundleFiles(
      files, Valid().receipt_json, [](vp::ByteSpan key, vp::ByteSpan message, vp::ByteSpan signature) {
        return vp::crypto::Ed25519Verify(key, message, signature);
      });
  return r.valid;
}

std::string Text(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

void Fuzz(uint8_t mode, const uint8_t* data, size_t size) {
  const std::string text = Text(data, size);
  switch (mode % 8) {
    case 0:
      (void)VerifyBundleZip(vp::ByteSpan(data, size), Valid().receipt_json);
      return;
    case 1: {
      auto r = ParseReceipt(text);
      if (r.ok() && !ParseReceipt(ReceiptToJson(*r).dump()).ok()) std::abort();
      return;
    }
    case 2: {
      auto in = vp::prover::DecodeProverInput(text);
      if (in.ok() && !vp::prover::DecodeProverInput(vp::prover::EncodeProverInput(*in)).ok()) std::abort();
      return;
    }
    case 3: {
      auto doc = ParseCanonicalJson(text, "public-input.json");
      if (!doc.ok()) return;
      auto st = StatementFromJson(*doc);
      if (!st.ok()) return;
      (void)CheckTallyStatement(*st);
      if (CanonicalJson(StatementToJson(*st)) != text) std::abort();  // canonical in, same text out
      return;
    }
    case 4: {
      auto proofs = ParseSegmentProofs(vp::ByteSpan(data, size));
      if (proofs.ok() && SerializeSegmentProofs(*proofs) != vp::Bytes(data, data + size)) std::abort();
      return;
    }
    case 5:
      (void)ParseElectionConfig(text);
      return;
    case 6: {
      auto doc = ParseCanonicalJson(text, "close-statement.json");
      if (doc.ok()) (void)SignedSthFromJson(*doc);
      return;
    }
    default: {
      BundleFiles files = Valid().files;
      bool changed = false;
      for (size_t i = 0; i + 2 < size && !files.proof.empty(); i += 3) {
        const size_t pos = (static_cast<size_t>(data[i]) << 8 | data[i + 1]) * 131 % files.proof.size();
        files.proof[pos] ^= data[i + 2];
        changed = true;
      }
      if (changed && files.proof != Valid().files.proof && Verify(files)) {
        std::fprintf(stderr, "a bundle with a tampered proof.bin verified\n");
        std::abort();
      }
      return;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  const char* dir = std::getenv("VP_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return 0;
  const Simulation& s = Valid();
  vp::fuzz::RequireSeed(Verify(s.files), "bundle");
  auto write = [&](std::string_view name, uint8_t mode, vp::ByteSpan body) {
    vp::Bytes seed = {mode};
    seed.insert(seed.end(), body.begin(), body.end());
    vp::fuzz::WriteSeed(dir, name, seed.data(), seed.size());
  };
  // A witness of the first two leaves, as the service's segment jobs read it.
  vp::prover::ProverInput input;
  input.election_id = s.config.election_id;
  input.config_hash = ElectionConfigHash(s.config);
  input.num_choices = static_cast<uint32_t>(s.config.choices.size());
  LeafWitness w;
  w.random.fill(7);
  w.choice = 2;
  w.commitment = ComputeCommitment(input.election_id, w.choice, w.random);
  input.leaves = {w, w};
  input.leaves[1].excluded = true;
  const std::string input_text = vp::prover::EncodeProverInput(input);
  vp::fuzz::RequireSeed(vp::prover::DecodeProverInput(input_text).ok(), "input");
  write("bundle", 0, s.bundle_zip);
  write("receipt", 1, vp::AsBytes(s.receipt_json));
  write("input", 2, vp::AsBytes(input_text));
  write("public_input", 3, vp::AsBytes(s.files.public_input));
  write("proof", 4, s.files.proof);
  write("config", 5, vp::AsBytes(CanonicalConfigJson(s.config)));
  write("close", 6, vp::AsBytes(s.files.close_statement));
  const vp::Bytes flip = {7, 0x00, 0x10, 0x01};
  vp::fuzz::WriteSeed(dir, "flip", flip.data(), flip.size());
  std::exit(0);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  Fuzz(data[0], data + 1, size - 1);
  return 0;
}
