// Signer wire messages, docs/signer_protocol.md.
#include "vp/signer/protocol.h"

#include <algorithm>

#include "vp/crypto/hash.h"

namespace vp::signer {
namespace {

constexpr std::string_view kContextDomain = "vp-keyctx-v1";
constexpr std::string_view kMacDomain = "vp-signer-req-v1";

bool ValidWalletIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

}  // namespace

bool IsKnownOp(uint8_t kind) { return kind >= 0x01 && kind <= 0x0A; }

ByteArray<32> RequestMac(ByteSpan auth_key, ByteSpan challenge, const ipc::Frame& frame, ByteSpan fields) {
  Bytes msg(kMacDomain.begin(), kMacDomain.end());
  Append(msg, challenge);
  Append(msg, ipc::MacHeader(frame));
  Append(msg, fields);
  return crypto::HmacSha256(auth_key, msg);
}

Bytes EncodeKeyContext(const KeyContext& ctx) {
  Bytes out(kContextDomain.begin(), kContextDomain.end());
  out.push_back(static_cast<uint8_t>(ctx.wallet_id.size()));
  Append(out, AsBytes(ctx.wallet_id));
  Append(out, ctx.address);
  AppendBigEndian(out, ctx.key_version, 4);
  out.push_back(static_cast<uint8_t>(ctx.key_kind));
  return out;
}

StatusOr<KeyContext> DecodeKeyContext(ByteSpan data) {
  const size_t d = kContextDomain.size();
  if (data.size() < d + 1 || AsString(data.first(d)) != kContextDomain) return InvalidArgumentError("key context: bad domain");
  const size_t n = data[d];
  if (n == 0 || n > kMaxWalletIdBytes) return InvalidArgumentError("key context: wallet id must be 1..128 bytes");
  if (data.size() != d + 1 + n + 20 + 4 + 1) return InvalidArgumentError("key context: wrong length");
  KeyContext ctx;
  ctx.wallet_id.assign(AsString(data.subspan(d + 1, n)));
  for (char c : ctx.wallet_id) {
    if (!ValidWalletIdChar(c)) return InvalidArgumentError("key context: wallet id has a character outside [A-Za-z0-9._:-]");
  }
  size_t off = d + 1 + n;
  std::copy_n(data.begin() + static_cast<std::ptrdiff_t>(off), 20, ctx.address.begin());
  off += 20;
  ctx.key_version = (uint32_t{data[off]} << 24) | (uint32_t{data[off + 1]} << 16) | (uint32_t{data[off + 2]} << 8) |
                    uint32_t{data[off + 3]};
  const uint8_t kind = data[off + 4];
  if (kind < 1 || kind > 3) return InvalidArgumentError("key context: unknown key kind");
  ctx.key_kind = static_cast<KeyKind>(kind);
  return ctx;
}

Bytes EncodeKeyBlob(const KeyBlob& blob) {
  Bytes out{1};
  ipc::FieldWriter w;
  w.Add(EncodeKeyContext(blob.context)).Add(blob.wrapped_dek).AddRaw(blob.nonce).Add(blob.sealed_key);
  Append(out, w.Take());
  return out;
}

StatusOr<KeyBlob> DecodeKeyBlob(ByteSpan data) {
  if (data.empty()) return InvalidArgumentError("key blob: empty");
  if (data.size() > kMaxBlobBytes) return InvalidArgumentError("key blob: larger than 1 KiB");
  if (data[0] != 1) return InvalidArgumentError("key blob: unsupported version");
  ipc::FieldReader r(data.subspan(1));
  KeyBlob blob;
  ASSIGN_OR_RETURN(ByteSpan ctx, r.Next("key blob context", 256));
  ASSIGN_OR_RETURN(blob.context, DecodeKeyContext(ctx));
  ASSIGN_OR_RETURN(ByteSpan dek, r.Next("key blob wrapped data key", 512));
  if (dek.empty()) return InvalidArgumentError("key blob: empty wrapped data key");
  blob.wrapped_dek.assign(dek.begin(), dek.end());
  ASSIGN_OR_RETURN(ByteSpan nonce, r.Raw("key blob nonce", 12));
  std::copy(nonce.begin(), nonce.end(), blob.nonce.begin());
  ASSIGN_OR_RETURN(ByteSpan sealed, r.Next("key blob sealed key", 256));
  if (sealed.size() < 17) return InvalidArgumentError("key blob: sealed key too short");
  blob.sealed_key.assign(sealed.begin(), sealed.end());
  RETURN_IF_ERROR(r.Finish());
  return blob;
}

}  // namespace vp::signer
