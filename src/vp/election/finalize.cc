// Finalization jobs, executions, bundles and server-side verification (finalize.h).
#include "vp/election/finalize.h"

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/bundle.h"
#include "vp/ballot/election.h"
#include "vp/ballot/simulate.h"
#include "vp/ballot/tally.h"
#include "vp/crypto/random.h"
#include "vp/prover/segment_request.h"
#include "vp/prover/tally_job.h"
#include "vp/stark/proof.h"
#include "vp/store/jobs.h"

namespace vp::election {
namespace {

using nlohmann::json;
using store::Conn;
using store::TxMode;
using store::Value;

constexpr const char* kExecColumns =
    "id, session_id, election_id, scenario, state, job_id, result, error, verification, created_at, "
    "started_at, finished_at";

Status Refusal(std::string_view code, const std::string& why, StatusCode status) {
  return Status(status, std::string(code) + ": " + why);
}

Execution ExecFromRow(const store::Rows& r, size_t i) {
  Execution e;
  e.id = r.Text(i, 0);
  e.session_id = r.Text(i, 1);
  e.election_id = r.Text(i, 2);
  e.scenario = r.Text(i, 3);
  e.state = r.Text(i, 4);
  e.job_id = r.Int(i, 5);
  e.result = r.Text(i, 6);
  e.error = r.Text(i, 7);
  e.verification = r.Text(i, 8);
  e.created_ms = r.Int(i, 9);
  if (!r.IsNull(i, 10)) e.started_ms = r.Int(i, 10);
  if (!r.IsNull(i, 11)) e.finished_ms = r.Int(i, 11);
  return e;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool Active(const Execution& e) { return e.state == "queued" || e.state == "running"; }

std::string BundleKey(const Execution& e) { return e.election_id + "/" + e.id + "/bundle.zip"; }
std::string SegmentInputKey(const Execution& e, uint64_t k) {
  return e.election_id + "/" + e.id + "/input-" + std::to_string(k) + ".json";
}
std::string SegmentProofKey(const Execution& e, uint64_t k) {
  return e.election_id + "/" + e.id + "/proof-" + std::to_string(k) + ".bin";
}

// The operator's plan travels from the finalize job to the assembly in the execution's row.
json PlanToJson(const ballot::OperatorPlan& p) {
  json j = {{"scenario", std::string(ballot::ScenarioName(p.scenario))},
            {"detail", p.detail},
            {"expectedFailures", p.expected_failures},
            {"recount", p.recount},
            {"falseJournal", p.false_journal}};
  if (p.excluded_leaf) j["excludedLeaf"] = *p.excluded_leaf;
  return j;
}

StatusOr<ballot::OperatorPlan> PlanFromJson(const json& j) {
  if (!j.is_object() || !j.contains("scenario") || !j["scenario"].is_string() || !j.contains("detail") ||
      !j["detail"].is_string() || !j.contains("expectedFailures") || !j["expectedFailures"].is_array() ||
      !j.contains("recount") || !j["recount"].is_boolean() || !j.contains("falseJournal") ||
      !j["falseJournal"].is_boolean()) {
    return InvalidArgumentError("plan: malformed");
  }
  ballot::OperatorPlan p;
  ASSIGN_OR_RETURN(p.scenario, ballot::ParseScenario(j["scenario"].get<std::string>()));
  p.detail = j["detail"].get<std::string>();
  for (const json& f : j["expectedFailures"]) {
    if (!f.is_string()) return InvalidArgumentError("plan: malformed expectedFailures");
    p.expected_failures.push_back(f.get<std::string>());
  }
  p.recount = j["recount"].get<bool>();
  p.false_journal = j["falseJournal"].get<bool>();
  if (j.contains("excludedLeaf")) {
    if (!j["excludedLeaf"].is_number_unsigned()) return InvalidArgumentError("plan: malformed excludedLeaf");
    p.excluded_leaf = j["excludedLeaf"].get<uint64_t>();
  }
  return p;
}

}  // namespace

unsigned ProverThreads(unsigned cores, unsigned running) {
  return std::max(1u, std::max(1u, cores) / std::max(1u, running));
}

FinalizeService::FinalizeService(store::Db& db, ElectionService& elections, objects::ObjectStore& objects,
                                 std::shared_ptr<const LogSigner> log_key, FinalizeOptions options)
    : db_(db), elections_(elections), objects_(objects), log_key_(std::move(log_key)), options_(std::move(options)) {
  if (options_.prover_sessions && !options_.image.binary_path.empty()) {
    sessions_ = std::make_unique<prover::ProverSessionPool>(options_.image, options_.run.env,
                                                             options_.prover_idle_exit_ms);
  }
}

Status FinalizeService::RegisterHandler(store::WorkerPool& pool, std::vector<std::string_view> queues) {
  if (queues.empty()) queues = {kFinalizeQueue, kSegmentQueue, kAssembleQueue};
  if (pool_ == nullptr) pool_ = &pool;
  for (const std::string_view q : queues) {
    store::JobHandler handler;
    if (q == kFinalizeQueue) {
      handler = [this](store::JobContext& job) { return Run(job); };
    } else if (q == kSegmentQueue) {
      handler = [this](store::JobContext& job) { return RunSegment(job); };
    } else if (q == kAssembleQueue) {
      handler = [this](store::JobContext& job) { return RunAssemble(job); };
    } else {
      return InvalidArgumentError("no finalization queue named " + std::string(q));
    }
    RETURN_IF_ERROR(pool.Register(std::string(q), std::move(handler)));
  }
  return OkStatus();
}

StatusOr<Execution> FinalizeService::Start(const SessionContext& ctx, std::string_view scenario, int64_t now_ms) {
  if (!ballot::ParseScenario(scenario).ok()) {
    return Refusal(kInvalidScenario, "scenarioId must be S0, S1, S2, S3, S4 or S5", StatusCode::kInvalidArgument);
  }
  if (!ctx.session.voted) return Refusal(kNotVoted, "this session has not voted yet", StatusCode::kFailedPrecondition);
  Execution e;
  ASSIGN_OR_RETURN(e.id, crypto::RandomUuid());
  e.session_id = ctx.session.id;
  e.election_id = ctx.election.id;
  e.scenario = std::string(scenario);
  e.state = "queued";
  e.created_ms = now_ms;
  const Status s = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto el, c.Query("SELECT state FROM ballot_elections WHERE id = $1" +
                                          std::string(c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : ""),
                                      {Value(e.election_id)}));
    if (el.empty()) return NotFoundError("election not found");
    if (el.Text(0, 0) == "finalized") {
      return Refusal(kSessionFinalized, "this election is finalized", StatusCode::kFailedPrecondition);
    }
    ASSIGN_OR_RETURN(auto active, c.Query("SELECT id FROM ballot_executions WHERE election_id = $1 AND state IN "
                                          "('queued', 'running')",
                                          {Value(e.election_id)}));
    if (!active.empty()) {
      return Refusal(kFinalizeInProgress, "execution " + active.Text(0, 0) + " is under way",
                     StatusCode::kFailedPrecondition);
    }
    store::JobOptions jo;
    jo.max_attempts = 2;  // a crashed worker's job runs once more
    ASSIGN_OR_RETURN(e.job_id, store::JobQueue::Enqueue(c, kFinalizeQueue, json{{"executionId", e.id}}.dump(), jo, now_ms));
    return c.Exec("INSERT INTO ballot_executions (" + std::string(kExecColumns) +
                      ") VALUES ($1, $2, $3, $4, 'queued', $5, '', '', '', $6, NULL, NULL)",
                  {Value(e.id), Value(e.session_id), Value(e.election_id), Value(e.scenario), Value(e.job_id),
                   Value(now_ms)});
  });
  RETURN_IF_ERROR(s);
  if (pool_ != nullptr) pool_->Notify();
  return e;
}

StatusOr<Execution> FinalizeService::Get(const std::string& execution_id) {
  Execution out;
  const Status s = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT " + std::string(kExecColumns) + " FROM ballot_executions WHERE id = $1",
                                     {Value(execution_id)}));
    if (r.empty()) return NotFoundError("execution not found");
    out = ExecFromRow(r, 0);
    return OkStatus();
  });
  RETURN_IF_ERROR(s);
  return out;
}

StatusOr<Execution> FinalizeService::Latest(const std::string& session_id) {
  Execution out;
  const Status s = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT " + std::string(kExecColumns) +
                                         " FROM ballot_executions WHERE session_id = $1 ORDER BY created_at DESC, id "
                                         "LIMIT 1",
                                     {Value(session_id)}));
    if (r.empty()) return NotFoundError("this session has no finalization");
    out = ExecFromRow(r, 0);
    return OkStatus();
  });
  RETURN_IF_ERROR(s);
  return out;
}

StatusOr<Execution> FinalizeService::WaitFor(const std::string& execution_id, int64_t timeout_ms) {
  const int64_t until = NowMs() + timeout_ms;
  for (;;) {
    ASSIGN_OR_RETURN(Execution e, Get(execution_id));
    if (!Active(e) || NowMs() >= until) return e;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

json FinalizeService::StatusJson(const Execution& e, int64_t now_ms) {
  json out = {{"executionId", e.id},
              {"statusUrl", "/api/sessions/" + e.session_id + "/status"},
              {"state", e.state},
              {"scenario", e.scenario},
              {"createdAt", e.created_ms}};
  if (e.started_ms) out["startedAt"] = *e.started_ms;
  if (e.finished_ms) out["finishedAt"] = *e.finished_ms;
  if (e.state == "queued") {
    // Position: queued finalizations created before this one, plus one; the estimate uses
    // the mean duration of the last finished ones (1 s when there are none).
    int64_t ahead = 0, depth = 0, mean_ms = 1000;
    (void)db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
      ASSIGN_OR_RETURN(auto a, c.Query("SELECT COUNT(*) FROM ballot_executions WHERE state IN ('queued', 'running') "
                                       "AND (created_at < $1 OR (created_at = $1 AND id < $2))",
                                       {Value(e.created_ms), Value(e.id)}));
      ahead = a.Int(0, 0);
      ASSIGN_OR_RETURN(auto d, c.Query("SELECT COUNT(*) FROM ballot_executions WHERE state IN ('queued', 'running')"));
      depth = d.Int(0, 0);
      ASSIGN_OR_RETURN(auto m, c.Query("SELECT started_at, finished_at FROM ballot_executions WHERE state = "
                                       "'succeeded' ORDER BY finished_at DESC LIMIT 20"));
      int64_t total = 0;
      for (size_t i = 0; i < m.size(); ++i) total += m.Int(i, 1) - m.Int(i, 0);
      if (m.size() > 0) mean_ms = std::max<int64_t>(1, total / static_cast<int64_t>(m.size()));
      return OkStatus();
    });
    out["queue"] = {{"position", ahead + 1}, {"depth", depth}, {"estimatedStartAt", now_ms + ahead * mean_ms}};
  }
  if (e.state == "running") {
    // Segments proven so far (none listed until the finalize job has queued them).
    (void)db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
      ASSIGN_OR_RETURN(auto r, c.Query("SELECT COUNT(*), COALESCE(SUM(CASE WHEN state = 'proven' THEN 1 ELSE 0 END), 0)"
                                       " FROM ballot_segments WHERE execution_id = $1",
                                       {Value(e.id)}));
      out["progress"] = {{"segments", r.Int(0, 0)}, {"segmentsProven", r.Int(0, 1)}};
      return OkStatus();
    });
  }
  if (!e.result.empty()) {
    auto r = json::parse(e.result, nullptr, false);
    if (!r.is_discarded()) out["result"] = r;
  }
  if (!e.error.empty()) out["error"] = e.error;
  return out;
}

StatusOr<Execution> FinalizeService::Cancel(const SessionContext& ctx, int64_t now_ms) {
  auto latest = Latest(ctx.session.id);
  if (!latest.ok() && latest.status().code() != StatusCode::kNotFound) return latest.status();
  const Execution e = latest.ok() ? *latest : Execution{};
  if (!Active(e)) return Refusal(kNotFinalized, "no finalization of this session is under way", StatusCode::kFailedPrecondition);
  store::JobQueue jobs(db_);
  std::vector<int64_t> job_ids = {e.job_id};
  const Status listed = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT job_id FROM ballot_segments WHERE execution_id = $1 AND state = 'queued'",
                                     {Value(e.id)}));
    for (size_t i = 0; i < r.size(); ++i) job_ids.push_back(r.Int(i, 0));
    return OkStatus();
  });
  RETURN_IF_ERROR(listed);
  for (const int64_t job_id : job_ids) {
    // A finished job (kFailedPrecondition) is fine; a running prover learns of the
    // cancellation at its next heartbeat.
    const Status c = jobs.Cancel(job_id, now_ms);
    if (!c.ok() && c.code() != StatusCode::kFailedPrecondition && c.code() != StatusCode::kNotFound) return c;
  }
  RETURN_IF_ERROR(Finish(e.id, "cancelled", "", "CANCELLED: cancelled by the voter", now_ms));
  return Get(e.id);
}

Status FinalizeService::Finish(const std::string& id, std::string_view state, const std::string& result,
                               const std::string& error, int64_t now_ms) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    // A cancelled execution stays cancelled whatever its job does afterwards.
    return c.Exec("UPDATE ballot_executions SET state = $1, result = $2, error = $3, finished_at = $4 WHERE id = $5 "
                  "AND state IN ('queued', 'running')",
                  {Value(state), Value(result), Value(error), Value(now_ms), Value(id)});
  });
}

store::JobResult FinalizeService::Run(store::JobContext& job) {
  const json payload = json::parse(job.job().payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("executionId") || !payload["executionId"].is_string()) {
    return store::JobResult::Permanent("malformed finalize payload");
  }
  const std::string id = payload["executionId"].get<std::string>();
  auto loaded = Get(id);
  if (!loaded.ok()) return store::JobResult::Permanent(loaded.status().message());
  Execution e = *loaded;
  if (!Active(e)) return store::JobResult::Success("execution already " + e.state);
  std::string queued_before;
  const Status looked = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT assembly FROM ballot_executions WHERE id = $1", {Value(id)}));
    if (!r.empty()) queued_before = r.Text(0, 0);
    return OkStatus();
  });
  if (!looked.ok()) return store::JobResult::Retry(looked.message());
  // An earlier run queued the segments and died before it could say so.
  if (!queued_before.empty()) return store::JobResult::Success("segments already queued");
  const Status started = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    return c.Exec("UPDATE ballot_executions SET state = 'running', started_at = $1 WHERE id = $2 AND state IN "
                  "('queued', 'running')",
                  {Value(NowMs()), Value(id)});
  });
  if (!started.ok()) return store::JobResult::Retry(started.message());

  auto fail = [&](const std::string& error, bool permanent) {
    if (permanent || job.job().attempts >= job.job().max_attempts) (void)Finish(id, "failed", "", error, NowMs());
    return permanent ? store::JobResult::Permanent(error) : store::JobResult::Retry(error);
  };
  auto stop = [&] { return job.cancelled() || job.lease_lost(); };

  // The election, its leaves and the voter's place among them.
  auto election = elections_.GetElection(e.election_id);
  if (!election.ok()) return fail("INTERNAL: " + election.status().message(), false);
  auto config = ballot::ParseElectionConfig(election->config_json);
  if (!config.ok()) return fail("INTERNAL: " + config.status().message(), true);
  auto input = elections_.TallyInputOf(e.election_id);
  if (!input.ok()) return fail("INTERNAL: " + input.status().message(), false);
  int64_t voter_index = -1;
  std::vector<uint64_t> bots;
  const Status q = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT l.idx FROM ballot_sessions s JOIN ballot_leaves l ON l.vote_id = s.vote_id "
                                     "WHERE s.id = $1",
                                     {Value(e.session_id)}));
    if (!r.empty()) voter_index = r.Int(0, 0);
    if (e.scenario != "S3") return OkStatus();  // only S3 drops a bot's vote
    ASSIGN_OR_RETURN(auto b, c.Query("SELECT idx FROM ballot_leaves WHERE election_id = $1 AND is_bot = 1 ORDER BY idx",
                                     {Value(e.election_id)}));
    for (size_t i = 0; i < b.size(); ++i) bots.push_back(static_cast<uint64_t>(b.Int(i, 0)));
    return OkStatus();
  });
  if (!q.ok()) return fail("INTERNAL: " + q.message(), false);
  if (voter_index < 0) return fail("NOT_VOTED: the session's vote is not on the board (the session expired?)", true);
  if (stop()) return store::JobResult::Permanent("cancelled");

  // The scenario. S3 drops a bot's leaf from the tree the operator proves and closes.
  const ballot::Scenario scenario = *ballot::ParseScenario(e.scenario);
  std::string dropped;
  std::optional<uint64_t> dropped_index;
  if (scenario == ballot::Scenario::kS3) {
    if (bots.empty()) return fail("INVALID_SCENARIO: S3 drops a bot's vote and this election has no bots", true);
    uint8_t r[8];
    if (!crypto::RandomBytes(std::span<uint8_t>(r)).ok()) return fail("INTERNAL: no randomness", false);
    uint64_t x = 0;
    for (const uint8_t b : r) x = (x << 8) | b;
    dropped_index = bots[x % bots.size()];
    input->leaves.erase(input->leaves.begin() + static_cast<std::ptrdiff_t>(*dropped_index));
    dropped = "the bot vote at bulletin index " + std::to_string(*dropped_index);
  }
  const uint64_t my_index = static_cast<uint64_t>(voter_index) -
                            (dropped_index && *dropped_index < static_cast<uint64_t>(voter_index) ? 1 : 0);
  auto plan = ballot::PlanScenario(scenario, input->leaves.size(), my_index, std::nullopt, dropped);
  if (!plan.ok()) return fail("INTERNAL: " + plan.status().message(), true);
  if (plan->excluded_leaf) input->leaves[static_cast<size_t>(*plan->excluded_leaf)].excluded = true;

  // The close statement: the log's latest head, or for S3 a head the operator signs over the
  // tree without the dropped leaf.
  ballot::SignedSth close;
  if (dropped_index) {
    ballot::BulletinTree tree;
    for (const auto& l : input->leaves) tree.Append(l.commitment);
    close.sth.log_id = config->log_id;
    close.sth.tree_size = tree.size();
    close.sth.timestamp_ms = static_cast<uint64_t>(NowMs());
    close.sth.root = tree.Root();
    auto sig = log_key_->Sign(ballot::SthMessage(close.sth));
    if (!sig.ok()) return fail("SIGNER_UNAVAILABLE: " + sig.status().message(), false);
    std::copy(sig->begin(), sig->end(), close.signature.begin());
  } else {
    auto head = elections_.LatestSth(e.election_id);
    if (!head.ok()) return fail("INTERNAL: " + head.status().message(), false);
    if (head->sth.tree_size != input->leaves.size()) {
      return fail("INTERNAL: the latest signed head does not cover every leaf", false);
    }
    close = *head;
  }

  // The statement the segments must prove, each segment's witness sealed in the object store
  // and one job per segment (docs/tally_proof.md, "Segments as jobs"): any worker of any
  // gateway sharing the store takes them; the last one to finish queues the assembly.
  input->max_segment_leaves = options_.max_segment_leaves;
  input->block_leaves = options_.block_leaves;
  if (!options_.image.binary_path.empty()) {
    // Checked here too, so an unsigned image fails the execution before any work is queued.
    const Status image = prover::CheckProverImage(options_.image);
    if (!image.ok()) return fail(image.message(), true);
  }
  auto statement = ballot::BuildTallyStatement(*input);
  if (!statement.ok()) return fail("PROVER_FAILED: " + statement.status().message(), true);
  const size_t segments = statement->segments.size();
  for (size_t k = 0; k < segments; ++k) {
    const ballot::SegmentStatement& seg = statement->segments[k];
    prover::ProverInput part;
    part.election_id = input->election_id;
    part.config_hash = input->config_hash;
    part.num_choices = input->num_choices;
    part.offset = seg.offset;
    for (const ballot::BlockRoot& b : seg.blocks) part.blocks.push_back(b.size);
    part.leaves.assign(input->leaves.begin() + static_cast<std::ptrdiff_t>(seg.offset),
                       input->leaves.begin() + static_cast<std::ptrdiff_t>(seg.offset + seg.size));
    std::string text = prover::EncodeProverInput(part);
    objects::PutOptions po;
    po.content_type = "application/json";
    po.expires_ms = NowMs() + options_.object_ttl_ms;
    po.seal_key = &options_.seal_key;
    const Status put = objects_.Put(kPrivateBucket, SegmentInputKey(e, k), AsBytes(text), po);
    SecureWipe(text.data(), text.size());
    for (auto& l : part.leaves) SecureWipe(l.random.data(), l.random.size());
    if (!put.ok()) return fail("INTERNAL: " + put.message(), false);
  }
  for (auto& l : input->leaves) SecureWipe(l.random.data(), l.random.size());
  json assembly = {{"statement", ballot::StatementToJson(*statement)},
                   {"close", ballot::SignedSthToJson(close)},
                   {"plan", PlanToJson(*plan)},
                   {"provingSince", NowMs()}};
  if (dropped_index) assembly["droppedIndex"] = *dropped_index;
  const Status queued = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT state, assembly FROM ballot_executions WHERE id = $1" +
                                         std::string(c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : ""),
                                     {Value(id)}));
    // Cancelled meanwhile, or queued by an earlier run of this job that died before its end.
    if (r.empty() || r.Text(0, 0) != "running" || !r.Text(0, 1).empty()) return OkStatus();
    RETURN_IF_ERROR(c.Exec("UPDATE ballot_executions SET assembly = $1 WHERE id = $2", {Value(assembly.dump()), Value(id)}));
    for (size_t k = 0; k < segments; ++k) {
      store::JobOptions jo;
      jo.max_attempts = 3;
      jo.backoff_base_ms = 500;
      ASSIGN_OR_RETURN(int64_t job_id,
                       store::JobQueue::Enqueue(c, kSegmentQueue, json{{"executionId", id}, {"segment", k}}.dump(), jo,
                                                NowMs()));
      RETURN_IF_ERROR(c.Exec("INSERT INTO ballot_segments (execution_id, idx, seg_offset, seg_size, state, job_id,"
                             " prove_ms, worker, proven_at) VALUES ($1, $2, $3, $4, 'queued', $5, 0, '', NULL)",
                             {Value(id), Value(static_cast<int64_t>(k)),
                              Value(static_cast<int64_t>(statement->segments[k].offset)),
                              Value(static_cast<int64_t>(statement->segments[k].size)), Value(job_id)}));
    }
    return OkStatus();
  });
  if (!queued.ok()) return fail("INTERNAL: " + queued.message(), false);
  if (pool_ != nullptr) pool_->Notify();
  return store::JobResult::Success(json{{"segments", segments}}.dump());
}

// One segment: its sealed witness through the prover (the signed image, or this process when
// none is configured), the proof checked against the statement the witness gives, stored;
// the last segment of the execution queues the assembly in the same store transaction.
store::JobResult FinalizeService::RunSegment(store::JobContext& job) {
  const json payload = json::parse(job.job().payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("executionId") || !payload["executionId"].is_string() ||
      !payload.contains("segment") || !payload["segment"].is_number_unsigned()) {
    return store::JobResult::Permanent("malformed segment payload");
  }
  const std::string id = payload["executionId"].get<std::string>();
  const uint64_t k = payload["segment"].get<uint64_t>();
  auto loaded = Get(id);
  if (!loaded.ok()) return store::JobResult::Permanent(loaded.status().message());
  const Execution e = *loaded;
  if (!Active(e)) return store::JobResult::Success("execution already " + e.state);
  std::string state;
  const Status q = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT state FROM ballot_segments WHERE execution_id = $1 AND idx = $2",
                                     {Value(id), Value(static_cast<int64_t>(k))}));
    if (!r.empty()) state = r.Text(0, 0);
    return OkStatus();
  });
  if (!q.ok()) return store::JobResult::Retry(q.message());
  if (state.empty()) return store::JobResult::Permanent("no segment " + std::to_string(k) + " in execution " + id);
  if (state == "proven") return store::JobResult::Success("segment already proven");
  auto fail = [&](const std::string& error, bool permanent) {
    if (permanent || job.job().attempts >= job.job().max_attempts) (void)Finish(id, "failed", "", error, NowMs());
    return permanent ? store::JobResult::Permanent(error) : store::JobResult::Retry(error);
  };
  auto stop = [&] { return job.cancelled() || job.lease_lost(); };

  auto sealed = objects_.Get(kPrivateBucket, SegmentInputKey(e, k), &options_.seal_key);
  if (!sealed.ok()) return fail("INTERNAL: segment input: " + sealed.status().message(), false);
  const std::string_view text(reinterpret_cast<const char*>(sealed->data()), sealed->size());
  auto witness = prover::DecodeProverInput(text);
  if (!witness.ok()) {
    SecureWipe(sealed->data(), sealed->size());
    return fail("INTERNAL: segment input: " + witness.status().message(), true);
  }
  auto wipe = [&] {
    SecureWipe(sealed->data(), sealed->size());
    for (auto& l : witness->leaves) SecureWipe(l.random.data(), l.random.size());
  };
  // The proof is checked against the segment's statement recomputed from the witness (a
  // prover image that answers anything else is caught), and the assembly checks every
  // segment against the whole statement again.
  const auto t0 = std::chrono::steady_clock::now();
  prover::ProverRunOptions run = options_.run;
  run.should_stop = stop;
  run.sessions = sessions_.get();
  // The image's thread count, unless the configuration sets one: the cores split among the
  // segment jobs proving on this host right now.
  const unsigned running = running_provers_.fetch_add(1) + 1;
  struct Leave {
    std::atomic<unsigned>& n;
    ~Leave() { n.fetch_sub(1); }
  } leave{running_provers_};
  const bool configured = std::any_of(run.env.begin(), run.env.end(), [](const std::string& var) {
    return var.rfind("OMP_NUM_THREADS=", 0) == 0;
  });
  if (!configured) {
    run.threads = ProverThreads(std::thread::hardware_concurrency(), running);
  }
  StatusOr<Bytes> proof = prover::ProveSegmentInput(*witness, *sealed, options_.image, run);
  wipe();
  const int64_t prove_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  if (stop()) return store::JobResult::Retry("stopped");
  if (!proof.ok()) {
    const std::string& m = proof.status().message();
    const bool image = m.rfind(std::string(prover::kImageSignatureFailed), 0) == 0;
    return fail(image ? m : "PROVER_FAILED: " + m, image || proof.status().code() == StatusCode::kInvalidArgument);
  }
  objects::PutOptions po;
  po.expires_ms = NowMs() + options_.object_ttl_ms;
  const Status put = objects_.Put(kWorkBucket, SegmentProofKey(e, k), *proof, po);
  if (!put.ok()) return fail("INTERNAL: " + put.message(), false);

  bool last = false;
  const Status recorded = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT state FROM ballot_executions WHERE id = $1" +
                                         std::string(c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : ""),
                                     {Value(id)}));
    if (r.empty() || r.Text(0, 0) != "running") return OkStatus();
    ASSIGN_OR_RETURN(auto u, c.Query("UPDATE ballot_segments SET state = 'proven', prove_ms = $1, worker = $2,"
                                     " proven_at = $3 WHERE execution_id = $4 AND idx = $5 AND state = 'queued'",
                                     {Value(prove_ms), Value(job.job().worker_id), Value(NowMs()), Value(id),
                                      Value(static_cast<int64_t>(k))}));
    if (u.affected != 1) return OkStatus();
    ASSIGN_OR_RETURN(auto left, c.Query("SELECT COUNT(*) FROM ballot_segments WHERE execution_id = $1 AND state <> 'proven'",
                                        {Value(id)}));
    if (left.Int(0, 0) != 0) return OkStatus();
    store::JobOptions jo;
    jo.max_attempts = 2;
    RETURN_IF_ERROR(store::JobQueue::Enqueue(c, kAssembleQueue, json{{"executionId", id}}.dump(), jo, NowMs()).status());
    last = true;
    return OkStatus();
  });
  if (!recorded.ok()) return fail("INTERNAL: " + recorded.message(), false);
  if (last && pool_ != nullptr) pool_->Notify();
  return store::JobResult::Success(json{{"segment", k}, {"proveMs", prove_ms}}.dump());
}

// The segments' proofs checked together against the whole statement, the bundle written with
// the scenario's after-proving part, the election closed and the result published.
store::JobResult FinalizeService::RunAssemble(store::JobContext& job) {
  const json payload = json::parse(job.job().payload, nullptr, false);
  if (!payload.is_object() || !payload.contains("executionId") || !payload["executionId"].is_string()) {
    return store::JobResult::Permanent("malformed assemble payload");
  }
  const std::string id = payload["executionId"].get<std::string>();
  auto loaded = Get(id);
  if (!loaded.ok()) return store::JobResult::Permanent(loaded.status().message());
  const Execution e = *loaded;
  if (!Active(e)) return store::JobResult::Success("execution already " + e.state);
  auto fail = [&](const std::string& error, bool permanent) {
    if (permanent || job.job().attempts >= job.job().max_attempts) (void)Finish(id, "failed", "", error, NowMs());
    return permanent ? store::JobResult::Permanent(error) : store::JobResult::Retry(error);
  };
  std::string assembly_text;
  std::vector<int64_t> segment_ms;
  std::set<std::string> workers;
  const Status q = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto r, c.Query("SELECT assembly FROM ballot_executions WHERE id = $1", {Value(id)}));
    if (!r.empty()) assembly_text = r.Text(0, 0);
    ASSIGN_OR_RETURN(auto s, c.Query("SELECT prove_ms, worker FROM ballot_segments WHERE execution_id = $1 ORDER BY idx",
                                     {Value(id)}));
    for (size_t i = 0; i < s.size(); ++i) {
      segment_ms.push_back(s.Int(i, 0));
      workers.insert(s.Text(i, 1));
    }
    return OkStatus();
  });
  if (!q.ok()) return fail("INTERNAL: " + q.message(), false);
  const json assembly = json::parse(assembly_text, nullptr, false);
  if (!assembly.is_object() || !assembly.contains("statement") || !assembly.contains("close") ||
      !assembly.contains("plan") || !assembly.contains("provingSince") || !assembly["provingSince"].is_number_integer()) {
    return fail("INTERNAL: the execution's assembly record is malformed", true);
  }
  auto statement = ballot::StatementFromJson(assembly["statement"]);
  auto close = ballot::SignedSthFromJson(assembly["close"]);
  auto plan = PlanFromJson(assembly["plan"]);
  if (!statement.ok() || !close.ok() || !plan.ok()) return fail("INTERNAL: the execution's assembly record is malformed", true);
  std::optional<uint64_t> dropped_index;
  if (assembly.contains("droppedIndex") && assembly["droppedIndex"].is_number_unsigned()) {
    dropped_index = assembly["droppedIndex"].get<uint64_t>();
  }
  auto election = elections_.GetElection(e.election_id);
  if (!election.ok()) return fail("INTERNAL: " + election.status().message(), false);
  auto config = ballot::ParseElectionConfig(election->config_json);
  if (!config.ok()) return fail("INTERNAL: " + config.status().message(), true);

  ballot::TallyProof proof;
  proof.statement = std::move(*statement);
  size_t proof_bytes = 0;
  for (size_t k = 0; k < proof.statement.segments.size(); ++k) {
    auto bytes = objects_.Get(kWorkBucket, SegmentProofKey(e, k));
    if (!bytes.ok()) return fail("INTERNAL: segment " + std::to_string(k) + " proof: " + bytes.status().message(), false);
    proof_bytes += bytes->size();
    proof.segments.push_back(std::move(*bytes));
  }
  // Every segment against the whole statement (its layout, sums, excluded set and root): the
  // segment jobs checked each proof against its own witness, this checks they fit together.
  const Status whole = ballot::VerifyTally(proof.statement, proof.segments, {});
  if (!whole.ok()) return fail("PROVER_FAILED: the segments do not prove the statement: " + whole.message(), true);
  const double prove_ms = static_cast<double>(NowMs() - assembly["provingSince"].get<int64_t>());

  ballot::BundleContext context;
  // The manifest names the options the segments were proven with; an image of another
  // release may have used others, and the bundle's checks want one set for all segments.
  for (size_t k = 0; k < proof.segments.size(); ++k) {
    auto parsed = stark::DeserializeProof(proof.segments[k]);
    if (!parsed.ok()) {
      return fail("PROVER_FAILED: segment " + std::to_string(k) + ": " + parsed.status().message(), true);
    }
    if (k == 0) {
      context.proof_options = parsed->options;
    } else if (!(parsed->options == context.proof_options)) {
      return fail("PROVER_FAILED: segments " + std::to_string(k) + " and 0 were proven with different options", true);
    }
  }
  context.config = *config;
  std::copy(log_key_->public_key().begin(), log_key_->public_key().end(), context.log_public_key.begin());
  context.close = *close;
  ballot::Journal journal;
  auto files = ballot::MakeBundleFiles(context, std::move(proof), *plan, &journal);
  if (!files.ok()) return fail("INTERNAL: " + files.status().message(), true);
  auto zip = ballot::WriteBundleZip(*files);
  if (!zip.ok()) return fail("INTERNAL: " + zip.status().message(), true);
  objects::PutOptions po;
  po.content_type = "application/zip";
  po.expires_ms = NowMs() + options_.object_ttl_ms;
  const Status put = objects_.Put(kBundleBucket, BundleKey(e), *zip, po);
  if (!put.ok()) return fail("INTERNAL: " + put.message(), false);
  const Status closed = elections_.MarkFinalized(e.election_id, NowMs());
  if (!closed.ok()) return fail("INTERNAL: " + closed.message(), false);
  for (size_t k = 0; k < segment_ms.size(); ++k) (void)objects_.Delete(kWorkBucket, SegmentProofKey(e, k));

  json tally = json::object();
  for (const auto& [name, count] : journal.tally) tally[name] = count;
  workers.erase("");
  json result = {{"tally", tally},
                 {"counted", journal.counted},
                 {"excluded", journal.excluded},
                 {"treeSize", journal.tree_size},
                 {"expectedVotes", journal.expected_votes},
                 {"root", ballot::FormatHash(journal.root)},
                 {"scenario", e.scenario},
                 {"proveMs", prove_ms},
                 {"segments", segment_ms.size()},
                 {"segmentProveMs", segment_ms},
                 {"segmentWorkers", workers.size()},
                 {"proofBytes", proof_bytes},
                 {"bundleBytes", zip->size()},
                 {"bundleUrl", "/api/verification/bundles/" + e.session_id + "/" + e.id},
                 {"signedProverImage", !options_.image.binary_path.empty()}};
  if (dropped_index) result["droppedIndex"] = *dropped_index;
  const Status done = Finish(id, "succeeded", result.dump(), "", NowMs());
  if (!done.ok()) return store::JobResult::Retry(done.message());
  return store::JobResult::Success(result.dump());
}

StatusOr<Bytes> FinalizeService::Bundle(const std::string& session_id, const std::string& execution_id) {
  auto e = Get(execution_id);
  if (!e.ok() || e->session_id != session_id || e->state != "succeeded") return NotFoundError("bundle not found");
  return objects_.Get(kBundleBucket, BundleKey(*e));
}

StatusOr<std::string> FinalizeService::ReceiptFor(const SessionContext& ctx, const Execution& e) {
  // One indexed row, not the whole bulletin (2^20 witnesses opened per verification).
  auto leaf = elections_.LeafOfVote(ctx.election.id, ctx.session.vote_id);
  if (!leaf.ok() && leaf.status().code() == StatusCode::kNotFound) {
    return NotFoundError("the session's vote is not on the board");
  }
  if (!leaf.ok()) return leaf.status();
  struct WipeOnExit {
    ballot::VoteRandom& random;
    ~WipeOnExit() { SecureWipe(random.data(), random.size()); }
  } wipe{leaf->random};
  const LeafRecord* mine = &*leaf;
  ballot::Receipt r;
  r.vote_id = mine->vote_id;
  r.commitment = mine->commitment;
  r.bulletin_index = mine->index;
  r.timestamp_ms = static_cast<uint64_t>(mine->created_ms);
  r.vote = mine->choice;
  r.rand = ballot::FormatVoteRandom(mine->random);
  // The tree at cast is the head signed in the vote's transaction (the voter's leaf and, on an
  // election's first vote, the bots' leaves): the first head that contains the leaf.
  const Status head = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto h, c.Query("SELECT tree_size, signed_at, root, signature FROM ballot_sths WHERE "
                                     "election_id = $1 AND tree_size > $2 ORDER BY tree_size LIMIT 1",
                                     {Value(ctx.election.id), Value(static_cast<int64_t>(mine->index))}));
    if (h.empty()) return NotFoundError("no signed tree head contains the session's vote");
    ASSIGN_OR_RETURN(r.sth.sth.log_id, ballot::ParseLogId(ctx.election.log_id));
    r.sth.sth.tree_size = static_cast<uint64_t>(h.Int(0, 0));
    r.sth.sth.timestamp_ms = static_cast<uint64_t>(h.Int(0, 1));
    ASSIGN_OR_RETURN(r.sth.sth.root, ballot::ParseHash(h.Text(0, 2)));
    ASSIGN_OR_RETURN(r.sth.signature, ballot::ParseSthSignature(h.Text(0, 3)));
    return OkStatus();
  });
  RETURN_IF_ERROR(head);
  r.tree_size_at_cast = r.sth.sth.tree_size;
  r.bulletin_root_at_cast = r.sth.sth.root;
  // The evidence against the tree the operator closed (S3: the bulletin less the dropped
  // leaf, which the execution's result names).
  std::optional<uint64_t> dropped;
  const json result = json::parse(e.result, nullptr, false);
  if (result.is_object() && result.contains("droppedIndex") && result["droppedIndex"].is_number_unsigned()) {
    dropped = result["droppedIndex"].get<uint64_t>();
  }
  auto evidence = [&](const ballot::BulletinTree& closed) -> Status {
    if (r.bulletin_index < closed.size()) {
      ASSIGN_OR_RETURN(auto path, closed.InclusionProof(r.bulletin_index, closed.size()));
      r.inclusion = ballot::InclusionEvidence{r.bulletin_index, closed.size(), std::move(path)};
      if (r.tree_size_at_cast <= closed.size()) {
        ASSIGN_OR_RETURN(auto cons, closed.ConsistencyProof(r.tree_size_at_cast, closed.size()));
        r.consistency = ballot::ConsistencyEvidence{r.tree_size_at_cast, closed.size(), std::move(cons)};
      }
    }
    return OkStatus();
  };
  if (dropped) {
    ASSIGN_OR_RETURN(std::vector<ballot::HashOut> commitments, elections_.Commitments(ctx.election.id));
    if (*dropped < commitments.size()) commitments.erase(commitments.begin() + static_cast<std::ptrdiff_t>(*dropped));
    ballot::BulletinTree closed;
    closed.AppendMany(commitments);
    RETURN_IF_ERROR(evidence(closed));
  } else {
    // The closed tree is the bulletin: the service's cached tree, not one rebuilt per call.
    RETURN_IF_ERROR(elections_.WithBulletinTree(ctx.election.id, evidence));
  }
  return ballot::ReceiptToJson(r).dump();
}

StatusOr<json> FinalizeService::Verify(const SessionContext& ctx) {
  auto e = Latest(ctx.session.id);
  if (!e.ok() || e->state != "succeeded") {
    return Refusal(kNotFinalized, "this session has no finished finalization", StatusCode::kFailedPrecondition);
  }
  ASSIGN_OR_RETURN(Bytes zip, Bundle(e->session_id, e->id));
  ASSIGN_OR_RETURN(std::string receipt, ReceiptFor(ctx, *e));
  json report = ballot::ReportToJson(ballot::VerifyBundleZip(zip, receipt));
  // The voter's evidence against the tree the operator closed (which, under S3, is not a
  // prefix of the log): the browser checks it against the signed close statement itself.
  const json r = json::parse(receipt, nullptr, false);
  json evidence = json::object();
  for (const char* k : {"inclusion", "consistency"}) {
    if (r.is_object() && r.contains(k)) evidence[k] = r[k];
  }
  report["evidence"] = evidence;
  report["executionId"] = e->id;
  report["bundleUrl"] = "/api/verification/bundles/" + e->session_id + "/" + e->id;
  auto result = json::parse(e->result, nullptr, false);
  if (!result.is_discarded()) report["published"] = result;
  return report;
}

StatusOr<json> FinalizeService::RunVerification(const SessionContext& ctx, int64_t now_ms) {
  auto e = Latest(ctx.session.id);
  if (e.ok() && e->state == "succeeded" && !e->verification.empty()) {
    auto stored = json::parse(e->verification, nullptr, false);
    if (!stored.is_discarded()) return stored;
  }
  ASSIGN_OR_RETURN(json report, Verify(ctx));
  report["verifiedAt"] = now_ms;
  const Status s = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    return c.Exec("UPDATE ballot_executions SET verification = $1 WHERE id = $2 AND verification = ''",
                  {Value(report.dump()), Value(report["executionId"].get<std::string>())});
  });
  RETURN_IF_ERROR(s);
  ASSIGN_OR_RETURN(Execution again, Get(report["executionId"].get<std::string>()));
  auto stored = json::parse(again.verification, nullptr, false);
  return stored.is_discarded() ? report : stored;
}

}  // namespace vp::election
