// Test-only knobs of the signer, compiled in only into `vaultproof-signer-testseed`
// (VP_SIGNER_TEST_HOOKS). That binary has its own measurement, so no production key
// policy allows it; the ordinary signer refuses any test option outright.
//
// "testSeed" (hex, 32 bytes): key i (i = 0, 1, ...) is HMAC-SHA256(seed, "vp-test-key" ||
// u64 i), so a test can know a key the signer generated without the signer exporting it,
// and then scan every output for it.
#pragma once

#include <nlohmann/json.hpp>

#include "vp/signer/service.h"

namespace vp::signer {

Status InstallTestHooks(const nlohmann::json& options, SignerOptions& service_options);

// The key the test-seed signer makes at index i (also used by the tests).
SecureBuffer TestSeedKey(ByteSpan seed, uint64_t index);

}  // namespace vp::signer
