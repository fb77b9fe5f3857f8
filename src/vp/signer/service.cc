// SignerService: request authentication, key resolution through the kms, signing.
#include "vp/signer/service.h"

#include <nlohmann/json.hpp>

#include "vp/base/json.h"
#include "vp/crypto/aead.h"
#include "vp/crypto/ed25519.h"
#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"
#include "vp/crypto/sealed_box.h"
#include "vp/crypto/secp256k1.h"
#include "vp/eth/bip32.h"
#include "vp/eth/bip39.h"
#include "vp/eth/eip191.h"
#include "vp/eth/eip712.h"
#include "vp/eth/transaction.h"
#include "vp/eth/tx_json.h"

namespace vp::signer {
namespace {

using nlohmann::json;

constexpr std::string_view kHdRootPath = "m/44'/60'/0'/0/0";

std::string CacheKey(std::initializer_list<ByteSpan> parts) {
  Bytes all;
  for (ByteSpan p : parts) {
    AppendBigEndian(all, p.size(), 4);
    Append(all, p);
  }
  const auto h = crypto::Sha256(all);
  return std::string(AsString(h));
}

// HD paths must stay under m/44'/60' (the Ethereum coin type): a request cannot use the
// seed for another chain's keys.
StatusOr<eth::DerivationPath> ParseHdPath(std::string_view text) {
  ASSIGN_OR_RETURN(eth::DerivationPath path, eth::DerivationPath::Parse(text));
  const auto& ix = path.indices();
  constexpr uint32_t kHardened = 0x80000000u;
  if (ix.size() < 2 || ix[0] != (kHardened | 44) || ix[1] != (kHardened | 60))
    return InvalidArgumentError("HD path must start with m/44'/60'");
  return path;
}

StatusOr<UsableKey> KeyFromSecret(const KeyContext& ctx, ByteSpan secret, std::string_view path) {
  UsableKey k;
  k.kind = ctx.key_kind;
  if (ctx.key_kind == KeyKind::kEd25519) {
    if (!path.empty()) return InvalidArgumentError("an Ed25519 key takes no derivation path");
    if (secret.size() != 32) return InvalidArgumentError("Ed25519 seed must be 32 bytes");
    k.private_key = SecureBuffer::CopyOf(secret);
    ASSIGN_OR_RETURN(k.ed25519_public, crypto::Ed25519PublicKey(secret));
    const auto h = crypto::Sha256(k.ed25519_public);
    ByteArray<20> a{};
    std::copy_n(h.begin(), 20, a.begin());
    k.address = eth::Address(a);
    return k;
  }
  if (ctx.key_kind == KeyKind::kSecp256k1) {
    if (!path.empty()) return InvalidArgumentError("a single key takes no derivation path");
    RETURN_IF_ERROR(crypto::Secp256k1ValidatePrivateKey(secret));
    k.private_key = SecureBuffer::CopyOf(secret);
    ASSIGN_OR_RETURN(k.public_key, crypto::Secp256k1PublicKey(secret));
    k.address = eth::Address::FromPublicKey(k.public_key);
    return k;
  }
  if (secret.size() != 64) return InvalidArgumentError("HD seed must be 64 bytes");
  ASSIGN_OR_RETURN(eth::DerivationPath p, ParseHdPath(path.empty() ? kHdRootPath : path));
  ASSIGN_OR_RETURN(eth::EthereumKey ek, eth::DeriveEthereumKey(secret, p));
  k.private_key = std::move(ek.private_key);
  k.public_key = ek.public_key;
  k.address = ek.address;
  k.path = p.ToString();
  return k;
}

// The address a context names: the key's own, or an HD wallet's first address.
StatusOr<eth::Address> ContextAddress(const KeyContext& ctx, ByteSpan secret) {
  ASSIGN_OR_RETURN(UsableKey root, KeyFromSecret(ctx, secret, ""));
  return root.address;
}

Bytes Field(ByteSpan b) {
  ipc::FieldWriter w;
  w.Add(b);
  return w.Take();
}

}  // namespace

template <typename V>
std::shared_ptr<const V> SecretCache<V>::Get(const std::string& key, int64_t now_ms) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  if (it->second->expires_ms <= now_ms) {
    lru_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->value;
}

template <typename V>
void SecretCache<V>::Put(const std::string& key, std::shared_ptr<const V> value, int64_t now_ms) {
  std::lock_guard lock(mu_);
  if (auto it = index_.find(key); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{key, std::move(value), now_ms + ttl_ms_});
  index_[key] = lru_.begin();
  while (lru_.size() > capacity_ || (!lru_.empty() && lru_.back().expires_ms <= now_ms)) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

template <typename V>
size_t SecretCache<V>::size() const {
  std::lock_guard lock(mu_);
  return lru_.size();
}

template class SecretCache<SecureBuffer>;
template class SecretCache<UsableKey>;

SignerService::SignerService(SecureBuffer auth_key, crypto::X25519KeyPair ephemeral, AttestationSource attestation,
                             kms::KmsClient* kms, SignerOptions options)
    : auth_key_(std::move(auth_key)),
      ephemeral_(std::move(ephemeral)),
      attestation_(std::move(attestation)),
      kms_(kms),
      options_(std::move(options)),
      dek_cache_(options_.cache_entries, options_.cache_ttl_ms),
      key_cache_(options_.cache_entries, options_.cache_ttl_ms) {
  if (!options_.random_secret) options_.random_secret = [](size_t n) { return crypto::RandomSecret(n); };
}

int64_t SignerService::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

ipc::Frame SignerService::Handle(const ipc::Frame& request, ByteSpan challenge, uint64_t& last_request_id) {
  ipc::Frame reply{.protocol = ipc::kProtocolSigner,
                   .kind = static_cast<uint8_t>(ipc::kReplyBit | request.kind),
                   .request_id = request.request_id,
                   .body = {}};
  auto run = [&]() -> StatusOr<Bytes> {
    if (request.protocol != ipc::kProtocolSigner) return InvalidArgumentError("not a signer request");
    if (!IsKnownOp(request.kind)) return InvalidArgumentError("unknown signer operation");
    if (request.body.size() < kMacSize) return UnauthenticatedError("request without authorization");
    ByteSpan body(request.body);
    const ByteArray<32> want = RequestMac(auth_key_.view(), challenge, request, body.subspan(kMacSize));
    if (!ConstantTimeEqual(want, body.first(kMacSize))) return UnauthenticatedError("request authorization invalid");
    if (request.request_id <= last_request_id) return UnauthenticatedError("request id replayed");
    last_request_id = request.request_id;
    ipc::FieldReader r(body.subspan(kMacSize));
    return Dispatch(static_cast<Op>(request.kind), r);
  };
  StatusOr<Bytes> result = run();
  reply.body = result.ok() ? ipc::OkReplyBody(*result) : ipc::ErrorReplyBody(result.status());
  return reply;
}

StatusOr<Bytes> SignerService::Dispatch(Op op, ipc::FieldReader& r) {
  ipc::FieldWriter out;
  switch (op) {
    case Op::kHealth:
      RETURN_IF_ERROR(r.Finish());
      return Field(HealthJson());
    case Op::kAttestation: {
      RETURN_IF_ERROR(r.Finish());
      ASSIGN_OR_RETURN(Bytes doc, attestation_());
      out.Add(doc).Add(ephemeral_.public_key);
      return out.Take();
    }
    case Op::kCreateKey:
      return CreateKey(r);
    case Op::kImportKey:
      return ImportKey(r);
    case Op::kDeriveAddress: {
      ASSIGN_OR_RETURN(auto key, ResolveKey(r));
      RETURN_IF_ERROR(r.Finish());
      return Field(AsBytes(PublicJson(*key)));
    }
    case Op::kSignEd25519: {
      ASSIGN_OR_RETURN(auto key, ResolveKey(r));
      ASSIGN_OR_RETURN(ByteSpan message, r.Next("message"));
      RETURN_IF_ERROR(r.Finish());
      if (key->kind != KeyKind::kEd25519) return InvalidArgumentError("not an Ed25519 key");
      ASSIGN_OR_RETURN(auto sig, crypto::Ed25519Sign(key->private_key.view(), message));
      out.Add(sig).Add(key->ed25519_public);
      return out.Take();
    }
    case Op::kSignTransaction: {
      ASSIGN_OR_RETURN(auto key, ResolveSecpKey(r));
      ASSIGN_OR_RETURN(std::string text, r.NextString("transaction"));
      RETURN_IF_ERROR(r.Finish());
      ASSIGN_OR_RETURN(json doc, ParseJsonStrict(text, "transaction"));
      ASSIGN_OR_RETURN(eth::Transaction tx, eth::TransactionFromJson(doc));
      ASSIGN_OR_RETURN(eth::SignedTransaction st, eth::SignTransaction(tx, key->private_key.view(), key->address));
      out.Add(st.raw).Add(st.hash).Add(key->address.bytes());
      return out.Take();
    }
    case Op::kSignMessage: {
      ASSIGN_OR_RETURN(auto key, ResolveSecpKey(r));
      ASSIGN_OR_RETURN(ByteSpan message, r.Next("message"));
      RETURN_IF_ERROR(r.Finish());
      ASSIGN_OR_RETURN(auto sig, eth::SignPersonalMessage(key->private_key.view(), message));
      out.Add(sig).Add(eth::PersonalMessageDigest(message)).Add(key->address.bytes());
      return out.Take();
    }
    case Op::kSignTypedData: {
      ASSIGN_OR_RETURN(auto key, ResolveSecpKey(r));
      ASSIGN_OR_RETURN(std::string text, r.NextString("typed data"));
      RETURN_IF_ERROR(r.Finish());
      ASSIGN_OR_RETURN(json doc, eth::ParseTypedDataJson(text));
      ASSIGN_OR_RETURN(eth::TypedDataSignature sig, eth::SignTypedData(doc, key->private_key.view()));
      out.Add(sig.signature).Add(sig.digest).Add(key->address.bytes());
      return out.Take();
    }
    case Op::kSignDigest: {
      ASSIGN_OR_RETURN(auto key, ResolveSecpKey(r));
      ASSIGN_OR_RETURN(ByteSpan digest, r.Next("digest", 32));
      RETURN_IF_ERROR(r.Finish());
      if (digest.size() != 32) return InvalidArgumentError("digest must be 32 bytes");
      crypto::Hash256 h{};
      std::copy(digest.begin(), digest.end(), h.begin());
      ASSIGN_OR_RETURN(crypto::RecoverableSignature sig, crypto::Secp256k1Sign(key->private_key.view(), h));
      out.Add(sig.ToRsv27()).Add(key->address.bytes());
      return out.Take();
    }
  }
  return InvalidArgumentError("unknown signer operation");
}

StatusOr<Bytes> SignerService::CreateKey(ipc::FieldReader& r) {
  ASSIGN_OR_RETURN(ByteSpan ctx_bytes, r.Next("context", 256));
  ASSIGN_OR_RETURN(uint8_t kind, r.NextU8("key kind"));
  RETURN_IF_ERROR(r.Finish());
  ASSIGN_OR_RETURN(KeyContext ctx, DecodeKeyContext(ctx_bytes));
  if (ctx.address != ByteArray<20>{}) return InvalidArgumentError("a create request's context has a zero address");
  if (kind != static_cast<uint8_t>(ctx.key_kind)) return InvalidArgumentError("key kind differs from the context's");
  SecureBuffer secret;
  if (ctx.key_kind == KeyKind::kEd25519) {
    ASSIGN_OR_RETURN(secret, options_.random_secret(32));
  } else if (ctx.key_kind == KeyKind::kSecp256k1) {
    // A uniformly random 32-byte string is a valid key except with probability ~2^-128.
    for (;;) {
      ASSIGN_OR_RETURN(secret, options_.random_secret(32));
      if (crypto::Secp256k1ValidatePrivateKey(secret.view()).ok()) break;
    }
  } else {
    ASSIGN_OR_RETURN(SecureBuffer entropy, options_.random_secret(32));
    ASSIGN_OR_RETURN(SecureBuffer mnemonic, eth::EntropyToMnemonic(entropy.view()));
    ASSIGN_OR_RETURN(secret, eth::MnemonicToSeed(AsString(mnemonic.view()), ""));
  }
  return SealNewBlob(ctx, secret.view());
}

StatusOr<Bytes> SignerService::ImportKey(ipc::FieldReader& r) {
  ASSIGN_OR_RETURN(ByteSpan ctx_bytes, r.Next("context", 256));
  ASSIGN_OR_RETURN(ByteSpan sealed, r.Next("sealed secret", 4096));
  RETURN_IF_ERROR(r.Finish());
  ASSIGN_OR_RETURN(KeyContext ctx, DecodeKeyContext(ctx_bytes));
  if (ctx.address != ByteArray<20>{}) return InvalidArgumentError("an import request's context has a zero address");
  ASSIGN_OR_RETURN(SecureBuffer payload,
                   crypto::OpenSealed(ephemeral_.private_key.view(), AsBytes(kImportSealInfo), ctx_bytes, sealed));
  if (payload.size() < 2) return InvalidArgumentError("import payload too short");
  const uint8_t kind = payload.data()[0];
  ByteSpan body = payload.view().subspan(1);
  if (kind != static_cast<uint8_t>(ctx.key_kind)) return InvalidArgumentError("import kind differs from the context's");
  if (ctx.key_kind == KeyKind::kEd25519) {
    if (body.size() != 32) return InvalidArgumentError("imported Ed25519 seed must be 32 bytes");
    return SealNewBlob(ctx, body);
  }
  if (ctx.key_kind == KeyKind::kSecp256k1) {
    if (body.size() != 32) return InvalidArgumentError("imported private key must be 32 bytes");
    RETURN_IF_ERROR(crypto::Secp256k1ValidatePrivateKey(body));
    return SealNewBlob(ctx, body);
  }
  std::string_view text = AsString(body);
  std::string_view passphrase;
  if (size_t nul = text.find('\0'); nul != std::string_view::npos) {
    passphrase = text.substr(nul + 1);
    text = text.substr(0, nul);
  }
  RETURN_IF_ERROR(eth::ValidateMnemonic(text));
  ASSIGN_OR_RETURN(SecureBuffer seed, eth::MnemonicToSeed(text, passphrase));
  return SealNewBlob(ctx, seed.view());
}

StatusOr<Bytes> SignerService::SealNewBlob(const KeyContext& request_ctx, ByteSpan secret) {
  KeyContext ctx = request_ctx;
  ASSIGN_OR_RETURN(eth::Address address, ContextAddress(ctx, secret));
  ctx.address = address.bytes();
  const Bytes ctx_bytes = EncodeKeyContext(ctx);
  ASSIGN_OR_RETURN(Bytes attestation, attestation_());
  ASSIGN_OR_RETURN(kms::GeneratedDataKey dk, kms_->GenerateDataKey(ctx_bytes, attestation));
  if (dk.sealed.empty()) return InternalError("kms returned no data key for the attested signer");
  ASSIGN_OR_RETURN(SecureBuffer dek, crypto::OpenSealed(ephemeral_.private_key.view(), AsBytes(kms::kDekSealInfo),
                                                        ctx_bytes, dk.sealed));
  KeyBlob blob;
  blob.context = ctx;
  blob.wrapped_dek = dk.wrapped;
  RETURN_IF_ERROR(crypto::RandomBytes(blob.nonce));
  ASSIGN_OR_RETURN(blob.sealed_key, crypto::Aes256GcmSeal(dek.view(), blob.nonce, ctx_bytes, secret));
  dek_cache_.Put(CacheKey({ctx_bytes, dk.wrapped}), std::make_shared<const SecureBuffer>(std::move(dek)), NowMs());
  ASSIGN_OR_RETURN(UsableKey root, KeyFromSecret(ctx, secret, ""));
  ipc::FieldWriter out;
  out.Add(EncodeKeyBlob(blob)).AddString(PublicJson(root));
  return out.Take();
}

StatusOr<std::shared_ptr<const SecureBuffer>> SignerService::DataKey(ByteSpan context, ByteSpan wrapped) {
  const std::string key = CacheKey({context, wrapped});
  if (auto hit = dek_cache_.Get(key, NowMs())) return hit;
  ASSIGN_OR_RETURN(Bytes attestation, attestation_());
  ASSIGN_OR_RETURN(Bytes sealed, kms_->Decrypt(context, wrapped, attestation));
  ASSIGN_OR_RETURN(SecureBuffer dek,
                   crypto::OpenSealed(ephemeral_.private_key.view(), AsBytes(kms::kDekSealInfo), context, sealed));
  auto shared = std::make_shared<const SecureBuffer>(std::move(dek));
  dek_cache_.Put(key, shared, NowMs());
  return shared;
}

StatusOr<std::shared_ptr<const UsableKey>> SignerService::ResolveKey(ipc::FieldReader& r) {
  ASSIGN_OR_RETURN(ByteSpan blob_bytes, r.Next("key blob", kMaxBlobBytes));
  ASSIGN_OR_RETURN(ByteSpan ctx_bytes, r.Next("context", 256));
  ASSIGN_OR_RETURN(std::string path, r.NextString("path", kMaxPathBytes));
  const std::string cache_key = CacheKey({blob_bytes, ctx_bytes, AsBytes(path)});
  if (auto hit = key_cache_.Get(cache_key, NowMs())) return hit;

  ASSIGN_OR_RETURN(KeyBlob blob, DecodeKeyBlob(blob_bytes));
  ASSIGN_OR_RETURN(KeyContext ctx, DecodeKeyContext(ctx_bytes));
  // Wrapped-key substitution: a blob answers only for the context it was made for.
  if (!(blob.context == ctx)) return PermissionDeniedError("key blob does not belong to this key context");
  ASSIGN_OR_RETURN(auto dek, DataKey(ctx_bytes, blob.wrapped_dek));
  auto secret = crypto::Aes256GcmOpen(dek->view(), blob.nonce, ctx_bytes, blob.sealed_key);
  if (!secret.ok()) return PermissionDeniedError("key blob does not decrypt under its context");
  ASSIGN_OR_RETURN(eth::Address address, ContextAddress(ctx, secret->view()));
  if (!(address.bytes() == ctx.address)) return PermissionDeniedError("key blob's key does not match the context address");
  ASSIGN_OR_RETURN(UsableKey key, KeyFromSecret(ctx, secret->view(), path));
  auto shared = std::make_shared<const UsableKey>(std::move(key));
  key_cache_.Put(cache_key, shared, NowMs());
  return shared;
}

StatusOr<std::shared_ptr<const UsableKey>> SignerService::ResolveSecpKey(ipc::FieldReader& r) {
  ASSIGN_OR_RETURN(auto key, ResolveKey(r));
  if (key->kind == KeyKind::kEd25519) return InvalidArgumentError("an Ed25519 key cannot sign Ethereum payloads");
  return key;
}

std::string SignerService::PublicJson(const UsableKey& key) const {
  if (key.kind == KeyKind::kEd25519) {
    return json{{"keyType", "ed25519"}, {"publicKey", HexEncode(key.ed25519_public, true)},
                {"keyId", eth::Address(key.address).ToLowerHex()}}
        .dump();
  }
  return json{{"address", key.address.ToChecksumHex()},
              {"publicKey", HexEncode(key.public_key, true)},
              {"path", key.path}}
      .dump();
}

Bytes SignerService::HealthJson() const {
  json extra = json::parse(options_.health_extra_json, nullptr, false);
  if (extra.is_discarded() || !extra.is_object()) extra = json::object();
  const auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  extra["service"] = "vaultproof-signer";
  extra["protocolVersion"] = 1;
  extra["uptimeSeconds"] = uptime.count();
  extra["cachedDataKeys"] = dek_cache_.size();
  extra["cachedKeys"] = key_cache_.size();
  extra["importPublicKey"] = HexEncode(ephemeral_.public_key, true);
  const std::string text = extra.dump();
  return Bytes(text.begin(), text.end());
}

}  // namespace vp::signer
