// SignerClient: pooled, authenticated connections to the signer.
#include "vp/signer/client.h"

#include "vp/base/json.h"

namespace vp::signer {
namespace {

Status Unavailable(const Status& s) {
  if (s.code() == StatusCode::kUnavailable && s.message().rfind("signer unavailable", 0) == 0) return s;
  return UnavailableError("signer unavailable: " + s.message());
}

ipc::FieldWriter KeyFields(ByteSpan blob, const KeyContext& ctx, std::string_view path) {
  ipc::FieldWriter w;
  w.Add(blob).Add(EncodeKeyContext(ctx)).AddString(path);
  return w;
}

StatusOr<eth::Address> AddressField(ipc::FieldReader& r) {
  ASSIGN_OR_RETURN(ByteSpan from, r.Next("from", 20));
  if (from.size() != 20) return InternalError("signer reply: address must be 20 bytes");
  ByteArray<20> a{};
  std::copy(from.begin(), from.end(), a.begin());
  return eth::Address(a);
}

template <size_t N>
StatusOr<ByteArray<N>> FixedField(ipc::FieldReader& r, std::string_view name) {
  ASSIGN_OR_RETURN(ByteSpan f, r.Next(name, N));
  if (f.size() != N) return InternalError("signer reply: wrong size of " + std::string(name));
  ByteArray<N> out{};
  std::copy(f.begin(), f.end(), out.begin());
  return out;
}

}  // namespace

struct SignerClient::PooledConnection {
  ipc::Connection conn;
  ByteArray<16> challenge{};
  uint64_t next_id = 1;
  uint64_t generation = 0;
  std::shared_ptr<const SecureBuffer> auth_key;
};

SignerClient::SignerClient(std::string socket_path, CredentialsSource credentials, int timeout_ms, size_t max_idle)
    : socket_path_(std::move(socket_path)),
      credentials_(std::move(credentials)),
      timeout_ms_(timeout_ms),
      max_idle_(max_idle) {}

SignerClient::~SignerClient() = default;

StatusOr<std::unique_ptr<SignerClient::PooledConnection>> SignerClient::Acquire(const SignerCredentials& creds) {
  {
    std::lock_guard lock(mu_);
    while (!idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      if (c->generation == creds.generation && c->conn.open() && !c->conn.broken()) return c;
    }
  }
  auto fd = ipc::ConnectUnix(socket_path_);
  if (!fd.ok()) return Unavailable(fd.status());
  auto c = std::make_unique<PooledConnection>();
  c->conn = ipc::Connection(*fd);
  c->generation = creds.generation;
  c->auth_key = creds.auth_key;
  ASSIGN_OR_RETURN(ipc::Frame hello, c->conn.ReadFrame(timeout_ms_));
  if (hello.protocol != ipc::kProtocolSigner || hello.kind != ipc::kKindHello) return UnavailableError("signer unavailable: bad hello");
  ipc::FieldReader r(hello.body);
  ASSIGN_OR_RETURN(ByteSpan challenge, r.Next("challenge", kChallengeSize));
  if (challenge.size() != kChallengeSize) return UnavailableError("signer unavailable: bad hello");
  std::copy(challenge.begin(), challenge.end(), c->challenge.begin());
  ASSIGN_OR_RETURN(std::string version, r.NextString("version", 64));
  ASSIGN_OR_RETURN(ByteSpan instance, r.Next("instance key", 32));
  if (version != "vaultproof-signer/1") return UnavailableError("signer unavailable: unsupported signer version");
  // A restarted signer answers on the same socket before the launcher has handed out
  // its credentials: report it as restarting rather than sending a mac it will refuse.
  if (!std::equal(instance.begin(), instance.end(), creds.signer_public.begin(), creds.signer_public.end()))
    return UnavailableError("signer unavailable: restarting");
  return c;
}

void SignerClient::Release(std::unique_ptr<PooledConnection> conn) {
  std::lock_guard lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

StatusOr<Bytes> SignerClient::Call(Op op, ByteSpan fields) {
  auto creds = credentials_();
  if (!creds.ok()) return Unavailable(creds.status());
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto acquired = Acquire(*creds);
    if (!acquired.ok()) return Unavailable(acquired.status());
    auto c = std::move(*acquired);
    ipc::Frame req{.protocol = ipc::kProtocolSigner, .kind = static_cast<uint8_t>(op), .request_id = c->next_id++,
                   .body = {}};
    const ByteArray<32> mac = RequestMac(c->auth_key->view(), c->challenge, req, fields);
    req.body.reserve(kMacSize + fields.size());
    Append(req.body, mac);
    Append(req.body, fields);
    Status sent = c->conn.WriteFrame(req, timeout_ms_);
    if (!sent.ok()) {
      if (attempt == 0) continue;  // a pooled connection to a signer that restarted: one retry
      return Unavailable(sent);
    }
    auto reply = c->conn.ReadFrame(timeout_ms_);
    if (!reply.ok()) {
      // Only a request that surely did not execute could be retried; a lost reply is reported.
      return Unavailable(reply.status());
    }
    if (reply->protocol != ipc::kProtocolSigner || reply->kind != (ipc::kReplyBit | static_cast<uint8_t>(op)) ||
        reply->request_id != req.request_id)
      return UnavailableError("signer unavailable: reply does not match the request");
    Release(std::move(c));
    ASSIGN_OR_RETURN(ipc::FieldReader r, ipc::OpenReply(reply->body));
    ASSIGN_OR_RETURN(ByteSpan rest, r.Raw("reply", r.remaining()));
    return Bytes(rest.begin(), rest.end());
  }
  return UnavailableError("signer unavailable");
}

StatusOr<nlohmann::json> SignerClient::Health() {
  ASSIGN_OR_RETURN(Bytes out, Call(Op::kHealth, {}));
  ipc::FieldReader r(out);
  ASSIGN_OR_RETURN(std::string text, r.NextString("health", 65536));
  RETURN_IF_ERROR(r.Finish());
  return ParseJsonStrict(text, "signer health");
}

StatusOr<AttestationInfo> SignerClient::Attestation() {
  ASSIGN_OR_RETURN(Bytes out, Call(Op::kAttestation, {}));
  ipc::FieldReader r(out);
  AttestationInfo info;
  ASSIGN_OR_RETURN(ByteSpan doc, r.Next("attestation", 512));
  info.document.assign(doc.begin(), doc.end());
  ASSIGN_OR_RETURN(info.import_key, FixedField<32>(r, "import key"));
  RETURN_IF_ERROR(r.Finish());
  return info;
}

StatusOr<CreatedKey> SignerClient::ParseCreated(const KeyContext& request_context, StatusOr<Bytes> reply) {
  if (!reply.ok()) return reply.status();
  ipc::FieldReader r(*reply);
  CreatedKey created;
  ASSIGN_OR_RETURN(ByteSpan blob, r.Next("blob", kMaxBlobBytes));
  ASSIGN_OR_RETURN(std::string pub, r.NextString("public data", 4096));
  RETURN_IF_ERROR(r.Finish());
  created.blob.assign(blob.begin(), blob.end());
  ASSIGN_OR_RETURN(KeyBlob decoded, DecodeKeyBlob(created.blob));
  created.context = decoded.context;
  KeyContext without_address = decoded.context;
  without_address.address = {};
  if (!(without_address == request_context)) return InternalError("signer returned a blob for another context");
  ASSIGN_OR_RETURN(created.public_data, ParseJsonStrict(pub, "signer public data"));
  return created;
}

StatusOr<CreatedKey> SignerClient::CreateKey(const KeyContext& context) {
  ipc::FieldWriter w;
  w.Add(EncodeKeyContext(context)).AddU8(static_cast<uint8_t>(context.key_kind));
  return ParseCreated(context, Call(Op::kCreateKey, w.Take()));
}

StatusOr<CreatedKey> SignerClient::ImportKey(const KeyContext& context, ByteSpan sealed_secret) {
  ipc::FieldWriter w;
  w.Add(EncodeKeyContext(context)).Add(sealed_secret);
  return ParseCreated(context, Call(Op::kImportKey, w.Take()));
}

StatusOr<nlohmann::json> SignerClient::DeriveAddress(ByteSpan blob, const KeyContext& context, std::string_view path) {
  ASSIGN_OR_RETURN(Bytes out, Call(Op::kDeriveAddress, KeyFields(blob, context, path).Take()));
  ipc::FieldReader r(out);
  ASSIGN_OR_RETURN(std::string text, r.NextString("public data", 4096));
  RETURN_IF_ERROR(r.Finish());
  return ParseJsonStrict(text, "signer public data");
}

StatusOr<SignedTransactionResult> SignerClient::SignTransaction(ByteSpan blob, const KeyContext& context,
                                                                std::string_view path,
                                                                std::string_view transaction_json) {
  auto w = KeyFields(blob, context, path);
  w.AddString(transaction_json);
  ASSIGN_OR_RETURN(Bytes out, Call(Op::kSignTransaction, w.Take()));
  ipc::FieldReader r(out);
  SignedTransactionResult res;
  ASSIGN_OR_RETURN(ByteSpan raw, r.Next("raw"));
  res.raw.assign(raw.begin(), raw.end());
  ASSIGN_OR_RETURN(res.hash, FixedField<32>(r, "hash"));
  ASSIGN_OR_RETURN(res.from, AddressField(r));
  RETURN_IF_ERROR(r.Finish());
  return res;
}

StatusOr<SignatureResult> SignerClient::ParseSignature(StatusOr<Bytes> reply, bool has_hash) {
  if (!reply.ok()) return reply.status();
  ipc::FieldReader r(*reply);
  SignatureResult res;
  ASSIGN_OR_RETURN(res.signature, FixedField<65>(r, "signature"));
  if (has_hash) {
    ASSIGN_OR_RETURN(res.hash, FixedField<32>(r, "hash"));
  }
  ASSIGN_OR_RETURN(res.from, AddressField(r));
  RETURN_IF_ERROR(r.Finish());
  return res;
}

StatusOr<SignatureResult> SignerClient::SignMessage(ByteSpan blob, const KeyContext& context, std::string_view path,
                                                    ByteSpan message) {
  auto w = KeyFields(blob, context, path);
  w.Add(message);
  return ParseSignature(Call(Op::kSignMessage, w.Take()), true);
}

StatusOr<SignatureResult> SignerClient::SignTypedData(ByteSpan blob, const KeyContext& context, std::string_view path,
                                                      std::string_view typed_data_json) {
  auto w = KeyFields(blob, context, path);
  w.AddString(typed_data_json);
  return ParseSignature(Call(Op::kSignTypedData, w.Take()), true);
}

StatusOr<SignatureResult> SignerClient::SignDigest(ByteSpan blob, const KeyContext& context, std::string_view path,
                                                   const crypto::Hash256& digest) {
  auto w = KeyFields(blob, context, path);
  w.Add(digest);
  return ParseSignature(Call(Op::kSignDigest, w.Take()), false);
}

}  // namespace vp::signer
