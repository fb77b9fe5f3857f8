// The kms service: answers kms frames (protocol.h) for one peer at a time, enforcing the
// key policy (policy.h) and appending every call to the kms audit log. Transport-free so
// tests can drive it directly; apps/vaultproof-kms serves it over a Unix socket.
//
//   KmsService svc(std::move(backend), policy, policy_sha256, &audit);
//   ipc::Frame reply = svc.Handle(request, peer_credentials);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "vp/ipc/frame.h"
#include "vp/ipc/socket.h"
#include "vp/kms/master_key.h"
#include "vp/kms/policy.h"

namespace vp::kms {

// Append-only, hash-chained JSON lines (docs/kms.md, "Audit log"): each record is
// {"seq","timeMs","pid","uid","gid","op","context","outcome","reason","prev","hash"} with
// hash = hex SHA-256("vp-kms-audit-v1" || prev hash bytes || the record's JSON without
// "hash"). Each append is fdatasync'd before the call is answered.
class KmsAuditLog {
 public:
  // Opens (creating it, mode 0600) and verifies the existing chain; kDataLoss-like
  // kFailedPrecondition "kms audit log chain broken at seq N" if it was altered.
  static StatusOr<std::unique_ptr<KmsAuditLog>> Open(const std::string& path);
  ~KmsAuditLog();
  Status Append(const ipc::PeerCredentials& peer, std::string_view op, ByteSpan context, std::string_view outcome,
                std::string_view reason, int64_t time_ms);
  int64_t size() const;

 private:
  KmsAuditLog(int fd, int64_t seq, std::string prev) : fd_(fd), seq_(seq), prev_(std::move(prev)) {}
  mutable std::mutex mu_;
  int fd_;
  int64_t seq_;
  std::string prev_;  // hex of the last hash, 64 zeros at the start
};

// Verifies a kms audit file: number of records, or the first broken record.
StatusOr<int64_t> VerifyKmsAuditFile(const std::string& path);

class KmsService {
 public:
  KmsService(std::unique_ptr<MasterKeyBackend> backend, KeyPolicy policy, std::string policy_sha256,
             KmsAuditLog* audit, std::function<int64_t()> now_ms = nullptr);

  ipc::Frame Handle(const ipc::Frame& request, const ipc::PeerCredentials& peer);

 private:
  StatusOr<Bytes> Dispatch(uint8_t kind, ByteSpan body, const ipc::PeerCredentials& peer, Bytes& context_out);
  bool UidIn(const std::vector<uint32_t>& uids, uid_t uid) const;

  std::unique_ptr<MasterKeyBackend> backend_;
  KeyPolicy policy_;
  std::string policy_sha256_;
  KmsAuditLog* audit_;
  std::function<int64_t()> now_ms_;
};

}  // namespace vp::kms
