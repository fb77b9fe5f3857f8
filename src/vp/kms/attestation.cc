#include "vp/kms/attestation.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "vp/crypto/random.h"

namespace vp::kms {
namespace {

constexpr std::string_view kSignedPrefix = "vp-attest-v1";

template <size_t N>
void Take(ByteSpan in, size_t& pos, ByteArray<N>& out) {
  std::memcpy(out.data(), in.data() + pos, N);
  pos += N;
}

}  // namespace

Bytes AttestationSignedBytes(const AttestationDoc& doc) {
  Bytes out;
  out.reserve(kSignedPrefix.size() + 48 + 32 + 16 + 8);
  Append(out, AsBytes(kSignedPrefix));
  Append(out, doc.measurement);
  Append(out, doc.signer_public_key);
  Append(out, doc.nonce);
  AppendBigEndian(out, static_cast<uint64_t>(doc.timestamp_ms), 8);
  return out;
}

StatusOr<AttestationDoc> SignAttestation(ByteSpan launcher_seed, const ByteArray<48>& measurement,
                                         const crypto::X25519Public& signer_pub, int64_t now_ms) {
  if (launcher_seed.size() != 32) return InvalidArgumentError("attestation: launcher key must be a 32-byte seed");
  if (now_ms < 0) return InvalidArgumentError("attestation: negative timestamp");
  AttestationDoc doc;
  doc.measurement = measurement;
  doc.signer_public_key = signer_pub;
  RETURN_IF_ERROR(crypto::RandomBytes(doc.nonce));
  doc.timestamp_ms = now_ms;
  ASSIGN_OR_RETURN(doc.launcher_key, crypto::Ed25519PublicKey(launcher_seed));
  ASSIGN_OR_RETURN(doc.signature, crypto::Ed25519Sign(launcher_seed, AttestationSignedBytes(doc)));
  return doc;
}

Bytes EncodeAttestation(const AttestationDoc& doc) {
  Bytes out;
  out.reserve(kAttestationSize);
  out.push_back(kAttestationVersion);
  Append(out, doc.measurement);
  Append(out, doc.signer_public_key);
  Append(out, doc.nonce);
  AppendBigEndian(out, static_cast<uint64_t>(doc.timestamp_ms), 8);
  Append(out, doc.launcher_key);
  Append(out, doc.signature);
  return out;
}

StatusOr<AttestationDoc> DecodeAttestation(ByteSpan in) {
  if (in.size() != kAttestationSize) {
    return InvalidArgumentError("attestation: must be " + std::to_string(kAttestationSize) + " bytes, got " +
                                std::to_string(in.size()));
  }
  if (in[0] != kAttestationVersion) {
    return InvalidArgumentError("attestation: unsupported version " + std::to_string(in[0]));
  }
  AttestationDoc doc;
  size_t pos = 1;
  Take(in, pos, doc.measurement);
  Take(in, pos, doc.signer_public_key);
  Take(in, pos, doc.nonce);
  uint64_t ts = 0;
  for (size_t i = 0; i < 8; ++i) ts = (ts << 8) | in[pos + i];
  pos += 8;
  if (ts > static_cast<uint64_t>(INT64_MAX)) return InvalidArgumentError("attestation: negative timestamp");
  doc.timestamp_ms = static_cast<int64_t>(ts);
  Take(in, pos, doc.launcher_key);
  Take(in, pos, doc.signature);
  return doc;
}

Status VerifyAttestation(const AttestationDoc& doc, const KeyPolicy& policy, int64_t now_ms) {
  if (std::find(policy.launcher_keys.begin(), policy.launcher_keys.end(), doc.launcher_key) ==
      policy.launcher_keys.end()) {
    return PermissionDeniedError("launcher key not pinned by policy");
  }
  if (!crypto::Ed25519Verify(doc.launcher_key, AttestationSignedBytes(doc), doc.signature)) {
    return PermissionDeniedError("attestation signature invalid");
  }
  // 128-bit arithmetic: neither the timestamps nor a hand-built policy can overflow it.
  const __int128 age_ms = static_cast<__int128>(now_ms) - doc.timestamp_ms;
  const __int128 max_age_ms = static_cast<__int128>(policy.max_attestation_age_s) * 1000;
  if (age_ms > max_age_ms) return PermissionDeniedError("attestation expired");
  if (-age_ms > kAttestationMaxFutureSkewMs) return PermissionDeniedError("attestation timestamp in the future");
  const ByteArray<48> zero{};
  if (doc.measurement == zero) {
    if (!policy.allow_debug) return PermissionDeniedError("debug measurement refused by policy");
    return OkStatus();
  }
  if (std::find(policy.signer_measurements.begin(), policy.signer_measurements.end(), doc.measurement) ==
      policy.signer_measurements.end()) {
    return PermissionDeniedError("measurement not allowed by policy");
  }
  return OkStatus();
}

}  // namespace vp::kms
