// Signed tree head message bytes, validation and text forms (docs/ballot_log.md).
#include "vp/ballot/sth.h"

#include "vp/ballot/bulletin.h"

namespace vp::ballot {
namespace {

uint64_t ReadBigEndian64(ByteSpan b, size_t at) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | b[at + i];
  return v;
}

}  // namespace

Bytes SthMessage(const Sth& sth) {
  Bytes out;
  out.reserve(kSthMessageSize);
  Append(out, AsBytes(kSthMessagePrefix));
  Append(out, sth.log_id);
  AppendBigEndian(out, sth.tree_size, 8);
  AppendBigEndian(out, sth.timestamp_ms, 8);
  for (const Fp& e : sth.root) AppendBigEndian(out, e.value(), 8);
  return out;
}

StatusOr<Sth> ParseSthMessage(ByteSpan message) {
  if (message.size() != kSthMessageSize) {
    return InvalidArgumentError("sth message: expected " + std::to_string(kSthMessageSize) +
                                " bytes, got " + std::to_string(message.size()));
  }
  if (AsString(message.subspan(0, kSthMessagePrefix.size())) != kSthMessagePrefix) {
    return InvalidArgumentError("sth message: wrong prefix (not a vaultproof:sth:v1 message)");
  }
  Sth sth;
  size_t at = kSthMessagePrefix.size();
  for (size_t i = 0; i < sth.log_id.size(); ++i) sth.log_id[i] = message[at + i];
  at += sth.log_id.size();
  sth.tree_size = ReadBigEndian64(message, at);
  at += 8;
  sth.timestamp_ms = ReadBigEndian64(message, at);
  at += 8;
  for (size_t e = 0; e < 4; ++e, at += 8) {
    const uint64_t v = ReadBigEndian64(message, at);
    if (v >= Fp::kModulus) {
      return InvalidArgumentError("sth message: root element " + std::to_string(e) +
                                  " is not canonical (>= the field modulus)");
    }
    sth.root[e] = Fp(v);
  }
  return sth;
}

Status ValidateSth(const Sth& sth) {
  if (sth.tree_size > kMaxJsonSafeInteger) {
    return InvalidArgumentError("sth: tree size " + std::to_string(sth.tree_size) +
                                " is above 2^53 - 1");
  }
  if (sth.timestamp_ms > kMaxJsonSafeInteger) {
    return InvalidArgumentError("sth: timestamp " + std::to_string(sth.timestamp_ms) +
                                " is above 2^53 - 1");
  }
  if (sth.tree_size == 0 && sth.root != EmptyRoot()) {
    return InvalidArgumentError("sth: an empty tree must have the empty root");
  }
  return OkStatus();
}

Status VerifySthSignature(const SignedSth& signed_sth, const Ed25519VerifyFn& ed25519_verify) {
  RETURN_IF_ERROR(ValidateSth(signed_sth.sth));
  if (!ed25519_verify) return InvalidArgumentError("sth: no Ed25519 verifier supplied");
  const Bytes message = SthMessage(signed_sth.sth);
  if (!ed25519_verify(message, signed_sth.signature)) {
    return UnauthenticatedError("sth: signature does not verify under the log key");
  }
  return OkStatus();
}

StatusOr<LogId> ParseLogId(std::string_view text) {
  LogId id{};
  RETURN_IF_ERROR(ParseLowerHex(text, id, "log id"));
  return id;
}

std::string FormatLogId(const LogId& id) { return FormatLowerHex(id); }

StatusOr<SthSignature> ParseSthSignature(std::string_view text) {
  SthSignature s{};
  RETURN_IF_ERROR(ParseLowerHex(text, s, "sth signature"));
  return s;
}

std::string FormatSthSignature(const SthSignature& signature) { return FormatLowerHex(signature); }

StatusOr<Sth> SthFromFields(std::string_view log_id_hex, uint64_t tree_size,
                            uint64_t timestamp_ms, std::string_view root_hex) {
  Sth sth;
  ASSIGN_OR_RETURN(sth.log_id, ParseLogId(log_id_hex));
  StatusOr<HashOut> root = ParseHash(root_hex);
  if (!root.ok()) return root.status().Annotate("sth root");
  sth.root = *root;
  sth.tree_size = tree_size;
  sth.timestamp_ms = timestamp_ms;
  RETURN_IF_ERROR(ValidateSth(sth));
  return sth;
}

}  // namespace vp::ballot
