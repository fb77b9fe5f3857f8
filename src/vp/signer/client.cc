// SignerClient: pooled, authenticated connections to the signer.
#include "vp/signer/client.h"

#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <thread>
#include <unordered_map>

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

namespace {

struct Pending {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  StatusOr<ipc::Frame> reply = UnavailableError("signer unavailable: no reply");
};

}  // namespace

struct SignerClient::Mux {
  uint64_t generation = 0;
  std::shared_ptr<const SecureBuffer> auth_key;
  ByteArray<16> challenge{};
  ipc::Connection conn;
  std::mutex write_mu;  // ids are assigned and frames written in one order
  uint64_t next_id = 1;
  std::mutex pending_mu;
  std::unordered_map<uint64_t, std::shared_ptr<Pending>> pending;
  std::atomic<bool> dead{false};
  std::thread reader;

  ~Mux() {
    dead.store(true);
    if (conn.fd() >= 0) ::shutdown(conn.fd(), SHUT_RDWR);  // wakes the reader
    if (reader.joinable()) reader.join();
  }

  void FailAll(const Status& why) {
    std::unordered_map<uint64_t, std::shared_ptr<Pending>> waiting;
    {
      std::lock_guard lock(pending_mu);
      waiting.swap(pending);
    }
    for (auto& [id, p] : waiting) {
      std::lock_guard lock(p->mu);
      p->reply = why;
      p->done = true;
      p->cv.notify_one();
    }
  }

  void ReadLoop() {
    while (!dead.load()) {
      auto frame = conn.ReadFrame(200);
      if (!frame.ok()) {
        if (!conn.broken() && frame.status().code() == StatusCode::kUnavailable) continue;  // idle
        break;
      }
      std::shared_ptr<Pending> p;
      {
        std::lock_guard lock(pending_mu);
        auto it = pending.find(frame->request_id);
        if (it == pending.end()) continue;  // its caller timed out
        p = std::move(it->second);
        pending.erase(it);
      }
      std::lock_guard lock(p->mu);
      p->reply = std::move(*frame);
      p->done = true;
      p->cv.notify_one();
    }
    dead.store(true);
    FailAll(UnavailableError("signer unavailable: connection lost"));
  }
};

SignerClient::SignerClient(std::string socket_path, CredentialsSource credentials, int timeout_ms, size_t connections)
    : socket_path_(std::move(socket_path)),
      credentials_(std::move(credentials)),
      timeout_ms_(timeout_ms),
      muxes_(std::max<size_t>(connections, 1)) {}

SignerClient::~SignerClient() = default;

StatusOr<std::shared_ptr<SignerClient::Mux>> SignerClient::Connect(const SignerCredentials& creds) {
  auto fd = ipc::ConnectUnix(socket_path_);
  if (!fd.ok()) return Unavailable(fd.status());
  auto m = std::make_shared<Mux>();
  m->conn = ipc::Connection(*fd);
  m->generation = creds.generation;
  m->auth_key = creds.auth_key;
  auto hello = m->conn.ReadFrame(timeout_ms_);
  if (!hello.ok()) return Unavailable(hello.status());
  if (hello->protocol != ipc::kProtocolSigner || hello->kind != ipc::kKindHello)
    return UnavailableError("signer unavailable: bad hello");
  ipc::FieldReader r(hello->body);
  ASSIGN_OR_RETURN(ByteSpan challenge, r.Next("challenge", kChallengeSize));
  if (challenge.size() != kChallengeSize) return UnavailableError("signer unavailable: bad hello");
  std::copy(challenge.begin(), challenge.end(), m->challenge.begin());
  ASSIGN_OR_RETURN(std::string version, r.NextString("version", 64));
  ASSIGN_OR_RETURN(ByteSpan instance, r.Next("instance key", 32));
  if (version != "vaultproof-signer/1") return UnavailableError("signer unavailable: unsupported signer version");
  // A restarted signer answers on the same socket before the launcher has handed out
  // its credentials: report it as restarting rather than sending a mac it will refuse.
  if (!std::equal(instance.begin(), instance.end(), creds.signer_public.begin(), creds.signer_public.end()))
    return UnavailableError("signer unavailable: restarting");
  Mux* raw = m.get();
  m->reader = std::thread([raw] { raw->ReadLoop(); });
  return m;
}

StatusOr<std::shared_ptr<SignerClient::Mux>> SignerClient::Pick(const SignerCredentials& creds) {
  const size_t slot = next_.fetch_add(1) % muxes_.size();
  std::shared_ptr<Mux> stale;  // destroyed (reader joined) outside the lock
  std::lock_guard lock(mu_);
  auto& m = muxes_[slot];
  if (m && !m->dead.load() && m->generation == creds.generation) return m;
  stale = std::move(m);
  ASSIGN_OR_RETURN(m, Connect(creds));
  return m;
}

StatusOr<Bytes> SignerClient::Call(Op op, ByteSpan fields) {
  auto creds = credentials_();
  if (!creds.ok()) return Unavailable(creds.status());
  for (int attempt = 0; attempt < 2; ++attempt) {
    ASSIGN_OR_RETURN(std::shared_ptr<Mux> m, Pick(*creds));
    auto p = std::make_shared<Pending>();
    uint64_t id;
    Status sent;
    {
      std::lock_guard lock(m->write_mu);
      id = m->next_id++;
      ipc::Frame req{.protocol = ipc::kProtocolSigner, .kind = static_cast<uint8_t>(op), .request_id = id, .body = {}};
      const ByteArray<32> mac = RequestMac(m->auth_key->view(), m->challenge, req, fields);
      req.body.reserve(kMacSize + fields.size());
      Append(req.body, mac);
      Append(req.body, fields);
      {
        std::lock_guard plock(m->pending_mu);
        m->pending[id] = p;
      }
      sent = m->conn.WriteFrame(req, timeout_ms_);
    }
    if (!sent.ok()) {
      {
        std::lock_guard plock(m->pending_mu);
        m->pending.erase(id);
      }
      m->dead.store(true);
      if (attempt == 0) continue;  // a connection to a signer that restarted: one retry
      return Unavailable(sent);
    }
    std::unique_lock wait(p->mu);
    if (!p->cv.wait_for(wait, std::chrono::milliseconds(timeout_ms_), [&] { return p->done; })) {
      wait.unlock();
      std::lock_guard plock(m->pending_mu);
      m->pending.erase(id);
      return UnavailableError("signer unavailable: timed out");
    }
    if (!p->reply.ok()) return Unavailable(p->reply.status());
    const ipc::Frame& reply = *p->reply;
    // An error reply to a frame the signer could not parse carries kind 0x80.
    if (reply.protocol != ipc::kProtocolSigner ||
        (reply.kind != (ipc::kReplyBit | static_cast<uint8_t>(op)) && reply.kind != ipc::kReplyBit))
      return UnavailableError("signer unavailable: reply does not match the request");
    ASSIGN_OR_RETURN(ipc::FieldReader r, ipc::OpenReply(reply.body));
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

StatusOr<Ed25519SignatureResult> SignerClient::SignEd25519(ByteSpan blob, const KeyContext& context, ByteSpan message) {
  auto w = KeyFields(blob, context, "");
  w.Add(message);
  ASSIGN_OR_RETURN(Bytes out, Call(Op::kSignEd25519, w.Take()));
  ipc::FieldReader r(out);
  Ed25519SignatureResult res;
  ASSIGN_OR_RETURN(res.signature, FixedField<64>(r, "signature"));
  ASSIGN_OR_RETURN(res.public_key, FixedField<32>(r, "public key"));
  RETURN_IF_ERROR(r.Finish());
  return res;
}

}  // namespace vp::signer
