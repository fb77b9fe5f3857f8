// KmsService and the kms audit log.
#include "vp/kms/service.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "vp/base/json.h"
#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"
#include "vp/crypto/sealed_box.h"
#include "vp/kms/attestation.h"
#include "vp/kms/protocol.h"

namespace vp::kms {
namespace {

using nlohmann::json;

constexpr std::string_view kAuditDomain = "vp-kms-audit-v1";

int64_t SystemNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Printable ASCII kept, everything else as \xNN: wallet ids stay readable in the log.
std::string PrintableContext(ByteSpan context) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : context) {
    if (b >= 0x20 && b < 0x7f && b != '\\') {
      out.push_back(static_cast<char>(b));
    } else {
      out += "\\x";
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 15]);
    }
  }
  return out;
}

std::string ChainHash(const std::string& prev_hex, const std::string& body) {
  Bytes msg(kAuditDomain.begin(), kAuditDomain.end());
  auto prev = HexDecode(prev_hex, HexPrefix::kForbidden);
  if (prev.ok()) Append(msg, *prev);
  Append(msg, AsBytes(body));
  return HexEncode(crypto::Sha256(msg));
}

std::string_view OpName(uint8_t kind) {
  switch (static_cast<KmsOp>(kind)) {
    case KmsOp::kGenerateDataKey: return "GenerateDataKey";
    case KmsOp::kDecrypt: return "Decrypt";
    case KmsOp::kReEncrypt: return "ReEncrypt";
    case KmsOp::kGetPublicKey: return "GetPublicKey";
    case KmsOp::kRotateBegin: return "RotateBegin";
    case KmsOp::kRotateFinish: return "RotateFinish";
  }
  return "unknown";
}

// Walks the file: last seq and hash, or where the chain breaks.
struct ChainState {
  int64_t seq = 0;
  std::string prev = std::string(64, '0');
};
StatusOr<ChainState> WalkChain(std::istream& in) {
  ChainState st;
  std::string line;
  while (std::getline(in, line)) {
    const int64_t want = st.seq + 1;
    auto broken = [&] { return FailedPreconditionError("kms audit log chain broken at seq " + std::to_string(want)); };
    auto j = ParseJsonStrict(line, "kms audit record");
    if (!j.ok() || !j->is_object() || !(*j)["hash"].is_string() || !(*j)["prev"].is_string() ||
        !(*j)["seq"].is_number_integer())
      return broken();
    const std::string hash = (*j)["hash"].get<std::string>();
    if ((*j)["seq"].get<int64_t>() != want || (*j)["prev"].get<std::string>() != st.prev) return broken();
    j->erase("hash");
    if (ChainHash(st.prev, j->dump()) != hash) return broken();
    st.seq = want;
    st.prev = hash;
  }
  return st;
}

}  // namespace

StatusOr<std::unique_ptr<KmsAuditLog>> KmsAuditLog::Open(const std::string& path) {
  ChainState st;
  {
    std::ifstream in(path);
    if (in) {
      ASSIGN_OR_RETURN(st, WalkChain(in));
    }
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return UnavailableError("cannot open kms audit log " + path);
  return std::unique_ptr<KmsAuditLog>(new KmsAuditLog(fd, st.seq, st.prev));
}

KmsAuditLog::~KmsAuditLog() { ::close(fd_); }

int64_t KmsAuditLog::size() const {
  std::lock_guard lock(mu_);
  return seq_;
}

Status KmsAuditLog::Append(const ipc::PeerCredentials& peer, std::string_view op, ByteSpan context,
                           std::string_view outcome, std::string_view reason, int64_t time_ms) {
  std::lock_guard lock(mu_);
  // nlohmann::json keeps keys sorted, so the dump is canonical.
  json rec = {{"seq", seq_ + 1},   {"timeMs", time_ms},       {"pid", peer.pid},
              {"uid", peer.uid},   {"gid", peer.gid},         {"op", op},
              {"context", PrintableContext(context)}, {"outcome", outcome},
              {"reason", reason},  {"prev", prev_}};
  const std::string body = rec.dump(-1, ' ', true, json::error_handler_t::replace);
  rec["hash"] = ChainHash(prev_, body);
  const std::string line = rec.dump(-1, ' ', true, json::error_handler_t::replace) + "\n";
  size_t off = 0;
  while (off < line.size()) {
    const ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return UnavailableError("kms audit log write failed");
    }
    off += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return UnavailableError("kms audit log fsync failed");
  ++seq_;
  prev_ = rec["hash"].get<std::string>();
  return OkStatus();
}

StatusOr<int64_t> VerifyKmsAuditFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("cannot read " + path);
  ASSIGN_OR_RETURN(ChainState st, WalkChain(in));
  return st.seq;
}

KmsService::KmsService(std::unique_ptr<MasterKeyBackend> backend, KeyPolicy policy, std::string policy_sha256,
                       KmsAuditLog* audit, std::function<int64_t()> now_ms)
    : backend_(std::move(backend)),
      policy_(std::move(policy)),
      policy_sha256_(std::move(policy_sha256)),
      audit_(audit),
      now_ms_(now_ms ? std::move(now_ms) : std::function<int64_t()>(SystemNowMs)) {}

bool KmsService::UidIn(const std::vector<uint32_t>& uids, uid_t uid) const {
  return std::find(uids.begin(), uids.end(), static_cast<uint32_t>(uid)) != uids.end();
}

ipc::Frame KmsService::Handle(const ipc::Frame& request, const ipc::PeerCredentials& peer) {
  ipc::Frame reply{.protocol = ipc::kProtocolKms,
                   .kind = static_cast<uint8_t>(ipc::kReplyBit | request.kind),
                   .request_id = request.request_id,
                   .body = {}};
  Bytes context;
  StatusOr<Bytes> result = InvalidArgumentError("not a kms request");
  if (request.protocol == ipc::kProtocolKms) result = Dispatch(request.kind, request.body, peer, context);
  const std::string outcome = result.ok() ? "success" : std::string(StatusCodeName(result.status().code()));
  Status logged = audit_ != nullptr ? audit_->Append(peer, OpName(request.kind), context, outcome,
                                                     result.ok() ? "" : result.status().message(), now_ms_())
                                    : OkStatus();
  // A call that cannot be audited is not answered with its result.
  if (!logged.ok()) result = UnavailableError("kms audit log unavailable");
  reply.body = result.ok() ? ipc::OkReplyBody(*result) : ipc::ErrorReplyBody(result.status());
  return reply;
}

StatusOr<Bytes> KmsService::Dispatch(uint8_t kind, ByteSpan body, const ipc::PeerCredentials& peer,
                                     Bytes& context_out) {
  ipc::FieldReader r(body);
  ipc::FieldWriter out;
  auto read_context = [&]() -> StatusOr<ByteSpan> {
    ASSIGN_OR_RETURN(ByteSpan c, r.Next("encryption context", kMaxContextBytes));
    context_out.assign(c.begin(), c.end());
    if (c.empty()) return InvalidArgumentError("empty encryption context");
    return c;
  };
  // Verifies the attestation and seals `dek` to the attested signer key.
  auto seal_to_attested = [&](ByteSpan attestation, ByteSpan context, ByteSpan dek) -> StatusOr<Bytes> {
    ASSIGN_OR_RETURN(AttestationDoc doc, DecodeAttestation(attestation));
    RETURN_IF_ERROR(VerifyAttestation(doc, policy_, now_ms_()));
    return crypto::SealTo(doc.signer_public_key, AsBytes(kDekSealInfo), context, dek);
  };

  switch (static_cast<KmsOp>(kind)) {
    case KmsOp::kGenerateDataKey: {
      ASSIGN_OR_RETURN(ByteSpan context, read_context());
      ASSIGN_OR_RETURN(ByteSpan attestation, r.Next("attestation", kMaxAttestationBytes));
      RETURN_IF_ERROR(r.Finish());
      if (!UidIn(policy_.generate_data_key_uids, peer.uid))
        return PermissionDeniedError("caller uid " + std::to_string(peer.uid) + " may not GenerateDataKey");
      ASSIGN_OR_RETURN(SecureBuffer dek, crypto::RandomSecret(32));
      ASSIGN_OR_RETURN(WrappedKey wrapped, backend_->Wrap(dek.view(), context));
      Bytes sealed;
      if (!attestation.empty()) {
        if (!PolicyAllowsDecrypt(policy_, peer.uid))
          return PermissionDeniedError("caller uid " + std::to_string(peer.uid) + " may not receive data keys");
        ASSIGN_OR_RETURN(sealed, seal_to_attested(attestation, context, dek.view()));
      }
      out.Add(EncodeWrappedKey(wrapped)).Add(sealed);
      return out.Take();
    }
    case KmsOp::kDecrypt: {
      ASSIGN_OR_RETURN(ByteSpan context, read_context());
      ASSIGN_OR_RETURN(ByteSpan wrapped_bytes, r.Next("wrapped data key", kMaxWrappedBytes));
      ASSIGN_OR_RETURN(ByteSpan attestation, r.Next("attestation", kMaxAttestationBytes));
      RETURN_IF_ERROR(r.Finish());
      if (attestation.empty()) return PermissionDeniedError("Decrypt requires an attestation");
      if (!PolicyAllowsDecrypt(policy_, peer.uid))
        return PermissionDeniedError("caller uid " + std::to_string(peer.uid) + " may not Decrypt");
      // Verify before touching the master key, so an unattested caller learns nothing.
      ASSIGN_OR_RETURN(AttestationDoc doc, DecodeAttestation(attestation));
      RETURN_IF_ERROR(VerifyAttestation(doc, policy_, now_ms_()));
      ASSIGN_OR_RETURN(WrappedKey wrapped, DecodeWrappedKey(wrapped_bytes));
      ASSIGN_OR_RETURN(SecureBuffer dek, backend_->Unwrap(wrapped, context));
      ASSIGN_OR_RETURN(Bytes sealed, crypto::SealTo(doc.signer_public_key, AsBytes(kDekSealInfo), context, dek.view()));
      out.Add(sealed);
      return out.Take();
    }
    case KmsOp::kReEncrypt: {
      ASSIGN_OR_RETURN(ByteSpan context, read_context());
      ASSIGN_OR_RETURN(ByteSpan wrapped_bytes, r.Next("wrapped data key", kMaxWrappedBytes));
      RETURN_IF_ERROR(r.Finish());
      if (!UidIn(policy_.admin_uids, peer.uid))
        return PermissionDeniedError("caller uid " + std::to_string(peer.uid) + " may not ReEncrypt");
      ASSIGN_OR_RETURN(WrappedKey wrapped, DecodeWrappedKey(wrapped_bytes));
      ASSIGN_OR_RETURN(SecureBuffer dek, backend_->Unwrap(wrapped, context));
      ASSIGN_OR_RETURN(WrappedKey rewrapped, backend_->Wrap(dek.view(), context));
      out.Add(EncodeWrappedKey(rewrapped));
      return out.Take();
    }
    case KmsOp::kGetPublicKey: {
      RETURN_IF_ERROR(r.Finish());
      json keys = json::array();
      for (const auto& k : policy_.launcher_keys) keys.push_back(HexEncode(k));
      json doc = {{"launcherPublicKeys", keys},
                  {"policySha256", policy_sha256_},
                  {"backend", backend_->Kind()},
                  {"masterKeyIds", backend_->KeyIds()},
                  {"activeMasterKeyId", backend_->ActiveKeyId()}};
      out.AddString(doc.dump());
      return out.Take();
    }
    case KmsOp::kRotateBegin:
    case KmsOp::kRotateFinish: {
      RETURN_IF_ERROR(r.Finish());
      if (!UidIn(policy_.admin_uids, peer.uid))
        return PermissionDeniedError("caller uid " + std::to_string(peer.uid) + " may not rotate the master key");
      RETURN_IF_ERROR(static_cast<KmsOp>(kind) == KmsOp::kRotateBegin ? backend_->BeginRotation()
                                                                        : backend_->FinishRotation());
      json doc = {{"activeMasterKeyId", backend_->ActiveKeyId()}, {"masterKeyIds", backend_->KeyIds()}};
      out.AddString(doc.dump());
      return out.Take();
    }
  }
  return InvalidArgumentError("unknown kms operation " + std::to_string(kind));
}

}  // namespace vp::kms
