// KmsClient: one request at a time over a Unix socket; the server's hello is read and
// ignored (the kms authenticates by SO_PEERCRED and attestation, not by a mac).
#include "vp/kms/protocol.h"

#include "vp/base/json.h"

namespace vp::kms {

StatusOr<Bytes> KmsClient::Call(KmsOp op, Bytes fields) {
  std::lock_guard lock(mu_);
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!conn_.open() || conn_.broken()) {
      conn_.Close();
      auto fd = ipc::ConnectUnix(socket_path_);
      if (!fd.ok()) return UnavailableError("kms unavailable: " + fd.status().message());
      conn_ = ipc::Connection(*fd);
      auto hello = conn_.ReadFrame(timeout_ms_);
      if (!hello.ok() || hello->kind != ipc::kKindHello) {
        conn_.Close();
        return UnavailableError("kms unavailable: no hello");
      }
    }
    ipc::Frame req{.protocol = ipc::kProtocolKms, .kind = static_cast<uint8_t>(op), .request_id = next_id_++,
                   .body = fields};
    if (!conn_.WriteFrame(req, timeout_ms_).ok()) {
      conn_.Close();
      continue;  // the kms may have restarted: one fresh connection
    }
    auto reply = conn_.ReadFrame(timeout_ms_);
    if (!reply.ok()) {
      conn_.Close();
      if (attempt == 0 && reply.status().code() == StatusCode::kUnavailable) continue;
      return UnavailableError("kms unavailable: " + reply.status().message());
    }
    if (reply->protocol != ipc::kProtocolKms || reply->kind != (ipc::kReplyBit | static_cast<uint8_t>(op)) ||
        reply->request_id != req.request_id) {
      conn_.Close();
      return InternalError("kms reply does not match the request");
    }
    ASSIGN_OR_RETURN(ipc::FieldReader r, ipc::OpenReply(reply->body));
    ASSIGN_OR_RETURN(ByteSpan rest, r.Raw("reply fields", r.remaining()));
    return Bytes(rest.begin(), rest.end());
  }
  return UnavailableError("kms unavailable: connection lost");
}

StatusOr<GeneratedDataKey> KmsClient::GenerateDataKey(ByteSpan context, ByteSpan attestation) {
  ipc::FieldWriter w;
  w.Add(context).Add(attestation);
  ASSIGN_OR_RETURN(Bytes out, Call(KmsOp::kGenerateDataKey, w.Take()));
  ipc::FieldReader r(out);
  GeneratedDataKey dk;
  ASSIGN_OR_RETURN(ByteSpan wrapped, r.Next("wrapped data key", kMaxWrappedBytes));
  ASSIGN_OR_RETURN(ByteSpan sealed, r.Next("sealed data key", kMaxWrappedBytes));
  RETURN_IF_ERROR(r.Finish());
  dk.wrapped.assign(wrapped.begin(), wrapped.end());
  dk.sealed.assign(sealed.begin(), sealed.end());
  return dk;
}

StatusOr<Bytes> KmsClient::Decrypt(ByteSpan context, ByteSpan wrapped, ByteSpan attestation) {
  ipc::FieldWriter w;
  w.Add(context).Add(wrapped).Add(attestation);
  ASSIGN_OR_RETURN(Bytes out, Call(KmsOp::kDecrypt, w.Take()));
  ipc::FieldReader r(out);
  ASSIGN_OR_RETURN(ByteSpan sealed, r.Next("sealed data key", kMaxWrappedBytes));
  RETURN_IF_ERROR(r.Finish());
  return Bytes(sealed.begin(), sealed.end());
}

StatusOr<Bytes> KmsClient::ReEncrypt(ByteSpan context, ByteSpan wrapped) {
  ipc::FieldWriter w;
  w.Add(context).Add(wrapped);
  ASSIGN_OR_RETURN(Bytes out, Call(KmsOp::kReEncrypt, w.Take()));
  ipc::FieldReader r(out);
  ASSIGN_OR_RETURN(ByteSpan rewrapped, r.Next("wrapped data key", kMaxWrappedBytes));
  RETURN_IF_ERROR(r.Finish());
  return Bytes(rewrapped.begin(), rewrapped.end());
}

StatusOr<nlohmann::json> KmsClient::CallJson(KmsOp op) {
  ASSIGN_OR_RETURN(Bytes out, Call(op, {}));
  ipc::FieldReader r(out);
  ASSIGN_OR_RETURN(std::string text, r.NextString("json", 65536));
  RETURN_IF_ERROR(r.Finish());
  return ParseJsonStrict(text, "kms reply");
}

StatusOr<nlohmann::json> KmsClient::GetPublicKey() { return CallJson(KmsOp::kGetPublicKey); }
StatusOr<nlohmann::json> KmsClient::RotateBegin() { return CallJson(KmsOp::kRotateBegin); }
StatusOr<nlohmann::json> KmsClient::RotateFinish() { return CallJson(KmsOp::kRotateFinish); }

}  // namespace vp::kms
