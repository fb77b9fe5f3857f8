// The schema, in order. Append new entries at the end; never edit a released one.
// Times are unix milliseconds in BIGINT columns; booleans are BIGINT 0/1.
#include "vp/store/migrations.h"

#include <array>

namespace vp::store {
namespace {

constexpr std::array kMigrations = {
    Migration{1, "api_keys", R"sql(
CREATE TABLE api_keys (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  salt BYTEA NOT NULL,
  secret_hash BYTEA NOT NULL,
  derivation_nonce TEXT NOT NULL,
  disabled BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  last_used_at BIGINT
);
)sql"},
    Migration{2, "idempotency_keys", R"sql(
CREATE TABLE idempotency_keys (
  scope TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  request_hash BYTEA NOT NULL,
  state TEXT NOT NULL,             -- 'in_progress' | 'completed'
  status_code BIGINT,
  content_type TEXT,
  body BYTEA,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (scope, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
)sql"},
    // rate_buckets holds one row per sliding-window bucket, locked (PostgreSQL) so that
    // the count-then-insert of a hit is atomic across gateways.
    Migration{3, "rate_limits", R"sql(
CREATE TABLE rate_buckets (
  bucket TEXT PRIMARY KEY
);
CREATE TABLE rate_hits (
  bucket TEXT NOT NULL,
  ts BIGINT NOT NULL
);
CREATE INDEX rate_hits_bucket_ts ON rate_hits (bucket, ts);
CREATE INDEX rate_hits_ts ON rate_hits (ts);
CREATE TABLE rate_fixed (
  bucket TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  hits BIGINT NOT NULL,
  PRIMARY KEY (bucket, window_start)
);
)sql"},
    Migration{4, "replay_signatures", R"sql(
CREATE TABLE replay_signatures (
  key_id TEXT NOT NULL,
  signature TEXT NOT NULL,
  expires_at BIGINT NOT NULL,
  PRIMARY KEY (key_id, signature)
);
CREATE INDEX replay_signatures_expires ON replay_signatures (expires_at);
)sql"},
    // Job ids: a sequence table on SQLite (writes are serialized anyway); a real SEQUENCE
    // on PostgreSQL, so concurrent enqueues do not queue behind one row lock.
    Migration{5, "jobs", R"sql(
CREATE TABLE sequences (
  name TEXT PRIMARY KEY,
  value BIGINT NOT NULL
);
INSERT INTO sequences (name, value) VALUES ('jobs', 0);
CREATE TABLE jobs (
  id BIGINT PRIMARY KEY,
  queue TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,             -- queued | leased | succeeded | dead | cancelled
  attempts BIGINT NOT NULL,
  max_attempts BIGINT NOT NULL,
  backoff_base_ms BIGINT NOT NULL,
  backoff_max_ms BIGINT NOT NULL,
  visible_at BIGINT NOT NULL,      -- queued: due time; leased: lease expiry
  lease_token TEXT,
  worker_id TEXT,
  result TEXT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (queue, visible_at, id) WHERE state IN ('queued', 'leased');
)sql",
              R"sql(
CREATE SEQUENCE job_ids;
CREATE TABLE jobs (
  id BIGINT PRIMARY KEY,
  queue TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  max_attempts BIGINT NOT NULL,
  backoff_base_ms BIGINT NOT NULL,
  backoff_max_ms BIGINT NOT NULL,
  visible_at BIGINT NOT NULL,
  lease_token TEXT,
  worker_id TEXT,
  result TEXT,
  last_error TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (queue, visible_at, id) WHERE state IN ('queued', 'leased');
)sql"},
    // The audit log (docs/audit_log.md, section 3): hash-chained records, the chain head
    // (one row, id = 1, created by the first AuditWriter) and the signed digests.
    Migration{6, "audit_log", R"sql(
CREATE TABLE audit_records (
  seq BIGINT PRIMARY KEY,
  time_ms BIGINT NOT NULL,
  request_id TEXT NOT NULL,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  resource TEXT NOT NULL,
  outcome TEXT NOT NULL,
  source_ip TEXT NOT NULL,
  details TEXT NOT NULL,
  hash BYTEA NOT NULL
);
CREATE INDEX audit_records_principal ON audit_records (principal, seq);
CREATE INDEX audit_records_time ON audit_records (time_ms);
CREATE TABLE audit_head (
  id BIGINT PRIMARY KEY,
  seq BIGINT NOT NULL,
  hash BYTEA NOT NULL,
  digest_no BIGINT NOT NULL,
  digested_seq BIGINT NOT NULL,
  digest_time_ms BIGINT NOT NULL
);
CREATE TABLE audit_digests (
  digest_no BIGINT PRIMARY KEY,
  first_seq BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  head_hash BYTEA NOT NULL,
  first_time_ms BIGINT NOT NULL,
  last_time_ms BIGINT NOT NULL,
  created_ms BIGINT NOT NULL,
  public_key BYTEA NOT NULL,
  signature BYTEA NOT NULL
);
)sql"},
    // Key blobs made by the signer (docs/signer_protocol.md, "Key blob"): the store holds
    // only ciphertext and the public context. master_key_id names the kms master key that
    // wraps the blob's data key, so a rotation can find what is left to re-wrap.
    Migration{7, "custody_keys", R"sql(
CREATE TABLE custody_keys (
  key_id TEXT PRIMARY KEY,
  wallet_id TEXT NOT NULL,
  blob BYTEA NOT NULL,
  master_key_id TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE INDEX custody_keys_master ON custody_keys (master_key_id, key_id);
)sql"},
    // Wallets (issue 5): one key in custody_keys per wallet; HD wallets hand out deposit
    // addresses m/44'/60'/0'/0/i in order, next_index counting them.
    Migration{8, "wallets", R"sql(
CREATE TABLE wallets (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  chain TEXT NOT NULL,
  kind TEXT NOT NULL,
  key_id TEXT NOT NULL,
  address TEXT NOT NULL,
  next_index BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  created_ms BIGINT NOT NULL
);
CREATE TABLE wallet_addresses (
  wallet_id TEXT NOT NULL,
  idx BIGINT NOT NULL,
  address TEXT NOT NULL,
  path TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (wallet_id, idx)
);
)sql"},
    // Policies, transaction requests, approvals and the daily spend counters (issue 5).
    // Amounts are decimal wei strings (up to 2^256 - 1).
    Migration{9, "wallet_policies", R"sql(
CREATE TABLE wallet_policies (
  wallet_id TEXT PRIMARY KEY,
  policy TEXT NOT NULL,
  updated_by TEXT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE TABLE wallet_transactions (
  id TEXT PRIMARY KEY,
  wallet_id TEXT NOT NULL,
  status TEXT NOT NULL,
  request TEXT NOT NULL,
  value_wei TEXT NOT NULL,
  spend_day BIGINT NOT NULL,
  required_approvals BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  raw TEXT NOT NULL,
  hash TEXT NOT NULL,
  from_address TEXT NOT NULL,
  error TEXT NOT NULL
);
CREATE INDEX wallet_transactions_wallet ON wallet_transactions (wallet_id, status, id);
CREATE TABLE wallet_approvals (
  tx_id TEXT NOT NULL,
  approver TEXT NOT NULL,
  decision TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (tx_id, approver)
);
CREATE TABLE wallet_daily_spend (
  wallet_id TEXT NOT NULL,
  day BIGINT NOT NULL,
  spent_wei TEXT NOT NULL,
  PRIMARY KEY (wallet_id, day)
);
)sql"},
    // Leased rate-limit budgets of gateways sharing PostgreSQL (RateLimitRepo::Lease): a
    // sliding window kept as counters per time slice instead of a log of every hit.
    Migration{10, "rate_slices", R"sql(
CREATE TABLE rate_slices (
  bucket TEXT NOT NULL,
  slot BIGINT NOT NULL,
  n BIGINT NOT NULL,
  PRIMARY KEY (bucket, slot)
);
CREATE INDEX rate_slices_slot ON rate_slices (slot);
)sql"},
    // The jobs gauge (JobQueue::Counts) counts dead letters per queue on every scrape.
    Migration{11, "jobs_dead_index", R"sql(
CREATE INDEX jobs_dead ON jobs (queue) WHERE state = 'dead';
)sql"},
    // Broadcast (issue 5, docs/chains.md "Broadcast"): configured chains, the per-(chain,
    // address) nonce counters the broadcaster assigns from, and every signed version of a
    // broadcast transaction (fee bumps re-sign with the same nonce; any of them may be mined).
    // Broadcast transactions carry their chain, sender and assigned nonce on the row.
    Migration{12, "chains_broadcast", R"sql(
CREATE TABLE chains (
  chain_id BIGINT PRIMARY KEY,
  rpc_url TEXT NOT NULL,
  confirmations BIGINT NOT NULL,
  updated_by TEXT NOT NULL,
  updated_ms BIGINT NOT NULL
);
CREATE TABLE chain_nonces (
  chain_id BIGINT NOT NULL,
  address TEXT NOT NULL,
  next_nonce BIGINT NOT NULL,
  PRIMARY KEY (chain_id, address)
);
CREATE TABLE wallet_tx_attempts (
  tx_id TEXT NOT NULL,
  attempt BIGINT NOT NULL,
  fields TEXT NOT NULL,
  raw TEXT NOT NULL,
  hash TEXT NOT NULL,
  created_ms BIGINT NOT NULL,
  PRIMARY KEY (tx_id, attempt)
);
ALTER TABLE wallet_transactions ADD COLUMN broadcast BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallet_transactions ADD COLUMN chain_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallet_transactions ADD COLUMN nonce BIGINT;
ALTER TABLE wallet_transactions ADD COLUMN tx_fields TEXT NOT NULL DEFAULT '';
ALTER TABLE wallet_transactions ADD COLUMN approved_ms BIGINT;
ALTER TABLE wallet_transactions ADD COLUMN broadcast_ms BIGINT;
ALTER TABLE wallet_transactions ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE wallet_transactions ADD COLUMN receipt TEXT NOT NULL DEFAULT '';
CREATE INDEX wallet_transactions_sender ON wallet_transactions (chain_id, from_address, status);
)sql"},
    // Webhooks (issue 5, docs/api.md "Webhooks"): subscriptions with their signing secret
    // sealed (nonce || AES-256-GCM, bound to the id; never plaintext), one delivery per
    // (event, webhook) queued in the transaction that emitted it, and every attempt. seq is
    // the delivery's job id: it orders deliveries for the listing.
    Migration{13, "webhooks", R"sql(
CREATE TABLE webhooks (
  id TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret_sealed BYTEA NOT NULL,
  enabled BIGINT NOT NULL,
  disabled_reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_enabled ON webhooks (enabled);
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  webhook_id TEXT NOT NULL,
  seq BIGINT NOT NULL,
  event TEXT NOT NULL,
  payload TEXT NOT NULL,
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL,
  error TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, seq);
CREATE TABLE webhook_attempts (
  delivery_id TEXT NOT NULL,
  attempt BIGINT NOT NULL,
  status_code BIGINT,
  error TEXT NOT NULL,
  duration_ms BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (delivery_id, attempt)
);
)sql"},
    // The ballot service (issue 7, docs/api.md "Ballot API"; src/vp/election/). An election's
    // row is the bulletin's single-writer lock and holds its size; shared_slot is 'open' for
    // the one open shared election (NULL otherwise), so two gateways cannot both create it.
    // Each leaf keeps its witness (choice, random) sealed (nonce || AES-256-GCM, bound to
    // election, index and commitment): the tally's private input, never served. Every signed
    // tree head is kept.
    Migration{14, "ballot", R"sql(
CREATE TABLE ballot_elections (
  id TEXT PRIMARY KEY,
  config TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  log_id TEXT NOT NULL,
  bot_count BIGINT NOT NULL,
  voters BIGINT NOT NULL,
  tree_size BIGINT NOT NULL,
  bots_cast BIGINT NOT NULL,
  state TEXT NOT NULL,             -- 'open' | 'finalized'
  created_at BIGINT NOT NULL,
  finalized_at BIGINT,
  shared_slot TEXT
);
CREATE UNIQUE INDEX ballot_elections_shared_slot ON ballot_elections (shared_slot);
CREATE TABLE ballot_sessions (
  id TEXT PRIMARY KEY,
  election_id TEXT NOT NULL,
  capability_expires_at BIGINT NOT NULL,   -- the token's exp (unix seconds)
  voted BIGINT NOT NULL,
  vote_id TEXT,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX ballot_sessions_expires ON ballot_sessions (expires_at);
CREATE INDEX ballot_sessions_election ON ballot_sessions (election_id);
CREATE TABLE ballot_leaves (
  election_id TEXT NOT NULL,
  idx BIGINT NOT NULL,
  commitment TEXT NOT NULL,
  vote_id TEXT NOT NULL,
  is_bot BIGINT NOT NULL,
  witness BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (election_id, idx)
);
CREATE UNIQUE INDEX ballot_leaves_commitment ON ballot_leaves (election_id, commitment);
CREATE UNIQUE INDEX ballot_leaves_vote ON ballot_leaves (vote_id);
CREATE TABLE ballot_sths (
  election_id TEXT NOT NULL,
  tree_size BIGINT NOT NULL,
  signed_at BIGINT NOT NULL,
  root TEXT NOT NULL,
  signature TEXT NOT NULL,
  PRIMARY KEY (election_id, tree_size)
);
)sql"},
    // The object store (src/vp/objects, docs/objects.md): bundles, proofs and the prover's
    // sealed input, in the database so every gateway and worker sees them. Chunks of 1 MiB.
    Migration{15, "objects", R"sql(
CREATE TABLE objects (
  bucket TEXT NOT NULL,
  object_key TEXT NOT NULL,
  size BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  content_type TEXT NOT NULL,
  sealed BIGINT NOT NULL,
  chunks BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  PRIMARY KEY (bucket, object_key)
);
CREATE INDEX objects_expires ON objects (expires_at);
CREATE TABLE object_chunks (
  bucket TEXT NOT NULL,
  object_key TEXT NOT NULL,
  seq BIGINT NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (bucket, object_key, seq)
);
)sql"},
    // Finalizations of the ballot service (src/vp/election/finalize.h): one row per
    // POST /api/finalize, following its job; result and verification hold JSON text.
    Migration{16, "ballot_executions", R"sql(
CREATE TABLE ballot_executions (
  id TEXT PRIMARY KEY,
  session_id TEXT NOT NULL,
  election_id TEXT NOT NULL,
  scenario TEXT NOT NULL,
  state TEXT NOT NULL,             -- 'queued' | 'running' | 'succeeded' | 'failed' | 'cancelled'
  job_id BIGINT NOT NULL,
  result TEXT NOT NULL,
  error TEXT NOT NULL,
  verification TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT
);
CREATE INDEX ballot_executions_session ON ballot_executions (session_id, created_at);
CREATE INDEX ballot_executions_election ON ballot_executions (election_id, state);
)sql"},
    // The Idempotency-Key of the request that created a wallet or a transaction, written in
    // the creating transaction: a retry after a crash between that commit and the key's
    // completion finds the record instead of creating a second one (docs/api.md). Not
    // unique: a key may be used again once its idempotency record expired (24 h).
    Migration{17, "creation_idempotency", R"sql(
ALTER TABLE wallet_transactions ADD COLUMN idempotency_key TEXT;
CREATE INDEX wallet_transactions_idem ON wallet_transactions (created_by, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
ALTER TABLE wallets ADD COLUMN idempotency_key TEXT;
CREATE INDEX wallets_idem ON wallets (created_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
)sql"},
    // A finalization proves its tree's segments as separate jobs (vp/election/finalize.h):
    // one row per segment, and what the assembly needs (statement, close head, plan) on the
    // execution.
    Migration{18, "ballot_segments", R"sql(
ALTER TABLE ballot_executions ADD COLUMN assembly TEXT NOT NULL DEFAULT '';
CREATE TABLE ballot_segments (
  execution_id TEXT NOT NULL,
  idx BIGINT NOT NULL,
  seg_offset BIGINT NOT NULL,
  seg_size BIGINT NOT NULL,
  state TEXT NOT NULL,             -- 'queued' | 'proven'
  job_id BIGINT NOT NULL,
  prove_ms BIGINT NOT NULL,
  worker TEXT NOT NULL,
  proven_at BIGINT,
  PRIMARY KEY (execution_id, idx)
);
)sql"},
    // Append new migrations here (next version: 19).
};

}  // namespace

std::span<const Migration> Migrations() { return kMigrations; }

}  // namespace vp::store
