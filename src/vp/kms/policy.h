// The kms key policy: which launchers may vouch for a signer, which signer images (SHA-384
// measurements) may receive data keys, and which local uids may generate data keys or
// administer the ring. A versioned JSON file, parsed strictly (unknown fields, duplicate
// keys, wrong types and upper-case hex are refused). Format: docs/kms.md, "Key policy file".
//
//   ASSIGN_OR_RETURN(KeyPolicy policy, LoadKeyPolicy("etc/kms-policy.json"));
//   RETURN_IF_ERROR(VerifyAttestation(doc, policy, now_ms));     // attestation.h
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/crypto/ed25519.h"

namespace vp::kms {

inline constexpr int kKeyPolicyVersion = 1;
inline constexpr int64_t kMaxAttestationAgeLimitSeconds = 86400;

struct KeyPolicy {
  int version = 1;
  std::vector<crypto::Ed25519Public> launcher_keys;  // who may sign attestations
  std::vector<ByteArray<48>> signer_measurements;    // SHA-384 of allowed signer images
  bool allow_debug = false;                          // accept the all-zero measurement
  int64_t max_attestation_age_s = 600;
  std::vector<uint32_t> generate_data_key_uids;  // peers (SO_PEERCRED uid) allowed to GenerateDataKey
  std::vector<uint32_t> admin_uids;              // peers allowed to ReEncrypt/rotate
  // Peers allowed to Decrypt (empty: any peer with a valid attestation). The attestation
  // is signed by the launcher, whose key an attacker with the gateway's files could copy;
  // pinning the signer's own uid here means such a forgery must also run as that uid.
  std::vector<uint32_t> decrypt_uids;
};

// Strict (vp::ParseJsonStrict underneath). Fields: version (must be 1), launcherPublicKeys
// and signerMeasurements (lower-case hex without 0x, no duplicates; the all-zero debug
// measurement may not be listed, allowDebug says that), allowDebug (default false),
// maxAttestationAgeSeconds (1..86400, default 600), generateDataKeyUids and adminUids
// (0..4294967294, no duplicates). Any other field, a missing required field or a wrong type
// is kInvalidArgument naming the field.
StatusOr<KeyPolicy> ParseKeyPolicy(std::string_view json_text);
// kNotFound if the file does not exist; otherwise as ParseKeyPolicy.
StatusOr<KeyPolicy> LoadKeyPolicy(const std::string& path);
// Pretty JSON that ParseKeyPolicy accepts (fields in the documented order).
std::string SerializeKeyPolicy(const KeyPolicy& policy);

// Membership helpers for the kms service.
bool PolicyAllowsGenerateDataKey(const KeyPolicy& policy, uint32_t uid);
bool PolicyAllowsDecrypt(const KeyPolicy& policy, uint32_t uid);
bool PolicyAllowsAdmin(const KeyPolicy& policy, uint32_t uid);

}  // namespace vp::kms
