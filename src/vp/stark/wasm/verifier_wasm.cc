// WebAssembly entry point of the STARK verifier: a C ABI over vp::stark::VerifyBytes for the
// AIRs in the registry. Built by build.sh with emscripten; exercised by verify_test.mjs.
//
//   const ok = Module.ccall('vp_stark_verify', 'number',
//       ['number', 'number', 'string', 'number', 'number'], [ptr, len, 'poseidon2-chain', out, cap]);
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "vp/stark/airs/registry.h"
#include "vp/stark/proof.h"
#include "vp/stark/verifier.h"

namespace {

void WriteReason(const std::string& s, char* out, size_t cap) {
  if (out == nullptr || cap == 0) return;
  const size_t n = s.size() < cap - 1 ? s.size() : cap - 1;
  std::memcpy(out, s.data(), n);
  out[n] = '\0';
}

}  // namespace

extern "C" {

// Returns 1 when the proof is valid for the named AIR (statement taken from the proof's
// public inputs), 0 otherwise with the reason in `reason` (NUL-terminated, truncated to cap).
int vp_stark_verify(const uint8_t* proof, size_t len, const char* air_name, char* reason,
                    size_t cap) {
  using namespace vp::stark;  // NOLINT
  auto p = DeserializeProof(vp::ByteSpan(proof, len));
  if (!p.ok()) {
    WriteReason("stark: malformed proof: " + p.status().message(), reason, cap);
    return 0;
  }
  if (air_name == nullptr || p->air_name != air_name) {
    WriteReason("stark: proof is for AIR '" + p->air_name + "'", reason, cap);
    return 0;
  }
  auto air = MakeAir(p->air_name, p->public_inputs);
  if (!air.ok()) {
    WriteReason("stark: bad public inputs: " + air.status().message(), reason, cap);
    return 0;
  }
  const vp::Status s = Verify(**air, *p);
  if (!s.ok()) {
    WriteReason(s.message(), reason, cap);
    return 0;
  }
  WriteReason("", reason, cap);
  return 1;
}

}  // extern "C"
