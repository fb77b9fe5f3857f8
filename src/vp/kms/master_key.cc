#include "vp/kms/master_key.h"

namespace vp::kms {
namespace {

constexpr std::string_view kWrapAadPrefix = "vp-wrap-v1";

}  // namespace

bool IsValidMasterKeyId(std::string_view id) {
  if (id.empty() || id.size() > kMasterKeyIdMaxLength) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

Bytes EncodeWrappedKey(const WrappedKey& w) {
  Bytes out;
  out.reserve(2 + w.master_key_id.size() + w.nonce.size() + 4 + w.ciphertext.size());
  out.push_back(kWrappedKeyVersion);
  out.push_back(static_cast<uint8_t>(w.master_key_id.size()));
  Append(out, AsBytes(w.master_key_id));
  Append(out, w.nonce);
  AppendBigEndian(out, w.ciphertext.size(), 4);
  Append(out, w.ciphertext);
  return out;
}

StatusOr<WrappedKey> DecodeWrappedKey(ByteSpan in) {
  if (in.size() < 2) return InvalidArgumentError("wrapped key: truncated");
  if (in[0] != kWrappedKeyVersion) {
    return InvalidArgumentError("wrapped key: unsupported version " + std::to_string(in[0]));
  }
  const size_t id_len = in[1];
  if (id_len == 0 || id_len > kMasterKeyIdMaxLength) return InvalidArgumentError("wrapped key: bad key id length");
  size_t pos = 2;
  if (in.size() < pos + id_len + kWrapNonceSize + 4) return InvalidArgumentError("wrapped key: truncated");
  WrappedKey w;
  w.master_key_id.assign(AsString(in.subspan(pos, id_len)));
  if (!IsValidMasterKeyId(w.master_key_id)) return InvalidArgumentError("wrapped key: key id must match [a-z0-9-]");
  pos += id_len;
  w.nonce.assign(in.begin() + static_cast<std::ptrdiff_t>(pos),
                 in.begin() + static_cast<std::ptrdiff_t>(pos + kWrapNonceSize));
  pos += kWrapNonceSize;
  const size_t ct_len = (size_t{in[pos]} << 24) | (size_t{in[pos + 1]} << 16) | (size_t{in[pos + 2]} << 8) |
                        size_t{in[pos + 3]};
  pos += 4;
  if (ct_len < kWrapMinCiphertext || ct_len > kWrapMaxCiphertext) {
    return InvalidArgumentError("wrapped key: ciphertext length out of range");
  }
  if (in.size() - pos != ct_len) {
    return InvalidArgumentError(in.size() - pos < ct_len ? "wrapped key: truncated" : "wrapped key: trailing bytes");
  }
  w.ciphertext.assign(in.begin() + static_cast<std::ptrdiff_t>(pos), in.end());
  return w;
}

Bytes WrapAssociatedData(std::string_view master_key_id, ByteSpan aad) {
  Bytes out;
  out.reserve(kWrapAadPrefix.size() + 1 + master_key_id.size() + aad.size());
  Append(out, AsBytes(kWrapAadPrefix));
  out.push_back(static_cast<uint8_t>(master_key_id.size()));
  Append(out, AsBytes(master_key_id));
  Append(out, aad);
  return out;
}

}  // namespace vp::kms
