// The bulletin log's Ed25519 key, which signs every signed tree head (docs/ballot_log.md,
// section 5). With custody it is a service key held in the signer like the audit digest key
// (http/custody.h, CustodyBallotLogKey): created there on the first start, its encrypted blob
// kept in custody_keys as "system:ballot-log" (shared by every gateway on the store), and every
// STH is signed by a signer call. Without custody (a dev setup) the seed is derived from the
// gateway's pepper, so gateways sharing a pepper share the key.
//
//   ASSIGN_OR_RETURN(auto key, PepperLogKey(pepper));
//   ASSIGN_OR_RETURN(crypto::Ed25519Signature sig, key->Sign(ballot::SthMessage(sth)));
#pragma once

#include <memory>
#include <string_view>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"
#include "vp/base/status.h"
#include "vp/crypto/ed25519.h"

namespace vp::election {

inline constexpr std::string_view kBallotLogKeyId = "system:ballot-log";

class LogSigner {
 public:
  virtual ~LogSigner() = default;
  virtual const crypto::Ed25519Public& public_key() const = 0;
  // kUnavailable "signer unavailable: ..." while the signer restarts; thread-safe.
  virtual StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message) const = 0;
};

// A key in this process: seed = HKDF-SHA256(pepper, "vaultproof ballot log key v1").
// kInvalidArgument unless the pepper is 32 bytes.
StatusOr<std::shared_ptr<const LogSigner>> PepperLogKey(ByteSpan pepper);

// A key in this process from a 32-byte seed (tests).
StatusOr<std::shared_ptr<const LogSigner>> SeedLogKey(ByteSpan seed);

}  // namespace vp::election
