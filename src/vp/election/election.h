// ElectionService: the ballot service over the store: elections, voter sessions with their
// capability tokens, votes appended to the bulletin log with the bots' votes, signed tree
// heads, and the log's proofs (docs/api.md, "Ballot API"; formats: docs/ballot_log.md).
//
// One writer per election: a vote locks the election's row (SELECT ... FOR UPDATE on
// PostgreSQL; SQLite's BEGIN IMMEDIATE takes the write lock), checks it, appends the voter's
// leaf and the bots' leaves, signs the new tree head with the log key and commits, all in one
// transaction, so several gateways append to one election without gaps. Each process keeps
// the tree of recently used elections in memory (a bounded cache), brought up to the stored
// size from the leaves table before it is used, so a restart or another gateway's appends
// are picked up.
//
// Each leaf's private witness (choice, random) is kept for the tally proof, sealed with
// AES-256-GCM under a key derived from the gateway's pepper and bound to (election, index,
// commitment); it is never served. Leaves() opens them for finalization.
//
//   ASSIGN_OR_RETURN(ElectionKeys keys, ElectionKeys::Derive(pepper.view()));
//   ElectionService ballot(*db, std::move(keys), log_key, ElectionOptions{});
//   ASSIGN_OR_RETURN(CreatedSession s, ballot.CreateSession(now_ms));
//   ASSIGN_OR_RETURN(SessionContext ctx, ballot.Authenticate(s.session.id, s.capability, now_ms));
//   ASSIGN_OR_RETURN(Receipt r, ballot.CastVote(ctx, {commitment_hex, vote_json, rand_hex}, now_ms));
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "vp/ballot/bulletin.h"
#include "vp/ballot/commitment.h"
#include "vp/ballot/election.h"
#include "vp/ballot/sth.h"
#include "vp/base/secure.h"
#include "vp/base/status.h"
#include "vp/election/log_key.h"
#include "vp/store/db.h"
#include "vp/store/worker.h"

namespace vp::election {

// The job queue of the expired-session sweep.
inline constexpr std::string_view kSessionSweepQueue = "ballot.session_sweep";

// Refusal codes of the service: the Status message starts with "CODE: " (ErrorCode()).
inline constexpr std::string_view kAlreadyVoted = "ALREADY_VOTED";            // 409
inline constexpr std::string_view kSessionFinalized = "SESSION_FINALIZED";    // 409
inline constexpr std::string_view kInvalidCommitment = "INVALID_COMMITMENT";  // 400
inline constexpr std::string_view kInvalidVoteChoice = "INVALID_VOTE_CHOICE"; // 400
inline constexpr std::string_view kDuplicateVote = "DUPLICATE_VOTE";          // 409
// Finalization's (finalize.h).
inline constexpr std::string_view kFinalizeInProgress = "FINALIZATION_IN_PROGRESS";  // 409
inline constexpr std::string_view kNotVoted = "NOT_VOTED";                           // 409
inline constexpr std::string_view kNotFinalized = "NOT_FINALIZED";                   // 409
inline constexpr std::string_view kInvalidScenario = "INVALID_SCENARIO";             // 400
// The code of a refusal of this module (these, the capability's and CAPTCHA_FAILED), or "".
std::string_view ErrorCode(const Status& s);

struct ElectionOptions {
  std::vector<std::string> choices = {"A", "B", "C", "D", "E"};
  int64_t bot_count = 63;
  int64_t session_ttl_ms = 30 * 60 * 1000;               // before finalization
  int64_t finalized_session_ttl_ms = 24 * 3600 * 1000;   // after it
  // true: every session joins the one open election (created by the first session);
  // false: each session gets its own election (the simulator's default).
  bool shared_election = false;
  size_t tree_cache_elections = 1024;  // trees kept in memory (least recently used go first)
};
// kInvalidArgument naming the field: the choices and bot count of a valid
// ballot::ElectionConfig (2..16 distinct printable-ASCII names of at most 32 bytes, at most
// 2^24 bots), positive TTLs.
Status ValidateElectionOptions(const ElectionOptions& options);

// The service's secrets, derived from the gateway's 32-byte pepper with their own labels.
struct ElectionKeys {
  SecureBuffer capability_key;  // HMAC-SHA256 key of the capability tokens
  SecureBuffer witness_key;     // AES-256-GCM key sealing each leaf's (choice, random)
  static StatusOr<ElectionKeys> Derive(ByteSpan pepper);
};

struct Election {
  std::string id;  // canonical UUID
  // ballot::CanonicalConfigJson: {"botCount","choices","electionId","logId"}, sorted, no spaces
  // (docs/bundle_format.md), the text the tally proof's config hash binds.
  std::string config_json;
  std::string config_hash;  // FormatHash(ballot::ElectionConfigHash(config))
  std::string log_id;       // 64 hex
  std::vector<std::string> choices;
  int64_t bot_count = 0;
  int64_t voters = 0;      // sessions that joined
  int64_t tree_size = 0;   // leaves on the board
  bool bots_cast = false;
  std::string state;       // "open" | "finalized"
  int64_t created_ms = 0;
  std::optional<int64_t> finalized_ms;
};

struct Session {
  std::string id;  // canonical UUID
  std::string election_id;
  bool voted = false;
  std::string vote_id;  // "" until voted
  int64_t created_ms = 0;
  int64_t expires_ms = 0;
};

struct CreatedSession {
  Session session;
  Election election;
  std::string capability;  // the token; shown once
};
// {sessionId, electionId, electionConfigHash, logId, capabilityToken, expiresAt, choices, botCount}
nlohmann::json CreatedSessionJson(const CreatedSession& s);

struct SessionContext {
  Session session;
  Election election;
};

// A vote as the client sends it: the commitment it computed, its choice (the index, or the
// choice's label) and its random (64 lower-case hex digits).
struct VoteInput {
  std::string commitment;
  nlohmann::json vote;
  std::string rand;
};
// From the POST /api/vote body {commitment, vote, rand, turnstileToken?}; other fields are
// refused (kInvalidArgument).
StatusOr<VoteInput> ParseVoteInput(const nlohmann::json& body);

struct Receipt {
  std::string vote_id;
  std::string election_id;
  ballot::HashOut commitment{};
  uint64_t index = 0;               // bulletinIndex
  ballot::HashOut root_at_cast{};   // the root of the first index + 1 leaves
  uint64_t tree_size_at_cast = 0;   // index + 1
  int64_t timestamp_ms = 0;
  ballot::SignedSth sth;            // signed after the bots' leaves
};
// {voteId, commitment, bulletinIndex, bulletinRootAtCast, treeSizeAtCast, timestamp,
//  sth: {logId, treeSize, timestamp, root, signature}}: the keys of a receipt file
// (ballot::ReceiptToJson) less the voter's own vote and rand.
nlohmann::json ReceiptJson(const Receipt& r);
nlohmann::json SthJson(const ballot::SignedSth& sth);

// One leaf with its opened witness, for the tally proof (finalization).
struct LeafRecord {
  uint64_t index = 0;
  ballot::HashOut commitment{};
  std::string vote_id;
  bool is_bot = false;
  uint32_t choice = 0;
  ballot::VoteRandom random{};
  int64_t created_ms = 0;
};

class ElectionService {
 public:
  // `db` must outlive the service; `log_key` signs every tree head.
  ElectionService(store::Db& db, ElectionKeys keys, std::shared_ptr<const LogSigner> log_key,
                  ElectionOptions options);
  ~ElectionService();
  ElectionService(const ElectionService&) = delete;
  ElectionService& operator=(const ElectionService&) = delete;

  const ElectionOptions& options() const { return options_; }
  const crypto::Ed25519Public& log_public_key() const { return log_key_->public_key(); }

  // A new session with its capability token, in a new election (or the shared open one). A
  // new election gets the signed head of its empty tree.
  StatusOr<CreatedSession> CreateSession(int64_t now_ms);

  // The session presenting X-Session-ID / X-Session-Capability. kUnauthenticated
  // "INVALID_CAPABILITY: ..." (missing, malformed, tampered, another session's token) or
  // "SESSION_EXPIRED: ..." (the token's or the session's expiry passed, or the session was
  // swept).
  StatusOr<SessionContext> Authenticate(std::string_view session_id, std::string_view capability, int64_t now_ms);

  // Checks the vote (SESSION_FINALIZED, ALREADY_VOTED, INVALID_VOTE_CHOICE, INVALID_COMMITMENT,
  // DUPLICATE_VOTE), appends it and, on the election's first vote, the bots' votes (random
  // choices and randoms from the CSPRNG), signs the new head and commits, in one
  // transaction. kUnavailable while the signer is down (nothing is appended).
  StatusOr<Receipt> CastVote(const SessionContext& ctx, const VoteInput& vote, int64_t now_ms);

  // {electionId, votesCast, expected, state, finalizedAt}: expected = voters + botCount.
  StatusOr<nlohmann::json> Progress(const std::string& election_id);
  // {electionId, treeSize, offset, limit, commitments: [hex...]}: leaves [offset, offset + limit).
  static constexpr int64_t kMaxBulletinPage = 1000;
  StatusOr<nlohmann::json> Bulletin(const std::string& election_id, int64_t offset, int64_t limit);
  // The inclusion proof of a vote of this election against the latest signed head:
  // {leafIndex, treeSize, commitment, path, sth}. kNotFound for a vote not in this election.
  StatusOr<nlohmann::json> InclusionProof(const std::string& election_id, std::string_view vote_id);
  // {oldSize, newSize, proof}: 1 <= old <= new <= the latest head's size (kInvalidArgument).
  StatusOr<nlohmann::json> ConsistencyProof(const std::string& election_id, int64_t old_size, int64_t new_size);
  // The latest signed head.
  StatusOr<ballot::SignedSth> LatestSth(const std::string& election_id);

  // Deletes sessions whose expiry has passed; returns how many.
  StatusOr<int64_t> SweepExpiredSessions(int64_t now_ms);
  // Registers the sweep's handler on kSessionSweepQueue (before pool.Start()).
  Status RegisterSweepHandler(store::WorkerPool& pool);
  // Enqueues a sweep unless one is queued or running (called periodically by the gateway).
  Status ScheduleSweep(int64_t now_ms);

  // ---- hooks for finalization (the tally proof and bundles) ----
  StatusOr<Election> GetElection(const std::string& election_id);
  // Every leaf of the election in bulletin order with its opened witness. kInternal if a
  // sealed witness does not open (another pepper, a tampered row). Without details, the
  // records' vote_id, is_bot and created_ms are left empty.
  StatusOr<std::vector<LeafRecord>> Leaves(const std::string& election_id, bool details = true);
  // Every leaf's commitment in bulletin order (no witness opened).
  StatusOr<std::vector<ballot::HashOut>> Commitments(const std::string& election_id);
  // Runs fn on the bulletin tree of every leaf of the election: the service's cached tree
  // (the one /api/bulletin's proofs come from), brought up to date from the store and locked
  // while fn runs.
  Status WithBulletinTree(const std::string& election_id, const std::function<Status(const ballot::BulletinTree&)>& fn);
  // The leaf of one vote, its witness opened: kNotFound when the vote is not on the board
  // (of this election), kInternal as Leaves().
  StatusOr<LeafRecord> LeafOfVote(const std::string& election_id, const std::string& vote_id);
  // The tally proof's input: the election's id, config hash and choices, and every leaf
  // opened (none excluded), in bulletin order. Errors as Leaves().
  StatusOr<ballot::TallyInput> TallyInputOf(const std::string& election_id);
  // Closes the election to votes (later votes: SESSION_FINALIZED) and gives its sessions
  // finalized_session_ttl_ms from now. kNotFound for an unknown election; OK if already
  // finalized.
  Status MarkFinalized(const std::string& election_id, int64_t now_ms);

 private:
  struct TreeEntry;
  std::shared_ptr<TreeEntry> Tree(const std::string& election_id);
  void DropTree(const std::string& election_id);
  // Brings the cached tree up to `size` leaves from the store (or rebuilds it when it holds
  // more: leaves of a transaction that did not commit).
  Status SyncTree(store::Conn& c, const std::string& election_id, TreeEntry& entry, uint64_t size);
  StatusOr<ballot::SignedSth> SignHead(const std::string& log_id_hex, uint64_t tree_size, int64_t now_ms,
                                       const ballot::HashOut& root) const;
  StatusOr<Bytes> SealWitness(const std::string& election_id, uint64_t index, const ballot::HashOut& commitment,
                              uint32_t choice, const ballot::VoteRandom& random) const;
  StatusOr<Election> NewElection(int64_t now_ms) const;

  store::Db& db_;
  ElectionKeys keys_;
  std::shared_ptr<const LogSigner> log_key_;
  ElectionOptions options_;

  std::mutex trees_mu_;
  std::map<std::string, std::shared_ptr<TreeEntry>, std::less<>> trees_;  // GUARDED_BY(trees_mu_)
  uint64_t tree_clock_ = 0;                                               // GUARDED_BY(trees_mu_)
};

// The election's config as the bundle and the tally proof see it (parsed from config_json).
StatusOr<ballot::ElectionConfig> ConfigOf(const Election& election);
// SHA-256("vaultproof:log-id:v1" || log public key || election id bytes): the log's name
// binds its key and its election.
ballot::LogId ElectionLogId(const crypto::Ed25519Public& log_key, const ballot::ElectionId& election_id);

}  // namespace vp::election
