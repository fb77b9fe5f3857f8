// `vaultproof stark prove|verify`: builds the statement, calls vp::stark, prints one JSON
// object.
#include "stark_cmd.h"

#include "cli_io.h"

#include <chrono>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>

#include "vp/stark/airs/fibonacci.h"
#include "vp/stark/airs/permutation.h"
#include "vp/stark/airs/poseidon2_chain.h"
#include "vp/stark/airs/registry.h"
#include "vp/stark/layout.h"
#include "vp/stark/prover.h"
#include "vp/stark/verifier.h"

namespace vp::app {
namespace {

using namespace vp::stark;  // NOLINT

constexpr size_t kMaxProofFileBytes = 64u << 20;

nlohmann::json PublicInputsJson(const std::vector<Fp>& pub) {
  nlohmann::json a = nlohmann::json::array();
  for (Fp x : pub) a.push_back(std::to_string(x.value()));
  return a;
}


StatusOr<Bytes> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("cannot open " + path);
  Bytes b;
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof(buf));
    const auto got = static_cast<size_t>(in.gcount());
    b.insert(b.end(), reinterpret_cast<uint8_t*>(buf), reinterpret_cast<uint8_t*>(buf) + got);
    if (b.size() > kMaxProofFileBytes) return ResourceExhaustedError("proof file too large");
  }
  return b;
}

}  // namespace

StatusOr<nlohmann::json> StarkProve(const StarkProveArgs& a) {
  if (a.out.empty()) return InvalidArgumentError("--out is required");
  KeepFreedMemoryForProving();
  // ~10 KB of prover memory per hash: 10^6 hashes need ~11 GB.
  if (a.length < 2 || a.length > 1000000) {
    return InvalidArgumentError("--length must be in [2, 1000000]");
  }
  ProofOptions o;
  o.log_blowup = static_cast<uint8_t>(a.blowup_log);
  o.num_queries = static_cast<uint8_t>(a.queries);
  o.grinding_bits = static_cast<uint8_t>(a.grinding);
  o.log_folding_factor = static_cast<uint8_t>(a.folding_log);
  o.log_remainder_max = static_cast<uint8_t>(a.remainder_log);
  o.zero_knowledge = !a.no_zk;
  if (a.blowup_log > 255 || a.queries > 255 || a.grinding > 255 || a.folding_log > 255 ||
      a.remainder_log > 255) {
    return InvalidArgumentError("proof option out of range");
  }
  RETURN_IF_ERROR(o.Validate());

  SeededRandom witness_rng(a.seed);  // the witness only; masks below come from the OS
  std::unique_ptr<Air> air;
  TraceColumns trace;
  const auto len = static_cast<size_t>(a.length);
  if (a.air == "poseidon2-chain") {
    const HashOut x = {witness_rng.NextFp(), witness_rng.NextFp(), witness_rng.NextFp(),
                       witness_rng.NextFp()};
    auto chain = std::make_unique<Poseidon2ChainAir>(Poseidon2ChainAir::ForInput(len, x));
    trace = chain->GenerateTrace();
    air = std::move(chain);
  } else if (a.air == "fibonacci") {
    const Fp a0 = witness_rng.NextFp(), b0 = witness_rng.NextFp();
    auto fib = std::make_unique<FibonacciAir>(len, a0, b0, FibonacciAir::Compute(len, a0, b0));
    trace = fib->GenerateTrace();
    air = std::move(fib);
  } else if (a.air == "permutation") {
    auto perm = std::make_unique<PermutationAir>(len);
    trace = perm->GenerateTrace(witness_rng);
    air = std::move(perm);
  } else {
    return InvalidArgumentError("unknown --air '" + a.air + "' (poseidon2-chain, fibonacci, permutation)");
  }
  ASSIGN_OR_RETURN(StarkLayout layout, ComputeLayout(*air, o));
  SystemRandom masks;
  const auto t0 = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(Proof proof, Prove(*air, trace, o, masks));
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const Bytes bytes = SerializeProof(proof);
  {
    std::ofstream out(a.out, std::ios::binary | std::ios::trunc);
    if (!out) return InvalidArgumentError("cannot write " + a.out);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    if (!out) return InvalidArgumentError("cannot write " + a.out);
  }
  return nlohmann::json{{"air", air->Name()},
                        {"publicInputs", PublicInputsJson(proof.public_inputs)},
                        {"proofBytes", bytes.size()},
                        {"proveMs", ms},
                        {"traceRows", layout.n},
                        {"realRows", layout.u},
                        {"zeroKnowledge", o.zero_knowledge},
                        {"conjecturedSecurityBits", o.ConjecturedSecurityBits(layout.log_lde)},
                        {"provenSecurityBits", o.ProvenSecurityBits(layout.log_lde)}};
}

StatusOr<nlohmann::json> StarkVerify(const std::string& air_name, const std::string& proof_path,
                                     bool* valid) {
  *valid = false;
  if (air_name != "poseidon2-chain" && air_name != "fibonacci" && air_name != "permutation") {
    return InvalidArgumentError("unknown --air '" + air_name + "'");
  }
  ASSIGN_OR_RETURN(Bytes bytes, ReadFile(proof_path));
  auto invalid = [](const std::string& reason) {
    return nlohmann::json{{"valid", false}, {"reason", reason}};
  };
  const auto t0 = std::chrono::steady_clock::now();
  auto proof = DeserializeProof(bytes);
  if (!proof.ok()) return invalid("malformed proof: " + proof.status().message());
  if (proof->air_name != air_name) {
    return invalid("proof is for AIR '" + proof->air_name + "', expected '" + air_name + "'");
  }
  auto air = MakeAir(air_name, proof->public_inputs);
  if (!air.ok()) return invalid("bad public inputs: " + air.status().message());
  const Status s = Verify(**air, *proof);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!s.ok()) return invalid(s.message());
  auto layout = ComputeLayout(**air, proof->options);
  *valid = true;
  nlohmann::json j = {{"valid", true},
                      {"air", air_name},
                      {"publicInputs", PublicInputsJson(proof->public_inputs)},
                      {"proofBytes", bytes.size()},
                      {"verifyMs", ms}};
  if (layout.ok()) {
    j["traceRows"] = layout->n;
    j["conjecturedSecurityBits"] = proof->options.ConjecturedSecurityBits(layout->log_lde);
    j["provenSecurityBits"] = proof->options.ProvenSecurityBits(layout->log_lde);
  }
  return j;
}

void AddStarkCommands(CLI::App& app, int* exit_code) {
  CLI::App* stark = app.add_subcommand("stark", "Prove and verify STARK statements");
  stark->require_subcommand(1);

  auto args = std::make_shared<StarkProveArgs>();
  CLI::App* prove = stark->add_subcommand("prove", "Prove a statement; writes the proof file");
  prove->add_option("--air", args->air, "poseidon2-chain | fibonacci | permutation")->required();
  prove->add_option("--length", args->length, "hashes in the chain (rows)")->required();
  prove->add_option("--seed", args->seed, "seed of the witness (not of the ZK masks)");
  prove->add_option("--out", args->out, "proof file to write")->required();
  prove->add_option("--blowup-log", args->blowup_log, "log2 of the LDE blowup (default 3)");
  prove->add_option("--queries", args->queries, "FRI queries (default 28)");
  prove->add_option("--grinding", args->grinding, "proof-of-work bits (default 16)");
  prove->add_option("--folding-log", args->folding_log, "log2 of the FRI folding factor (default 3)");
  prove->add_option("--remainder-log", args->remainder_log, "log2 of the FRI remainder bound (default 6)");
  prove->add_flag("--no-zk", args->no_zk, "disable zero knowledge (public witnesses only)");
  prove->callback([args, exit_code] {
    auto r = StarkProve(*args);
    if (!r.ok()) {
      PrintError(r.status());
      *exit_code = 2;
      return;
    }
    PrintJson(*r);
    *exit_code = 0;
  });

  auto air = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  CLI::App* verify = stark->add_subcommand("verify", "Verify a proof file");
  verify->add_option("--air", *air, "expected AIR")->required();
  verify->add_option("--proof", *path, "proof file")->required();
  verify->callback([air, path, exit_code] {
    bool valid = false;
    auto r = StarkVerify(*air, *path, &valid);
    if (!r.ok()) {
      PrintError(r.status());
      *exit_code = 2;
      return;
    }
    PrintJson(*r);
    *exit_code = valid ? 0 : 1;
  });
}

}  // namespace vp::app
