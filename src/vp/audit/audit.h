// The tamper-evident audit log (the CloudTrail equivalent): records hash-chained in the
// store, appended by group commit, with Ed25519-signed digests every N records or T
// seconds, a query API and a verifier that pinpoints tampering. The byte formats, the
// chain, the digests and every verification finding are specified in docs/audit_log.md
// (format version 1); the encoders are in vp/audit/format.h.
//
//   ASSIGN_OR_RETURN(auto key, vp::audit::FileDigestSigner::LoadOrCreate(data_dir));
//   ASSIGN_OR_RETURN(auto writer, vp::audit::AuditWriter::Start(*db, key));
//   writer->Append(record, [](vp::StatusOr<int64_t> seq) { /* durable now: respond */ });
//   ASSIGN_OR_RETURN(int64_t seq, writer->AppendAndWait(record));    // blocking form
//   ASSIGN_OR_RETURN(auto page, vp::audit::AuditReader(*db).Query(filter, cursor, 100));
//   ASSIGN_OR_RETURN(auto report, vp::audit::Verify(*db, {key->public_key()}));
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"
#include "vp/base/status.h"
#include "vp/crypto/ed25519.h"
#include "vp/store/db.h"

namespace vp::audit {

using ChainHash = ByteArray<32>;

// One audit event. On Append only the descriptive fields matter: seq and hash are assigned
// by the writer, time_ms = 0 means "now". Text fields are normalized on Append (invalid
// UTF-8 and NUL replaced by U+FFFD, over-long fields cut; limits in format.h), so what is
// stored is exactly what is hashed.
struct AuditRecord {
  int64_t seq = 0;        // position in the chain, 1, 2, 3, ... without gaps
  int64_t time_ms = 0;    // Unix time in milliseconds (UTC)
  std::string request_id; // X-Request-ID, or "" for events outside a request
  std::string principal;  // API key id, or "" when the caller is unknown
  std::string action;     // what was attempted, e.g. "POST /v1/echo", "auth.failure"
  std::string resource;   // what it was attempted on, e.g. a path or an object id
  std::string outcome;    // "success", "denied", "error", ... (the gateway's vocabulary)
  std::string source_ip;
  std::string details;    // free text; by convention a compact JSON object
  ChainHash hash{};       // hash_seq of the chain (set on records read back)

  friend bool operator==(const AuditRecord&, const AuditRecord&) = default;
};

// Signs digests. The key lives in a file today; it moves into the signer process with the
// custody issue, behind this same interface.
class DigestSigner {
 public:
  virtual ~DigestSigner() = default;
  virtual const crypto::Ed25519Public& public_key() const = 0;
  virtual StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message) const = 0;
};

// The key file <data-dir>/audit-signing.key: the 32-byte Ed25519 seed as 64 lower-case hex
// characters and a newline, mode 0600.
class FileDigestSigner final : public DigestSigner {
 public:
  static constexpr std::string_view kFileName = "audit-signing.key";

  // Loads the key file, or creates it (fresh seed, mode 0600, written to a temporary file
  // and linked into place so concurrent starts agree on one key) when it is absent.
  // kFailedPrecondition if the file is readable or writable by group or others;
  // kInvalidArgument if it is malformed; kUnavailable / kInternal on I/O errors.
  static StatusOr<std::shared_ptr<FileDigestSigner>> LoadOrCreate(const std::string& data_dir);
  // As LoadOrCreate, but kNotFound when the file is absent (verification never creates keys).
  static StatusOr<std::shared_ptr<FileDigestSigner>> Load(const std::string& data_dir);
  // A signer over a given seed (tests, and the future signer-process bridge).
  static StatusOr<std::shared_ptr<FileDigestSigner>> FromSeed(ByteSpan seed);

  const crypto::Ed25519Public& public_key() const override { return public_key_; }
  StatusOr<crypto::Ed25519Signature> Sign(ByteSpan message) const override;

  FileDigestSigner(SecureBuffer seed, const crypto::Ed25519Public& public_key)
      : seed_(std::move(seed)), public_key_(public_key) {}

 private:
  SecureBuffer seed_;
  crypto::Ed25519Public public_key_;
};

struct AuditWriterOptions {
  // Most records in one transaction; the rest wait for the next one.
  size_t max_batch = 4096;
  // Appends beyond this many waiting records are refused with kUnavailable (back-pressure
  // when the store stalls), never queued without bound.
  size_t max_pending = 1 << 18;
  // A signed digest is written in the batch transaction that brings the undigested count
  // to at least this many, or when the last digest is older than digest_interval_ms (also
  // checked by a timer while idle).
  int64_t digest_every_records = 1000;
  int64_t digest_interval_ms = 60'000;
  // Stop() signs a final digest over whatever is left undigested.
  bool digest_on_stop = true;
  // Clock (Unix milliseconds); the system clock when empty.
  std::function<int64_t()> now_ms;
};

// Called once per Append with the record's seq once its transaction has COMMITTED (or with
// the error that kept it out of the log). Runs on the writer thread: keep it short and
// non-blocking (post the response to the I/O threads).
using AppendCallback = std::function<void(StatusOr<int64_t> seq)>;

// The single appender of one process. Request threads call Append; one writer thread takes
// everything queued, appends it in ONE write transaction that reads and advances the chain
// head (row audit_head, locked FOR UPDATE on PostgreSQL so several processes sharing one
// database extend one chain), commits, then resolves the callbacks. Records queued while a
// commit is in flight form the next batch (group commit: one fsync per batch).
class AuditWriter {
 public:
  // Makes sure the chain head row exists and starts the writer thread. db and signer must
  // outlive the writer. Errors from the store as returned by it.
  static StatusOr<std::unique_ptr<AuditWriter>> Start(store::Db& db,
                                                       std::shared_ptr<const DigestSigner> signer,
                                                       AuditWriterOptions options = {});
  ~AuditWriter();  // Stop()
  AuditWriter(const AuditWriter&) = delete;
  AuditWriter& operator=(const AuditWriter&) = delete;

  // Queues a record; `done` is always called exactly once: after commit with the seq, or
  // with kUnavailable (stopped, queue full, store failure; then the record is not in the
  // log). It may run synchronously on the caller's thread when the writer is stopped or full.
  void Append(AuditRecord record, AppendCallback done);
  // Append and block until committed. Never call it from inside an AppendCallback.
  StatusOr<int64_t> AppendAndWait(AuditRecord record);
  // Blocks until everything appended before the call is committed (or failed). Returns the
  // first store error since the previous Flush (records lost to it were reported to their
  // callbacks), else OK.
  Status Flush();
  // Commits what is queued, writes a final digest (options.digest_on_stop), joins the
  // writer thread. Later Appends fail with kUnavailable. Idempotent. Returns the first error
  // of the final commit / digest.
  Status Stop();

  // Counters for /metrics.
  struct Stats {
    uint64_t appended = 0;   // records committed
    uint64_t failed = 0;     // records refused or lost to a store error
    uint64_t batches = 0;    // write transactions committed
    uint64_t digests = 0;    // digests signed by this writer
  };
  Stats stats() const;

 private:
  struct Pending {
    AuditRecord record;
    AppendCallback done;
  };
  AuditWriter(store::Db& db, std::shared_ptr<const DigestSigner> signer, AuditWriterOptions options);
  void Run();
  int64_t Now() const;
  Status CommitBatch(const std::vector<Pending>& batch, std::vector<int64_t>& seqs);
  Status DigestIfDue(bool force);

  store::Db& db_;
  std::shared_ptr<const DigestSigner> signer_;
  AuditWriterOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;       // wakes the writer
  std::condition_variable done_cv_;  // wakes Flush()
  std::deque<Pending> queue_;        // guarded by mu_
  uint64_t enqueued_ = 0;            // guarded by mu_: records ever queued
  uint64_t finished_ = 0;            // guarded by mu_: records resolved (committed or failed)
  Status first_error_;               // guarded by mu_
  bool stopping_ = false;            // guarded by mu_
  bool stopped_ = false;             // guarded by mu_
  Status stop_status_;               // guarded by mu_
  Stats stats_;                      // guarded by mu_
  std::mutex stop_mu_;               // serializes Stop()
  std::thread thread_;
};

// Filters of GET /v1/audit/events; absent = any. Times: since_ms <= time_ms < until_ms.
struct AuditFilter {
  std::optional<std::string> principal;
  std::optional<std::string> action;
  std::optional<std::string> outcome;
  std::optional<int64_t> since_ms;
  std::optional<int64_t> until_ms;
};

enum class AuditOrder { kOldestFirst, kNewestFirst };

struct AuditPage {
  std::vector<AuditRecord> records;
  // Pass back as `cursor` for the next page; empty when this page is the last.
  std::optional<int64_t> next_cursor;
};

// Reads committed records straight from the store (never through the writer).
class AuditReader {
 public:
  static constexpr size_t kMaxLimit = 1000;
  explicit AuditReader(store::Db& db) : db_(db) {}

  // Records matching filter, ordered by seq, after (kOldestFirst) or before (kNewestFirst)
  // the cursor seq. kInvalidArgument if limit is 0 or above kMaxLimit, or cursor < 0.
  StatusOr<AuditPage> Query(const AuditFilter& filter, std::optional<int64_t> cursor, size_t limit,
                            AuditOrder order = AuditOrder::kOldestFirst) const;
  // One record by seq; kNotFound if there is none.
  StatusOr<AuditRecord> Get(int64_t seq) const;

 private:
  store::Db& db_;
};

// What the verifier found, in chain order (docs/audit_log.md, "Findings").
enum class FindingKind {
  kModified,            // a record's content or stored hash no longer matches the chain
  kDeleted,             // a record is missing (gap, or later records renumbered)
  kInserted,            // a record that is not part of the chain
  kReordered,           // a record stored at another position than the one it was chained at
  kTruncated,           // the log ends before the chain head / a digest says it should
  kDigestModified,      // a digest's fields no longer match its signature
  kDigestUntrustedKey,  // a digest signed by a key that is not trusted
  kDigestMissing,       // digest numbers or ranges have a gap or overlap
  kDigestMismatch,      // a valid digest disagrees with the chain (rewritten records)
  kHeadMismatch,        // the audit_head row disagrees with the records
};
std::string_view FindingKindName(FindingKind kind);  // "modified", "deleted", ...

struct Finding {
  FindingKind kind;
  int64_t seq = 0;        // the record pinpointed (0 when it is about a digest only)
  int64_t digest_no = 0;  // the digest concerned (0 when none)
  std::string message;
};

struct VerifyReport {
  bool ok() const { return findings.empty(); }
  int64_t records = 0;            // rows read
  int64_t digests = 0;            // digest rows read
  int64_t head_seq = 0;           // last seq of the verified chain
  ChainHash head_hash{};          // its hash
  int64_t last_digested_seq = 0;  // records up to here are covered by a valid signature
  int64_t unsigned_tail = 0;      // records after it: chained but not yet signed
  std::vector<crypto::Ed25519Public> trusted_keys;
  static constexpr size_t kMaxFindings = 100;
  std::vector<Finding> findings;  // the first is the first tampering in chain order
};

// Walks the whole chain and every digest in one read snapshot. Tampering is reported in
// the report (never as an error); errors are only for a store that cannot be read.
StatusOr<VerifyReport> Verify(store::Db& db, std::span<const crypto::Ed25519Public> trusted_keys);

// {"ok", "records", "digests", "headSeq", "headHash", "lastDigestedSeq", "unsignedTail",
//  "trustedKeys": [hex], "firstFinding": {...} | null, "findings": [{"kind","seq","digest","message"}]}
nlohmann::json VerifyReportToJson(const VerifyReport& report);

}  // namespace vp::audit
