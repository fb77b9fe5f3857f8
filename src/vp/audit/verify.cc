// Verify: re-checks every digest and the whole hash chain, and tells modified, deleted,
// inserted and reordered records apart (docs/audit_log.md, section 4).
#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "vp/audit/audit.h"
#include "vp/audit/format.h"
#include "vp/audit/rows.h"

namespace vp::audit {
namespace {

constexpr int64_t kPageRows = 4096;
constexpr size_t kLookahead = 1024;     // how far a reordered record is searched for
constexpr size_t kMaxDisplaced = 64;    // records held back by reorder findings

std::string Str(int64_t v) { return std::to_string(v); }

struct DigestInfo {
  AuditDigest digest;
  bool valid = false;  // trusted key and good signature
};

// A finding plus the chain position it is ordered by.
struct Positioned {
  int64_t pos;
  Finding finding;
};

class Verifier {
 public:
  Verifier(store::Conn& conn, std::span<const crypto::Ed25519Public> trusted)
      : conn_(conn), trusted_(trusted.begin(), trusted.end()) {}

  StatusOr<VerifyReport> Run();

 private:
  void AddRecordFinding(FindingKind kind, int64_t seq, std::string message) {
    range_clean_ = false;
    if (record_findings_.size() < VerifyReport::kMaxFindings) {
      record_findings_.push_back({seq, Finding{kind, seq, 0, std::move(message)}});
    }
  }
  void AddDigestFinding(int64_t pos, FindingKind kind, int64_t seq, int64_t digest_no,
                        std::string message) {
    if (digest_findings_.size() < VerifyReport::kMaxFindings) {
      digest_findings_.push_back({pos, Finding{kind, seq, digest_no, std::move(message)}});
    }
  }

  Status LoadDigests();
  // Row i positions after the cursor, loading pages as needed; nullptr past the end.
  StatusOr<const AuditRecord*> Peek(size_t k);
  bool ChainsAt(const ChainHash& prev, const AuditRecord& r, int64_t seq, ChainHash* out = nullptr) const {
    const ChainHash h = RecordHashAt(prev, r, seq);
    if (out) *out = h;
    return h == r.hash;
  }
  // Takes hash as the chain hash of record seq (verified, or trusted to re-synchronize).
  void Accept(int64_t seq, const ChainHash& hash, int64_t time_ms);
  Status Walk(const internal::Head* head);

  store::Conn& conn_;
  std::vector<crypto::Ed25519Public> trusted_;
  VerifyReport report_;
  std::map<int64_t, DigestInfo> boundaries_;  // by last_seq
  std::vector<Positioned> record_findings_;
  std::vector<Positioned> digest_findings_;

  std::vector<AuditRecord> buf_;
  size_t pos_ = 0;
  int64_t loaded_through_ = 0;  // highest stored seq loaded
  bool exhausted_ = false;

  ChainHash prev_ = kGenesisHash;
  int64_t expected_ = 1;   // next seq in the original numbering
  int64_t offset_ = 0;     // stored seq minus original seq (after renumbering tampering)
  std::vector<AuditRecord> displaced_;
  std::set<int64_t> explained_;  // stored seqs already accepted at an earlier position

  // Time range of the records accepted since the last digest boundary, from range_start_.
  int64_t range_min_ = 0, range_max_ = 0, range_start_ = 0;
  bool range_empty_ = true, range_clean_ = true;
};

Status Verifier::LoadDigests() {
  std::string sql = "SELECT ";
  sql += internal::kDigestColumns;
  sql += " FROM audit_digests ORDER BY digest_no";
  ASSIGN_OR_RETURN(store::Rows rows, conn_.Query(sql));
  report_.digests = static_cast<int64_t>(rows.size());
  int64_t expected_no = 1, expected_first = 1;
  for (size_t i = 0; i < rows.size(); ++i) {
    DigestInfo info{internal::DigestFromRow(rows, i), false};
    const AuditDigest& d = info.digest;
    const std::string name = "digest " + Str(d.digest_no);
    const bool trusted =
        std::find(trusted_.begin(), trusted_.end(), d.public_key) != trusted_.end();
    if (!trusted) {
      AddDigestFinding(d.first_seq, FindingKind::kDigestUntrustedKey, 0, d.digest_no,
                       name + " is signed by key " + HexEncode(d.public_key) +
                           ", which is not trusted");
    } else if (d.last_seq < d.first_seq ||
               !crypto::Ed25519Verify(d.public_key, CanonicalDigest(d), d.signature)) {
      AddDigestFinding(d.first_seq, FindingKind::kDigestModified, 0, d.digest_no,
                       name + " (seq " + Str(d.first_seq) + ".." + Str(d.last_seq) +
                           ") does not match its signature: it was modified");
    } else {
      info.valid = true;
    }
    if (d.digest_no != expected_no) {
      AddDigestFinding(d.first_seq, FindingKind::kDigestMissing, 0, d.digest_no,
                       "digest numbers jump from " + Str(expected_no - 1) + " to " +
                           Str(d.digest_no) + ": digests were deleted");
    } else if (d.first_seq != expected_first) {
      AddDigestFinding(d.first_seq, FindingKind::kDigestMissing, 0, d.digest_no,
                       name + " starts at seq " + Str(d.first_seq) + " but the previous digest ends at " +
                           Str(expected_first - 1));
    }
    expected_no = d.digest_no + 1;
    expected_first = d.last_seq + 1;
    boundaries_[d.last_seq] = info;
  }
  return OkStatus();
}

StatusOr<const AuditRecord*> Verifier::Peek(size_t k) {
  while (pos_ + k >= buf_.size() && !exhausted_) {
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
    std::string sql = "SELECT ";
    sql += internal::kRecordColumns;
    sql += " FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT " + Str(kPageRows);
    ASSIGN_OR_RETURN(store::Rows rows, conn_.Query(sql, {store::Value(loaded_through_)}));
    for (size_t i = 0; i < rows.size(); ++i) buf_.push_back(internal::RecordFromRow(rows, i));
    report_.records += static_cast<int64_t>(rows.size());
    if (!rows.empty()) loaded_through_ = buf_.back().seq;
    if (static_cast<int64_t>(rows.size()) < kPageRows) exhausted_ = true;
  }
  if (pos_ + k >= buf_.size()) return static_cast<const AuditRecord*>(nullptr);
  return &buf_[pos_ + k];
}

void Verifier::Accept(int64_t seq, const ChainHash& hash, int64_t time_ms) {
  prev_ = hash;
  expected_ = seq + 1;
  if (range_empty_) {
    range_min_ = range_max_ = time_ms;
    range_start_ = seq;
    range_empty_ = false;
  } else {
    range_min_ = std::min(range_min_, time_ms);
    range_max_ = std::max(range_max_, time_ms);
  }
  auto it = boundaries_.find(seq);
  if (it == boundaries_.end()) return;
  const DigestInfo& info = it->second;
  const AuditDigest& d = info.digest;
  if (info.valid) {
    if (d.head_hash != hash) {
      AddDigestFinding(seq, FindingKind::kDigestMismatch, d.first_seq, d.digest_no,
                       "digest " + Str(d.digest_no) + " signed chain hash " + HexEncode(d.head_hash) +
                           " at seq " + Str(seq) + " but the records give " + HexEncode(hash) +
                           ": records " + Str(d.first_seq) + ".." + Str(seq) + " were rewritten");
    } else if (range_clean_ && range_start_ == d.first_seq &&
               (range_min_ != d.first_time_ms || range_max_ != d.last_time_ms)) {
      AddDigestFinding(seq, FindingKind::kDigestMismatch, d.first_seq, d.digest_no,
                       "digest " + Str(d.digest_no) + " signed the time range " + Str(d.first_time_ms) +
                           ".." + Str(d.last_time_ms) + " but records " + Str(d.first_seq) + ".." +
                           Str(seq) + " span " + Str(range_min_) + ".." + Str(range_max_));
    } else {
      report_.last_digested_seq = seq;
    }
  }
  range_empty_ = true;
  range_clean_ = true;
}

Status Verifier::Walk(const internal::Head* head) {
  for (;;) {
    // A record held back by an earlier reorder finding may be the one that belongs here.
    bool took_displaced = false;
    for (size_t j = 0; j < displaced_.size(); ++j) {
      if (ChainsAt(prev_, displaced_[j], expected_)) {
        Accept(expected_, displaced_[j].hash, displaced_[j].time_ms);
        displaced_.erase(displaced_.begin() + static_cast<std::ptrdiff_t>(j));
        took_displaced = true;
        break;
      }
    }
    if (took_displaced) continue;

    ASSIGN_OR_RETURN(const AuditRecord* rp, Peek(0));
    if (rp == nullptr) break;
    const AuditRecord r = *rp;
    const int64_t s = r.seq;
    if (explained_.erase(s) > 0) {  // accepted already, where it belonged
      ++pos_;
      continue;
    }
    const int64_t orig = s - offset_;
    const int64_t e = expected_;
    if (orig > e) {
      const std::string which = orig - 1 == e ? "record " + Str(e) + " is" : "records " + Str(e) + ".." + Str(orig - 1) + " are";
      AddRecordFinding(FindingKind::kDeleted, e, which + " missing (the log jumps from seq " +
                                                     Str(e - 1 + offset_) + " to " + Str(s) + ")");
      Accept(orig, r.hash, r.time_ms);  // re-synchronize on the stored hash
      ++pos_;
      continue;
    }
    if (orig < e) {  // only after a wrong renumbering guess
      AddRecordFinding(FindingKind::kInserted, s, "record " + Str(s) + " does not fit the chain");
      ++pos_;
      continue;
    }
    ChainHash recomputed;
    if (ChainsAt(prev_, r, e, &recomputed)) {
      Accept(e, r.hash, r.time_ms);
      ++pos_;
      continue;
    }

    // Record e does not chain from e-1: find out why from the records that follow.
    ASSIGN_OR_RETURN(const AuditRecord* n1p, Peek(1));
    if (n1p != nullptr) {
      const AuditRecord n1 = *n1p;
      if (ChainsAt(prev_, n1, e)) {  // the genuine record e comes one later
        if (ChainsAt(n1.hash, r, e + 1)) {
          AddRecordFinding(FindingKind::kReordered, s,
                           "records " + Str(s) + " and " + Str(n1.seq) + " are swapped");
          Accept(e, n1.hash, n1.time_ms);
          Accept(e + 1, r.hash, r.time_ms);
          pos_ += 2;
        } else {
          AddRecordFinding(FindingKind::kInserted, s,
                           "record " + Str(s) + " is not part of the chain: it was inserted "
                           "(the records after it were renumbered)");
          offset_ += 1;
          ++pos_;
        }
        continue;
      }
      if (ChainsAt(r.hash, n1, e + 1)) {
        AddRecordFinding(FindingKind::kModified, s,
                         "record " + Str(s) + " was modified: its fields no longer match its hash");
        Accept(e, r.hash, r.time_ms);
        ++pos_;
        continue;
      }
      if (ChainsAt(recomputed, n1, e + 1)) {
        AddRecordFinding(FindingKind::kModified, s,
                         "record " + Str(s) + " was modified: its stored hash was changed");
        Accept(e, recomputed, r.time_ms);
        ++pos_;
        continue;
      }
      if (ChainsAt(r.hash, n1, e + 2)) {  // r is the genuine e+1, renumbered down
        AddRecordFinding(FindingKind::kDeleted, e,
                         "record " + Str(e) + " is missing (the records after it were renumbered)");
        offset_ -= 1;
        Accept(e + 1, r.hash, r.time_ms);
        ++pos_;
        continue;
      }
      // The genuine record e further on: records were moved.
      bool moved = false;
      for (size_t k = 2; k <= kLookahead && displaced_.size() < kMaxDisplaced; ++k) {
        ASSIGN_OR_RETURN(const AuditRecord* wp, Peek(k));
        if (wp == nullptr) break;
        if (ChainsAt(prev_, *wp, e)) {
          const AuditRecord w = *wp;
          AddRecordFinding(FindingKind::kReordered, s,
                           "record " + Str(s) + " is out of place: the record chained at seq " +
                               Str(e) + " is stored at seq " + Str(w.seq));
          Accept(e, w.hash, w.time_ms);
          explained_.insert(w.seq);
          displaced_.push_back(r);
          ++pos_;
          moved = true;
          break;
        }
      }
      if (moved) continue;
    } else if (head != nullptr) {  // r is the last record: the head row is the witness
      if (orig > head->seq) {
        AddRecordFinding(FindingKind::kInserted, s,
                         "record " + Str(s) + " lies beyond the chain head (seq " + Str(head->seq) +
                             "): it was inserted");
        ++pos_;
        continue;
      }
      if (orig == head->seq && head->hash == recomputed) {
        AddRecordFinding(FindingKind::kModified, s,
                         "record " + Str(s) + " was modified: its stored hash was changed");
        Accept(e, recomputed, r.time_ms);
        ++pos_;
        continue;
      }
    }
    AddRecordFinding(FindingKind::kModified, s,
                     "record " + Str(s) + " does not chain from the record before it: it was "
                     "modified or replaced");
    Accept(e, r.hash, r.time_ms);
    ++pos_;
  }
  return OkStatus();
}

StatusOr<VerifyReport> Verifier::Run() {
  report_.trusted_keys = trusted_;
  RETURN_IF_ERROR(LoadDigests());

  std::optional<internal::Head> head;
  auto head_or = internal::ReadHead(conn_, /*for_update=*/false);
  if (head_or.ok()) {
    head = *head_or;
  } else if (head_or.status().code() != StatusCode::kFailedPrecondition) {
    return head_or.status();
  }

  RETURN_IF_ERROR(Walk(head ? &*head : nullptr));

  const int64_t last = expected_ - 1;
  report_.head_seq = last;
  report_.head_hash = prev_;
  bool tail_reported = false;
  if (!head) {
    if (report_.records > 0 || report_.digests > 0) {
      AddRecordFinding(FindingKind::kHeadMismatch, 0, "the audit_head row is missing or malformed");
    }
  } else if (head->seq > last) {
    tail_reported = true;
    if (head->seq == last + 1) {
      AddRecordFinding(FindingKind::kDeleted, last + 1,
                       "record " + Str(last + 1) + " is missing: the log ends at seq " + Str(last) +
                           " but the chain head is at " + Str(head->seq));
    } else {
      AddRecordFinding(FindingKind::kTruncated, last + 1,
                       "records " + Str(last + 1) + ".." + Str(head->seq) +
                           " are missing: the log ends at seq " + Str(last) +
                           " but the chain head is at " + Str(head->seq));
    }
  } else if (head->seq < last) {
    AddRecordFinding(FindingKind::kHeadMismatch, head->seq + 1,
                     "the chain head is at seq " + Str(head->seq) + " but the log continues to " + Str(last));
  } else if (head->hash != prev_) {
    AddRecordFinding(FindingKind::kHeadMismatch, last,
                     "the chain head's hash differs from the hash of record " + Str(last) +
                         ": the last records were rewritten, or the head was");
  }
  if (!boundaries_.empty()) {
    const AuditDigest& d = boundaries_.rbegin()->second.digest;
    if (d.last_seq > last && !tail_reported) {
      AddRecordFinding(FindingKind::kTruncated, last + 1,
                       "digest " + Str(d.digest_no) + " covers records up to seq " + Str(d.last_seq) +
                           " but the log ends at seq " + Str(last));
    }
  }
  report_.unsigned_tail = last - report_.last_digested_seq;

  std::vector<Positioned> all = std::move(record_findings_);
  all.insert(all.end(), digest_findings_.begin(), digest_findings_.end());
  std::stable_sort(all.begin(), all.end(),
                   [](const Positioned& a, const Positioned& b) { return a.pos < b.pos; });
  for (size_t i = 0; i < all.size() && i < VerifyReport::kMaxFindings; ++i) {
    report_.findings.push_back(std::move(all[i].finding));
  }
  return report_;
}

}  // namespace

std::string_view FindingKindName(FindingKind kind) {
  switch (kind) {
    case FindingKind::kModified: return "modified";
    case FindingKind::kDeleted: return "deleted";
    case FindingKind::kInserted: return "inserted";
    case FindingKind::kReordered: return "reordered";
    case FindingKind::kTruncated: return "truncated";
    case FindingKind::kDigestModified: return "digest_modified";
    case FindingKind::kDigestUntrustedKey: return "digest_untrusted_key";
    case FindingKind::kDigestMissing: return "digest_missing";
    case FindingKind::kDigestMismatch: return "digest_mismatch";
    case FindingKind::kHeadMismatch: return "head_mismatch";
  }
  return "unknown";
}

StatusOr<VerifyReport> Verify(store::Db& db, std::span<const crypto::Ed25519Public> trusted_keys) {
  std::optional<VerifyReport> result;
  RETURN_IF_ERROR(db.Transact(store::TxMode::kRead, [&](store::Conn& c) -> Status {
    Verifier v(c, trusted_keys);  // fresh state if the store re-runs this
    ASSIGN_OR_RETURN(VerifyReport r, v.Run());
    result = std::move(r);
    return OkStatus();
  }));
  if (!result) return InternalError("audit: verification produced no report");
  return std::move(*result);
}

nlohmann::json VerifyReportToJson(const VerifyReport& report) {
  auto finding_json = [](const Finding& f) {
    return nlohmann::json{{"kind", FindingKindName(f.kind)},
                          {"seq", f.seq},
                          {"digest", f.digest_no},
                          {"message", f.message}};
  };
  nlohmann::json keys = nlohmann::json::array();
  for (const auto& k : report.trusted_keys) keys.push_back(HexEncode(k));
  nlohmann::json findings = nlohmann::json::array();
  for (const auto& f : report.findings) findings.push_back(finding_json(f));
  return nlohmann::json{
      {"ok", report.ok()},
      {"records", report.records},
      {"digests", report.digests},
      {"headSeq", report.head_seq},
      {"headHash", HexEncode(report.head_hash)},
      {"lastDigestedSeq", report.last_digested_seq},
      {"unsignedTail", report.unsigned_tail},
      {"trustedKeys", std::move(keys)},
      {"firstFinding", report.findings.empty() ? nlohmann::json(nullptr) : finding_json(report.findings.front())},
      {"findings", std::move(findings)},
  };
}

}  // namespace vp::audit
