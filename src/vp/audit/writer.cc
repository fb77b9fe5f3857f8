// AuditWriter: group commit of audit records onto the hash chain, and digest signing
// (docs/audit_log.md, sections 2 and 3.1).
#include <algorithm>
#include <chrono>
#include <future>
#include <optional>
#include <utility>

#include "vp/audit/audit.h"
#include "vp/audit/format.h"
#include "vp/audit/rows.h"

namespace vp::audit {
namespace {

using internal::Head;

// Rows per INSERT statement: 10 parameters each keeps a statement far below SQLite's and
// libpq's parameter limits while amortizing parsing and round trips.
constexpr size_t kRowsPerInsert = 64;

std::string InsertSql(size_t rows) {
  std::string sql = "INSERT INTO audit_records (";
  sql += internal::kRecordColumns;
  sql += ") VALUES ";
  size_t p = 1;
  for (size_t r = 0; r < rows; ++r) {
    sql += r == 0 ? "(" : ",(";
    for (size_t c = 0; c < internal::kRecordColumnCount; ++c) {
      if (c > 0) sql += ',';
      sql += '$';
      sql += std::to_string(p++);
    }
    sql += ')';
  }
  return sql;
}

const std::string& FullInsertSql() {
  static const std::string sql = InsertSql(kRowsPerInsert);
  return sql;
}

void AddRecordParams(store::Params& params, const AuditRecord& r, int64_t seq, const ChainHash& hash) {
  params.emplace_back(seq);
  params.emplace_back(r.time_ms);
  params.emplace_back(r.request_id);
  params.emplace_back(r.principal);
  params.emplace_back(r.action);
  params.emplace_back(r.resource);
  params.emplace_back(r.outcome);
  params.emplace_back(r.source_ip);
  params.emplace_back(r.details);
  params.emplace_back(Bytes(hash.begin(), hash.end()));
}

bool DigestDue(const Head& head, const AuditWriterOptions& options, int64_t now, bool force) {
  const int64_t undigested = head.seq - head.digested_seq;
  if (undigested <= 0) return false;
  return force || undigested >= options.digest_every_records || now - head.digest_time_ms >= options.digest_interval_ms;
}

// The unsigned digest over head.digested_seq+1 .. head.seq, or nothing when none is due.
StatusOr<std::optional<AuditDigest>> PrepareDigest(store::Conn& conn, const DigestSigner& signer,
                                                   const AuditWriterOptions& options, int64_t now, bool force,
                                                   const Head& head) {
  if (!DigestDue(head, options, now, force)) return std::optional<AuditDigest>{};
  AuditDigest d;
  d.digest_no = head.digest_no + 1;
  d.first_seq = head.digested_seq + 1;
  d.last_seq = head.seq;
  d.head_hash = head.hash;
  ASSIGN_OR_RETURN(store::Rows range,
                   conn.Query("SELECT MIN(time_ms), MAX(time_ms) FROM audit_records "
                              "WHERE seq >= $1 AND seq <= $2",
                              {store::Value(d.first_seq), store::Value(d.last_seq)}));
  d.first_time_ms = range.Int(0, 0);
  d.last_time_ms = range.Int(0, 1);
  d.created_ms = now;
  d.public_key = signer.public_key();
  return std::optional<AuditDigest>(d);
}

// Records a signed digest and moves head's digest fields (the caller writes head back).
Status RecordDigest(store::Conn& conn, const AuditDigest& d, Head& head) {
  std::string sql = "INSERT INTO audit_digests (";
  sql += internal::kDigestColumns;
  sql += ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
  RETURN_IF_ERROR(conn.Exec(sql, {store::Value(d.digest_no), store::Value(d.first_seq),
                                  store::Value(d.last_seq),
                                  store::Value(Bytes(d.head_hash.begin(), d.head_hash.end())),
                                  store::Value(d.first_time_ms), store::Value(d.last_time_ms),
                                  store::Value(d.created_ms),
                                  store::Value(Bytes(d.public_key.begin(), d.public_key.end())),
                                  store::Value(Bytes(d.signature.begin(), d.signature.end()))}));
  head.digest_no = d.digest_no;
  head.digested_seq = d.last_seq;
  head.digest_time_ms = d.created_ms;
  return OkStatus();
}

Status WriteHead(store::Conn& conn, const Head& head) {
  return conn.Exec(
      "UPDATE audit_head SET seq = $1, hash = $2, digest_no = $3, digested_seq = $4, "
      "digest_time_ms = $5 WHERE id = 1",
      {store::Value(head.seq), store::Value(Bytes(head.hash.begin(), head.hash.end())),
       store::Value(head.digest_no), store::Value(head.digested_seq),
       store::Value(head.digest_time_ms)});
}

void Resolve(const AppendCallback& done, StatusOr<int64_t> result) {
  if (!done) return;
  try {
    done(std::move(result));
  } catch (...) {
    // A callback must not take the writer thread down with it.
  }
}

}  // namespace

AuditWriter::AuditWriter(store::Db& db, std::shared_ptr<const DigestSigner> signer,
                         AuditWriterOptions options)
    : db_(db), signer_(std::move(signer)), options_(std::move(options)) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  if (options_.digest_every_records < 1) options_.digest_every_records = 1;
  if (options_.digest_interval_ms < 1) options_.digest_interval_ms = 1;
}

StatusOr<std::unique_ptr<AuditWriter>> AuditWriter::Start(store::Db& db,
                                                          std::shared_ptr<const DigestSigner> signer,
                                                          AuditWriterOptions options) {
  if (!signer) return InvalidArgumentError("audit: a digest signer is required");
  std::unique_ptr<AuditWriter> w(new AuditWriter(db, std::move(signer), std::move(options)));
  const int64_t now = w->Now();
  // The head row is created once; ON CONFLICT keeps concurrent first starts harmless.
  RETURN_IF_ERROR(db.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    return c.Exec(
        "INSERT INTO audit_head (id, seq, hash, digest_no, digested_seq, digest_time_ms) "
        "VALUES (1, 0, $1, 0, 0, $2) ON CONFLICT (id) DO NOTHING",
        {store::Value(Bytes(kGenesisHash.begin(), kGenesisHash.end())), store::Value(now)});
  }));
  w->thread_ = std::thread([p = w.get()] { p->Run(); });
  return w;
}

AuditWriter::~AuditWriter() { (void)Stop(); }

int64_t AuditWriter::Now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AuditWriter::Append(AuditRecord record, AppendCallback done) {
  if (record.time_ms == 0) record.time_ms = Now();
  NormalizeRecord(record);  // on the caller's thread: keeps the writer's critical path short
  record.seq = 0;
  record.hash = ChainHash{};
  Status refused;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      refused = UnavailableError("audit: the log is stopped");
    } else if (queue_.size() >= options_.max_pending) {
      refused = UnavailableError("audit: too many records waiting to be written");
    } else {
      queue_.push_back(Pending{std::move(record), std::move(done)});
      ++enqueued_;
    }
    if (!refused.ok()) ++stats_.failed;
  }
  if (!refused.ok()) {
    Resolve(done, refused);
    return;
  }
  cv_.notify_one();
}

StatusOr<int64_t> AuditWriter::AppendAndWait(AuditRecord record) {
  std::promise<StatusOr<int64_t>> promise;
  std::future<StatusOr<int64_t>> result = promise.get_future();
  Append(std::move(record), [&promise](StatusOr<int64_t> seq) { promise.set_value(std::move(seq)); });
  return result.get();
}

Status AuditWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_;
  done_cv_.wait(lock, [&] { return finished_ >= target; });
  Status s = std::move(first_error_);
  first_error_ = OkStatus();
  return s;
}

Status AuditWriter::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return stop_status_;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(mu_);
  stopped_ = true;
  return stop_status_;
}

AuditWriter::Stats AuditWriter::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

Status AuditWriter::CommitBatch(const std::vector<Pending>& batch, std::vector<int64_t>& seqs) {
  bool digest_due = false;
  Status s = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(Head head, internal::ReadHead(c, /*for_update=*/true));
    seqs.assign(batch.size(), 0);
    store::Params params;
    for (size_t start = 0; start < batch.size(); start += kRowsPerInsert) {
      const size_t n = std::min(kRowsPerInsert, batch.size() - start);
      params.clear();
      params.reserve(n * internal::kRecordColumnCount);
      for (size_t i = start; i < start + n; ++i) {
        const AuditRecord& r = batch[i].record;
        ++head.seq;
        head.hash = RecordHashAt(head.hash, r, head.seq);
        seqs[i] = head.seq;
        AddRecordParams(params, r, head.seq, head.hash);
      }
      RETURN_IF_ERROR(c.Exec(n == kRowsPerInsert ? FullInsertSql() : InsertSql(n), params));
    }
    digest_due = DigestDue(head, options_, Now(), /*force=*/false);
    return WriteHead(c, head);
  });
  // The digest is signed after the records' commit, outside the write transaction.
  if (s.ok() && digest_due) (void)DigestIfDue(/*force=*/false);  // retried at the next tick on failure
  return s;
}

// Prepares the digest in a read, signs it with no transaction open (the key may be in the
// signer process: holding the store's write lock across that round trip would stall every
// writer), then records it unless another writer digested meanwhile.
Status AuditWriter::DigestIfDue(bool force) {
  std::optional<AuditDigest> digest;
  RETURN_IF_ERROR(db_.Transact(store::TxMode::kRead, [&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(Head head, internal::ReadHead(c, /*for_update=*/false));
    ASSIGN_OR_RETURN(digest, PrepareDigest(c, *signer_, options_, Now(), force, head));
    return OkStatus();
  }));
  if (!digest) return OkStatus();
  ASSIGN_OR_RETURN(digest->signature, signer_->Sign(CanonicalDigest(*digest)));
  bool wrote = false;
  Status s = db_.Transact(store::TxMode::kWrite, [&](store::Conn& c) -> Status {
    wrote = false;
    ASSIGN_OR_RETURN(Head head, internal::ReadHead(c, /*for_update=*/true));
    if (head.digest_no != digest->digest_no - 1 || head.digested_seq != digest->first_seq - 1) return OkStatus();
    RETURN_IF_ERROR(RecordDigest(c, *digest, head));
    wrote = true;
    return WriteHead(c, head);
  });
  if (s.ok() && wrote) {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.digests;
  }
  return s;
}

void AuditWriter::Run() {
  using Clock = std::chrono::steady_clock;
  // The idle check runs several times per interval so a quiet log is signed about T after
  // its last record, not up to 2T.
  const auto tick = std::chrono::milliseconds(
      std::clamp<int64_t>(options_.digest_interval_ms / 4, 10, 15'000));
  auto next_tick = Clock::now() + tick;
  std::vector<Pending> batch;
  std::vector<int64_t> seqs;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (queue_.empty() && !stopping_) {
      cv_.wait_until(lock, next_tick, [&] { return !queue_.empty() || stopping_; });
    }
    if (queue_.empty()) {
      if (stopping_) break;
      if (Clock::now() >= next_tick) {
        lock.unlock();
        (void)DigestIfDue(/*force=*/false);  // a failure here is retried at the next tick
        lock.lock();
        next_tick = Clock::now() + tick;
      }
      continue;
    }
    const size_t n = std::min(options_.max_batch, queue_.size());
    batch.clear();
    batch.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();

    Status s = CommitBatch(batch, seqs);
    {
      // Counted before the callbacks run, so a caller woken by one sees its record counted.
      std::lock_guard<std::mutex> stats_lock(mu_);
      if (s.ok()) {
        stats_.appended += batch.size();
        ++stats_.batches;
      } else {
        stats_.failed += batch.size();
        if (first_error_.ok()) first_error_ = s;
        if (stop_status_.ok() && stopping_) stop_status_ = s;
      }
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      if (s.ok()) {
        Resolve(batch[i].done, seqs[i]);
      } else {
        Resolve(batch[i].done, UnavailableError("audit: record not written: " + s.ToString()));
      }
    }

    lock.lock();
    finished_ += batch.size();
    done_cv_.notify_all();
  }
  lock.unlock();
  if (options_.digest_on_stop) {
    Status s = DigestIfDue(/*force=*/true);
    lock.lock();
    if (!s.ok() && stop_status_.ok()) stop_status_ = s;
  }
}

}  // namespace vp::audit
