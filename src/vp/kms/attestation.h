// Attestation documents: the launcher measures the signer image (SHA-384 of the exact bytes
// it executes) and signs {measurement, signer's ephemeral X25519 key, nonce, time} with its
// Ed25519 key; the kms releases a data key, sealed to that X25519 key, only if the document
// verifies against the key policy. Byte format: docs/kms.md, "Attestation document".
//
//   ASSIGN_OR_RETURN(AttestationDoc doc, SignAttestation(launcher_seed.view(), measurement, signer_pub, now_ms));
//   Bytes wire = EncodeAttestation(doc);
//   ASSIGN_OR_RETURN(AttestationDoc got, DecodeAttestation(wire));
//   RETURN_IF_ERROR(VerifyAttestation(got, policy, now_ms));
#pragma once

#include <cstdint>

#include "vp/base/bytes.h"
#include "vp/crypto/ed25519.h"
#include "vp/crypto/x25519.h"
#include "vp/kms/policy.h"

namespace vp::kms {

inline constexpr uint8_t kAttestationVersion = 1;
inline constexpr size_t kAttestationSize = 201;  // 1 + 48 + 32 + 16 + 8 + 32 + 64
inline constexpr int64_t kAttestationMaxFutureSkewMs = 30'000;

struct AttestationDoc {
  ByteArray<48> measurement{};                 // SHA-384 of the signer image; all zero = debug
  crypto::X25519Public signer_public_key{};    // the signer's ephemeral key: data keys are sealed to it
  ByteArray<16> nonce{};
  int64_t timestamp_ms = 0;
  crypto::Ed25519Public launcher_key{};
  crypto::Ed25519Signature signature{};
};

// "vp-attest-v1" || measurement || signer_public_key || nonce || i64be timestamp_ms
Bytes AttestationSignedBytes(const AttestationDoc& doc);
// With a fresh random nonce. kInvalidArgument for a seed that is not 32 bytes.
StatusOr<AttestationDoc> SignAttestation(ByteSpan launcher_seed, const ByteArray<48>& measurement,
                                         const crypto::X25519Public& signer_pub, int64_t now_ms);
// u8 version=1 || measurement || signer_public_key || nonce || i64be timestamp_ms ||
// launcher_key || signature: always kAttestationSize bytes.
Bytes EncodeAttestation(const AttestationDoc& doc);
// Strict: exactly kAttestationSize bytes, version 1, timestamp >= 0; else kInvalidArgument.
StatusOr<AttestationDoc> DecodeAttestation(ByteSpan encoded);

// kPermissionDenied with one message per reason:
//   "launcher key not pinned by policy", "attestation signature invalid",
//   "attestation expired" (older than max_attestation_age_s),
//   "attestation timestamp in the future" (more than 30 s ahead of now_ms),
//   "debug measurement refused by policy", "measurement not allowed by policy".
// Checked in that order, so an unauthenticated document never reaches the policy checks.
Status VerifyAttestation(const AttestationDoc& doc, const KeyPolicy& policy, int64_t now_ms);

}  // namespace vp::kms
