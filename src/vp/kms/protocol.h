// The kms's wire operations (protocol 'K', docs/signer_protocol.md) and a blocking client
// for them, used by the signer (data keys) and by `vaultproof kms` (rotation, status).
//
//   vp::kms::KmsClient kms("/path/kms.sock");
//   ASSIGN_OR_RETURN(auto dk, kms.GenerateDataKey(context, attestation_bytes));
//   // dk.wrapped goes into the key blob; dk.sealed opens with the attested X25519 key.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/ipc/socket.h"

namespace vp::kms {

enum class KmsOp : uint8_t {
  kGenerateDataKey = 0x01,
  kDecrypt = 0x02,
  kReEncrypt = 0x03,
  kGetPublicKey = 0x04,
  kRotateBegin = 0x05,
  kRotateFinish = 0x06,
};

// SealTo info string for data keys released to a signer.
inline constexpr std::string_view kDekSealInfo = "vp-kms-dek-v1";
inline constexpr size_t kMaxContextBytes = 512;
inline constexpr size_t kMaxWrappedBytes = 1024;
inline constexpr size_t kMaxAttestationBytes = 512;

struct GeneratedDataKey {
  Bytes wrapped;  // EncodeWrappedKey bytes
  Bytes sealed;   // the DEK sealed to the attested signer key; empty without attestation
};

// Thread-safe: one connection, one call at a time, reconnecting after a failure.
class KmsClient {
 public:
  explicit KmsClient(std::string socket_path, int timeout_ms = 10000)
      : socket_path_(std::move(socket_path)), timeout_ms_(timeout_ms) {}

  StatusOr<GeneratedDataKey> GenerateDataKey(ByteSpan context, ByteSpan attestation);
  StatusOr<Bytes> Decrypt(ByteSpan context, ByteSpan wrapped, ByteSpan attestation);
  StatusOr<Bytes> ReEncrypt(ByteSpan context, ByteSpan wrapped);
  StatusOr<nlohmann::json> GetPublicKey();
  StatusOr<nlohmann::json> RotateBegin();
  StatusOr<nlohmann::json> RotateFinish();

 private:
  // Sends one request and returns the OK reply's fields (owned copy), or its error.
  StatusOr<Bytes> Call(KmsOp op, Bytes fields);
  StatusOr<nlohmann::json> CallJson(KmsOp op);

  std::string socket_path_;
  int timeout_ms_;
  std::mutex mu_;
  ipc::Connection conn_;
  uint64_t next_id_ = 1;
};

}  // namespace vp::kms
