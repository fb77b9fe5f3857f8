// ElectionService: elections, sessions, votes, signed tree heads and log proofs over the store.
#include "vp/election/election.h"

#include <algorithm>
#include <chrono>

#include "vp/base/json.h"
#include "vp/crypto/aead.h"
#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"
#include "vp/election/capability.h"
#include "vp/election/turnstile.h"
#include "vp/store/jobs.h"

namespace vp::election {
namespace {

using nlohmann::json;
using store::Conn;
using store::Rows;
using store::TxMode;
using store::Value;

constexpr std::string_view kWitnessKeyInfo = "vaultproof ballot witness key v1";
constexpr std::string_view kWitnessAad = "vaultproof:ballot-witness:v1|";
constexpr std::string_view kLogIdPrefix = "vaultproof:log-id:v1";
constexpr size_t kWitnessPlainSize = 4 + 32;  // choice (u32 big-endian) || random
constexpr size_t kInsertBatch = 256;          // leaves per INSERT statement (7 parameters each)
constexpr int64_t kSyncPage = 8192;           // leaves per SELECT when a tree is brought up to date

constexpr std::string_view kElectionColumns =
    "id, config, config_hash, log_id, bot_count, voters, tree_size, bots_cast, state, created_at, finalized_at";
constexpr std::string_view kSessionColumns =
    "id, election_id, capability_expires_at, voted, vote_id, created_at, expires_at";

Status Refusal(std::string_view code, StatusCode status, std::string_view reason) {
  return Status(status, std::string(code) + ": " + std::string(reason));
}

std::string Lock(const Conn& c) { return c.dialect() == store::Dialect::kPostgres ? " FOR UPDATE" : ""; }

int64_t SystemMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StatusOr<std::vector<std::string>> ChoicesOfConfig(const std::string& config) {
  StatusOr<ballot::ElectionConfig> parsed = ballot::ParseElectionConfig(config);
  if (!parsed.ok()) return InternalError("election config is corrupt: " + parsed.status().message());
  return parsed->choices;
}

StatusOr<Election> ElectionAt(const Rows& r, size_t i) {
  Election e;
  e.id = r.Text(i, 0);
  e.config_json = r.Text(i, 1);
  e.config_hash = r.Text(i, 2);
  e.log_id = r.Text(i, 3);
  e.bot_count = r.Int(i, 4);
  e.voters = r.Int(i, 5);
  e.tree_size = r.Int(i, 6);
  e.bots_cast = r.Int(i, 7) != 0;
  e.state = r.Text(i, 8);
  e.created_ms = r.Int(i, 9);
  if (!r.IsNull(i, 10)) e.finalized_ms = r.Int(i, 10);
  ASSIGN_OR_RETURN(e.choices, ChoicesOfConfig(e.config_json));
  return e;
}

Session SessionAt(const Rows& r, size_t i) {
  Session s;
  s.id = r.Text(i, 0);
  s.election_id = r.Text(i, 1);
  s.voted = r.Int(i, 3) != 0;
  s.vote_id = r.IsNull(i, 4) ? std::string() : r.Text(i, 4);
  s.created_ms = r.Int(i, 5);
  s.expires_ms = r.Int(i, 6);
  return s;
}

StatusOr<Election> LoadElection(Conn& c, const std::string& id, bool lock) {
  ASSIGN_OR_RETURN(Rows r, c.Query("SELECT " + std::string(kElectionColumns) + " FROM ballot_elections WHERE id = $1" +
                                       (lock ? Lock(c) : std::string()),
                                   {Value(id)}));
  if (r.empty()) return NotFoundError("no election " + id);
  return ElectionAt(r, 0);
}

StatusOr<ballot::SignedSth> LoadLatestSth(Conn& c, const std::string& election_id, const std::string& log_id_hex) {
  ASSIGN_OR_RETURN(Rows r, c.Query("SELECT tree_size, signed_at, root, signature FROM ballot_sths WHERE election_id = $1"
                                   " ORDER BY tree_size DESC LIMIT 1",
                                   {Value(election_id)}));
  if (r.empty()) return InternalError("election " + election_id + " has no signed tree head");
  ballot::SignedSth out;
  ASSIGN_OR_RETURN(out.sth, ballot::SthFromFields(log_id_hex, static_cast<uint64_t>(r.Int(0, 0)),
                                                  static_cast<uint64_t>(r.Int(0, 1)), r.Text(0, 2)));
  ASSIGN_OR_RETURN(out.signature, ballot::ParseSthSignature(r.Text(0, 3)));
  return out;
}

StatusOr<uint32_t> ParseChoice(const json& vote, const std::vector<std::string>& choices) {
  const std::string listed = json(choices).dump();
  if (vote.is_number_integer()) {
    // Parsed JSON makes non-negative integers unsigned; a json built in code may hold a signed one.
    const bool negative = !vote.is_number_unsigned() && vote.get<int64_t>() < 0;
    const uint64_t i = negative ? choices.size() : vote.get<uint64_t>();
    if (i < choices.size()) return static_cast<uint32_t>(i);
  } else if (vote.is_string()) {
    const std::string& label = vote.get_ref<const std::string&>();
    for (size_t i = 0; i < choices.size(); ++i) {
      if (choices[i] == label) return static_cast<uint32_t>(i);
    }
  }
  return Refusal(kInvalidVoteChoice, StatusCode::kInvalidArgument,
                 "vote must be a choice index 0.." + std::to_string(choices.size() - 1) + " or one of " + listed);
}

struct PendingLeaf {
  uint64_t index = 0;
  std::string commitment;
  std::string vote_id;
  bool is_bot = false;
  Bytes witness;
};

Status InsertLeaves(Conn& c, const std::string& election_id, const std::vector<PendingLeaf>& leaves, int64_t now_ms) {
  for (size_t start = 0; start < leaves.size(); start += kInsertBatch) {
    const size_t end = std::min(leaves.size(), start + kInsertBatch);
    std::string sql = "INSERT INTO ballot_leaves (election_id, idx, commitment, vote_id, is_bot, witness, created_at) VALUES ";
    store::Params params;
    params.reserve((end - start) * 7);
    for (size_t i = start; i < end; ++i) {
      const size_t p = params.size();
      if (i > start) sql += ", ";
      sql += "($" + std::to_string(p + 1);
      for (size_t k = 2; k <= 7; ++k) sql += ", $" + std::to_string(p + k);
      sql += ")";
      const PendingLeaf& l = leaves[i];
      params.emplace_back(election_id);
      params.emplace_back(static_cast<int64_t>(l.index));
      params.emplace_back(l.commitment);
      params.emplace_back(l.vote_id);
      params.emplace_back(l.is_bot);
      params.emplace_back(l.witness);
      params.emplace_back(now_ms);
    }
    RETURN_IF_ERROR(c.Exec(sql, params));
  }
  return OkStatus();
}

std::string WitnessAad(const std::string& election_id, uint64_t index, const std::string& commitment_hex) {
  return std::string(kWitnessAad) + election_id + "|" + std::to_string(index) + "|" + commitment_hex;
}

// nonce || AES-256-GCM(choice (u32 big-endian) || random) under the witness key. The
// plaintext lives on the stack and is wiped (a SecureBuffer is a locked mapping of its own).
StatusOr<Bytes> SealWitnessWith(ByteSpan witness_key, const std::string& election_id, uint64_t index,
                                const std::string& commitment_hex, uint32_t choice, const ballot::VoteRandom& random,
                                ByteSpan nonce) {
  uint8_t plain[kWitnessPlainSize];
  for (size_t i = 0; i < 4; ++i) plain[i] = static_cast<uint8_t>(choice >> (24 - 8 * i));
  std::copy(random.begin(), random.end(), plain + 4);
  const std::string aad = WitnessAad(election_id, index, commitment_hex);
  StatusOr<Bytes> sealed = crypto::Aes256GcmSeal(witness_key, nonce, AsBytes(aad), ByteSpan(plain, sizeof(plain)));
  SecureWipe(plain, sizeof(plain));
  if (!sealed.ok()) return sealed.status();
  Bytes out(nonce.begin(), nonce.end());
  Append(out, *sealed);
  return out;
}

struct Bots {
  std::vector<PendingLeaf> leaves;
  std::vector<ballot::HashOut> commitments;
};

// Bots [begin, end) of `bots`: 64 random bytes each from one draw (a choice byte, sampled by
// rejection and redrawn alone when refused; the vote's random; its vote id; the witness
// nonce), the commitments hashed as one batch, the witnesses sealed.
Status MakeBotChunk(ByteSpan witness_key, const std::string& election_id, const ballot::ElectionId& eid,
                    uint32_t num_choices, uint64_t first_index, size_t begin, size_t end, Bots& bots) {
  constexpr size_t kPer = 64;
  const size_t n = end - begin;
  std::vector<uint8_t> pool(n * kPer);
  std::vector<std::array<stark::Fp, 12>> states(n);
  std::vector<uint32_t> choices(n);
  struct Wipe {
    std::vector<uint8_t>& pool;
    std::vector<std::array<stark::Fp, 12>>& states;
    ~Wipe() {
      SecureWipe(pool.data(), pool.size());
      SecureWipe(states.data(), states.size() * sizeof(states[0]));
    }
  } wipe{pool, states};
  RETURN_IF_ERROR(crypto::RandomBytes(std::span<uint8_t>(pool)));
  const uint32_t limit = 256 - 256 % num_choices;
  for (size_t i = 0; i < n; ++i) {
    uint8_t* p = pool.data() + i * kPer;
    while (p[0] >= limit) RETURN_IF_ERROR(crypto::RandomBytes(std::span<uint8_t>(p, 1)));
    choices[i] = p[0] % num_choices;
    ballot::VoteRandom random;
    std::copy(p + 1, p + 33, random.begin());
    states[i] = ballot::CommitmentState(eid, choices[i], random);
    SecureWipe(random.data(), random.size());
  }
  const std::vector<ballot::HashOut> commitments = ballot::TaggedHashes(states);
  for (size_t i = 0; i < n; ++i) {
    const uint8_t* p = pool.data() + i * kPer;
    const ballot::HashOut& commitment = commitments[i];
    PendingLeaf& leaf = bots.leaves[begin + i];
    leaf.index = first_index + begin + i;
    leaf.is_bot = true;
    leaf.commitment = ballot::FormatHash(commitment);
    leaf.vote_id = crypto::FormatUuidV4(std::span<const uint8_t, 16>(p + 33, 16));
    ballot::VoteRandom random;
    std::copy(p + 1, p + 33, random.begin());
    StatusOr<Bytes> witness = SealWitnessWith(witness_key, election_id, leaf.index, leaf.commitment, choices[i],
                                              random, ByteSpan(p + 49, crypto::kAesGcmNonceSize));
    SecureWipe(random.data(), random.size());
    if (!witness.ok()) return witness.status();
    leaf.witness = std::move(*witness);
    bots.commitments[begin + i] = commitment;
  }
  return OkStatus();
}

// `count` bots with indices from first_index: chunks of 4096 on all threads.
StatusOr<Bots> MakeBots(ByteSpan witness_key, const std::string& election_id, const ballot::ElectionId& eid,
                        uint32_t num_choices, uint64_t first_index, size_t count) {
  Bots bots;
  bots.leaves.resize(count);
  bots.commitments.resize(count);
  constexpr size_t kChunk = 4096;
  const size_t chunks = (count + kChunk - 1) / kChunk;
  std::vector<Status> done(chunks);
  const long long num_chunks = static_cast<long long>(chunks);
#pragma omp parallel for schedule(dynamic) if (num_chunks > 1)
  for (long long c = 0; c < num_chunks; ++c) {
    const size_t begin = static_cast<size_t>(c) * kChunk;
    done[static_cast<size_t>(c)] = MakeBotChunk(witness_key, election_id, eid, num_choices, first_index, begin,
                                                std::min(count, begin + kChunk), bots);
  }
  for (const Status& st : done) RETURN_IF_ERROR(st);
  return bots;
}

}  // namespace

// ---------------------------------------------------------------------------------------

std::string_view ErrorCode(const Status& s) {
  static constexpr std::string_view kCodes[] = {kAlreadyVoted,      kSessionFinalized, kInvalidCommitment,
                                                kInvalidVoteChoice, kDuplicateVote,    kInvalidCapability,
                                                kSessionExpired,    kCaptchaFailed,    kFinalizeInProgress,
                                                kNotVoted,          kNotFinalized,     kInvalidScenario};
  for (std::string_view c : kCodes) {
    if (s.message().size() > c.size() + 1 && s.message().compare(0, c.size(), c) == 0 && s.message()[c.size()] == ':')
      return c;
  }
  return {};
}

Status ValidateElectionOptions(const ElectionOptions& o) {
  if (o.bot_count < 0) return InvalidArgumentError("ballot.bot_count: must be >= 0");
  ballot::ElectionConfig config;
  config.choices = o.choices;
  config.bot_count = static_cast<uint64_t>(o.bot_count);
  RETURN_IF_ERROR(ballot::ValidateElectionConfig(config).Annotate("ballot"));
  if (o.session_ttl_ms <= 0) return InvalidArgumentError("ballot.session_ttl_ms must be > 0");
  if (o.finalized_session_ttl_ms <= 0) return InvalidArgumentError("ballot.finalized_session_ttl_ms must be > 0");
  if (o.tree_cache_elections == 0) return InvalidArgumentError("ballot: the tree cache needs room for one election");
  return OkStatus();
}

StatusOr<ElectionKeys> ElectionKeys::Derive(ByteSpan pepper) {
  if (pepper.size() != 32) return InvalidArgumentError("ballot keys: the pepper must be 32 bytes");
  ElectionKeys k;
  ASSIGN_OR_RETURN(k.capability_key, DeriveCapabilityKey(pepper));
  ASSIGN_OR_RETURN(k.witness_key, crypto::HkdfSha256(pepper, {}, AsBytes(kWitnessKeyInfo), crypto::kAesGcmKeySize));
  return k;
}

StatusOr<ballot::ElectionConfig> ConfigOf(const Election& election) {
  StatusOr<ballot::ElectionConfig> parsed = ballot::ParseElectionConfig(election.config_json);
  if (!parsed.ok()) return InternalError("election " + election.id + ": config is corrupt: " + parsed.status().message());
  return parsed;
}

ballot::LogId ElectionLogId(const crypto::Ed25519Public& log_key, const ballot::ElectionId& election_id) {
  Bytes material;
  Append(material, AsBytes(kLogIdPrefix));
  Append(material, log_key);
  Append(material, election_id);
  return crypto::Sha256(material);
}

json CreatedSessionJson(const CreatedSession& s) {
  return {{"sessionId", s.session.id},
          {"electionId", s.election.id},
          {"electionConfigHash", s.election.config_hash},
          {"logId", s.election.log_id},
          {"capabilityToken", s.capability},
          {"expiresAt", s.session.expires_ms},
          {"choices", s.election.choices},
          {"botCount", s.election.bot_count}};
}

json SthJson(const ballot::SignedSth& s) {
  return {{std::string(ballot::json_names::kLogId), ballot::FormatLogId(s.sth.log_id)},
          {std::string(ballot::json_names::kSthTreeSize), s.sth.tree_size},
          {std::string(ballot::json_names::kTimestamp), s.sth.timestamp_ms},
          {std::string(ballot::json_names::kRoot), ballot::FormatHash(s.sth.root)},
          {std::string(ballot::json_names::kSignature), ballot::FormatSthSignature(s.signature)}};
}

json ReceiptJson(const Receipt& r) {
  return {{"voteId", r.vote_id},
          {"commitment", ballot::FormatHash(r.commitment)},
          {"bulletinIndex", r.index},
          {"bulletinRootAtCast", ballot::FormatHash(r.root_at_cast)},
          {"treeSizeAtCast", r.tree_size_at_cast},
          {"timestamp", r.timestamp_ms},
          {"sth", SthJson(r.sth)}};
}

StatusOr<VoteInput> ParseVoteInput(const json& body) {
  if (!body.is_object()) return InvalidArgumentError("body: expected a JSON object");
  VoteInput in;
  bool has_vote = false;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    if (k == "commitment") {
      if (!it->is_string()) return InvalidArgumentError("commitment: must be a string (64 lower-case hex digits)");
      in.commitment = it->get<std::string>();
    } else if (k == "rand") {
      if (!it->is_string()) return InvalidArgumentError("rand: must be a string (64 lower-case hex digits)");
      in.rand = it->get<std::string>();
    } else if (k == "vote") {
      in.vote = *it;
      has_vote = true;
    } else if (k == "turnstileToken") {
      if (!it->is_string() && !it->is_null()) return InvalidArgumentError("turnstileToken: must be a string");
    } else {
      return InvalidArgumentError("unknown field \"" + k + "\" (commitment, vote, rand, turnstileToken)");
    }
  }
  if (!body.contains("commitment")) return InvalidArgumentError("commitment: required");
  if (!body.contains("rand")) return InvalidArgumentError("rand: required");
  if (!has_vote) return InvalidArgumentError("vote: required");
  return in;
}

// ---------------------------------------------------------------------------------------

struct ElectionService::TreeEntry {
  std::mutex mu;
  ballot::BulletinTree tree;  // GUARDED_BY(mu)
  uint64_t last_used = 0;     // GUARDED_BY(ElectionService::trees_mu_)
};

ElectionService::ElectionService(store::Db& db, ElectionKeys keys, std::shared_ptr<const LogSigner> log_key,
                                 ElectionOptions options)
    : db_(db), keys_(std::move(keys)), log_key_(std::move(log_key)), options_(std::move(options)) {}

ElectionService::~ElectionService() = default;

std::shared_ptr<ElectionService::TreeEntry> ElectionService::Tree(const std::string& election_id) {
  std::lock_guard<std::mutex> lock(trees_mu_);
  auto it = trees_.find(election_id);
  if (it == trees_.end()) {
    if (trees_.size() >= options_.tree_cache_elections) {
      auto oldest = trees_.begin();
      for (auto t = trees_.begin(); t != trees_.end(); ++t) {
        if (t->second->last_used < oldest->second->last_used) oldest = t;
      }
      trees_.erase(oldest);  // a user still holding it finishes with its own copy
    }
    it = trees_.emplace(election_id, std::make_shared<TreeEntry>()).first;
  }
  it->second->last_used = ++tree_clock_;
  return it->second;
}

void ElectionService::DropTree(const std::string& election_id) {
  std::lock_guard<std::mutex> lock(trees_mu_);
  trees_.erase(election_id);
}

Status ElectionService::SyncTree(Conn& c, const std::string& election_id, TreeEntry& entry, uint64_t size) {
  if (entry.tree.size() > size) entry.tree = ballot::BulletinTree();
  if (entry.tree.size() == 0 && size > 0) entry.tree.Reserve(size);
  while (entry.tree.size() < size) {
    const uint64_t from = entry.tree.size();
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT idx, commitment FROM ballot_leaves WHERE election_id = $1 AND idx >= $2"
                                     " AND idx < $3 ORDER BY idx LIMIT $4",
                                     {Value(election_id), Value(static_cast<int64_t>(from)),
                                      Value(static_cast<int64_t>(size)), Value(kSyncPage)}));
    if (r.empty()) return InternalError("election " + election_id + ": leaves missing from " + std::to_string(from));
    std::vector<ballot::HashOut> page;
    page.reserve(r.size());
    for (size_t i = 0; i < r.size(); ++i) {
      if (r.Int(i, 0) != static_cast<int64_t>(from + i)) {
        return InternalError("election " + election_id + ": the bulletin has a gap at " + std::to_string(from + i));
      }
      StatusOr<ballot::HashOut> commitment = ballot::ParseHash(r.Text(i, 1));
      if (!commitment.ok()) return InternalError("election " + election_id + ": a stored commitment is corrupt");
      page.push_back(*commitment);
    }
    entry.tree.AppendMany(page);
  }
  return OkStatus();
}

StatusOr<ballot::SignedSth> ElectionService::SignHead(const std::string& log_id_hex, uint64_t tree_size,
                                                      int64_t now_ms, const ballot::HashOut& root) const {
  ballot::SignedSth out;
  ASSIGN_OR_RETURN(out.sth.log_id, ballot::ParseLogId(log_id_hex));
  out.sth.tree_size = tree_size;
  out.sth.timestamp_ms = static_cast<uint64_t>(now_ms);
  out.sth.root = root;
  RETURN_IF_ERROR(ballot::ValidateSth(out.sth));
  ASSIGN_OR_RETURN(crypto::Ed25519Signature sig, log_key_->Sign(ballot::SthMessage(out.sth)));
  out.signature = sig;
  return out;
}

StatusOr<Bytes> ElectionService::SealWitness(const std::string& election_id, uint64_t index,
                                             const ballot::HashOut& commitment, uint32_t choice,
                                             const ballot::VoteRandom& random) const {
  uint8_t nonce[crypto::kAesGcmNonceSize];
  RETURN_IF_ERROR(crypto::RandomBytes(std::span<uint8_t>(nonce)));
  return SealWitnessWith(keys_.witness_key.view(), election_id, index, ballot::FormatHash(commitment), choice, random,
                         ByteSpan(nonce, sizeof(nonce)));
}

StatusOr<Election> ElectionService::NewElection(int64_t now_ms) const {
  Election e;
  ASSIGN_OR_RETURN(e.id, crypto::RandomUuid());
  ASSIGN_OR_RETURN(ballot::ElectionId eid, ballot::ParseElectionId(e.id));
  e.choices = options_.choices;
  e.bot_count = options_.bot_count;
  ballot::ElectionConfig config;
  config.election_id = eid;
  config.choices = e.choices;
  config.bot_count = static_cast<uint64_t>(e.bot_count);
  config.log_id = ElectionLogId(log_key_->public_key(), eid);
  RETURN_IF_ERROR(ballot::ValidateElectionConfig(config));
  e.config_json = ballot::CanonicalConfigJson(config);
  e.config_hash = ballot::FormatHash(ballot::ElectionConfigHash(config));
  e.log_id = ballot::FormatLogId(config.log_id);
  e.state = "open";
  e.created_ms = now_ms;
  return e;
}

StatusOr<CreatedSession> ElectionService::CreateSession(int64_t now_ms) {
  CreatedSession out;
  out.session.created_ms = now_ms;
  out.session.expires_ms = now_ms + options_.session_ttl_ms;
  const int64_t capability_expires_s = now_ms / 1000 + kCapabilityTtlS;
  // Shared mode: two gateways may both create "the" open election; the unique slot lets one
  // win and the other join it on its next try.
  for (int attempt = 0;; ++attempt) {
    ASSIGN_OR_RETURN(out.session.id, crypto::RandomUuid());
    std::optional<Election> existing;
    if (options_.shared_election) {
      RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
        ASSIGN_OR_RETURN(Rows r, c.Query("SELECT " + std::string(kElectionColumns) +
                                         " FROM ballot_elections WHERE shared_slot = 'open'"));
        if (!r.empty()) {
          ASSIGN_OR_RETURN(Election e, ElectionAt(r, 0));
          existing = std::move(e);
        }
        return OkStatus();
      }));
    }
    std::optional<Election> fresh;
    std::optional<ballot::SignedSth> head;
    if (!existing) {
      ASSIGN_OR_RETURN(Election e, NewElection(now_ms));
      ASSIGN_OR_RETURN(ballot::SignedSth h, SignHead(e.log_id, 0, now_ms, ballot::EmptyRoot()));
      fresh = std::move(e);
      head = h;
    }
    const Election& election = existing ? *existing : *fresh;
    const Status s = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
      if (fresh) {
        RETURN_IF_ERROR(c.Exec("INSERT INTO ballot_elections (" + std::string(kElectionColumns) +
                                   ", shared_slot) VALUES ($1, $2, $3, $4, $5, 0, 0, 0, 'open', $6, NULL, $7)",
                               {Value(fresh->id), Value(fresh->config_json), Value(fresh->config_hash),
                                Value(fresh->log_id), Value(fresh->bot_count), Value(now_ms),
                                options_.shared_election ? Value("open") : Value::Null()}));
        RETURN_IF_ERROR(c.Exec("INSERT INTO ballot_sths (election_id, tree_size, signed_at, root, signature)"
                               " VALUES ($1, 0, $2, $3, $4)",
                               {Value(fresh->id), Value(now_ms), Value(ballot::FormatHash(head->sth.root)),
                                Value(ballot::FormatSthSignature(head->signature))}));
      }
      ASSIGN_OR_RETURN(Rows joined, c.Query("UPDATE ballot_elections SET voters = voters + 1 WHERE id = $1 AND state = 'open'",
                                            {Value(election.id)}));
      if (joined.affected != 1) return FailedPreconditionError("ballot: the shared election was finalized meanwhile");
      return c.Exec("INSERT INTO ballot_sessions (" + std::string(kSessionColumns) +
                        ") VALUES ($1, $2, $3, 0, NULL, $4, $5)",
                    {Value(out.session.id), Value(election.id), Value(capability_expires_s), Value(now_ms),
                     Value(out.session.expires_ms)});
    });
    const bool lost_race = options_.shared_election &&
                           (s.code() == StatusCode::kAlreadyExists || s.code() == StatusCode::kFailedPrecondition);
    if (lost_race && attempt < 4) continue;
    RETURN_IF_ERROR(s);
    out.election = election;
    out.election.voters += 1;
    out.session.election_id = election.id;
    out.capability = MintCapability(keys_.capability_key.view(), {out.session.id, election.id, capability_expires_s});
    return out;
  }
}

StatusOr<SessionContext> ElectionService::Authenticate(std::string_view session_id, std::string_view capability,
                                                       int64_t now_ms) {
  if (session_id.empty()) {
    return Refusal(kInvalidCapability, StatusCode::kUnauthenticated, "X-Session-ID is missing");
  }
  if (!ballot::ParseElectionId(session_id).ok()) {
    return Refusal(kInvalidCapability, StatusCode::kUnauthenticated, "X-Session-ID must be a lower-case UUID");
  }
  ASSIGN_OR_RETURN(CapabilityClaims claims, VerifyCapability(keys_.capability_key.view(), capability, session_id, now_ms));
  SessionContext ctx;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT " + std::string(kSessionColumns) + " FROM ballot_sessions WHERE id = $1",
                                     {Value(std::string(session_id))}));
    // The MAC says we issued the token, so a missing row is a swept (expired) session.
    if (r.empty()) return Refusal(kSessionExpired, StatusCode::kUnauthenticated, "the session expired; create a new one");
    ctx.session = SessionAt(r, 0);
    if (ctx.session.election_id != claims.election_id || r.Int(0, 2) != claims.expires_s) {
      return Refusal(kInvalidCapability, StatusCode::kUnauthenticated, "the token does not belong to this session");
    }
    if (ctx.session.expires_ms <= now_ms) {
      return Refusal(kSessionExpired, StatusCode::kUnauthenticated, "the session expired; create a new one");
    }
    ASSIGN_OR_RETURN(ctx.election, LoadElection(c, ctx.session.election_id, false));
    return OkStatus();
  }));
  return ctx;
}

StatusOr<Receipt> ElectionService::CastVote(const SessionContext& ctx, const VoteInput& vote, int64_t now_ms) {
  const Election& election = ctx.election;
  // Quick refusals from the state read at authentication; all are checked again under the lock.
  if (election.state != "open") {
    return Refusal(kSessionFinalized, StatusCode::kFailedPrecondition, "the election is finalized; no more votes");
  }
  if (ctx.session.voted) {
    return Refusal(kAlreadyVoted, StatusCode::kFailedPrecondition, "this session has voted already");
  }
  ASSIGN_OR_RETURN(uint32_t choice, ParseChoice(vote.vote, election.choices));
  StatusOr<ballot::VoteRandom> random = ballot::ParseVoteRandom(vote.rand);
  if (!random.ok()) return InvalidArgumentError("rand: " + random.status().message());
  StatusOr<ballot::HashOut> commitment = ballot::ParseHash(vote.commitment);
  if (!commitment.ok()) {
    return Refusal(kInvalidCommitment, StatusCode::kInvalidArgument, "commitment: " + commitment.status().message());
  }
  ASSIGN_OR_RETURN(ballot::ElectionId eid, ballot::ParseElectionId(election.id));
  if (!ballot::CheckCommitment(*commitment, eid, choice, *random).ok()) {
    return Refusal(kInvalidCommitment, StatusCode::kInvalidArgument,
                   "the commitment does not open to (electionId, vote, rand)");
  }
  const std::string commitment_hex = ballot::FormatHash(*commitment);
  const uint32_t num_choices = static_cast<uint32_t>(election.choices.size());

  std::shared_ptr<TreeEntry> entry = Tree(election.id);
  std::lock_guard<std::mutex> lock(entry->mu);
  Receipt receipt;
  const Status s = db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election.id, true));  // the single-writer lock
    if (e.state != "open") {
      return Refusal(kSessionFinalized, StatusCode::kFailedPrecondition, "the election is finalized; no more votes");
    }
    ASSIGN_OR_RETURN(Rows sess, c.Query("SELECT voted, expires_at FROM ballot_sessions WHERE id = $1" + Lock(c),
                                        {Value(ctx.session.id)}));
    if (sess.empty() || sess.Int(0, 1) <= now_ms) {
      return Refusal(kSessionExpired, StatusCode::kUnauthenticated, "the session expired; create a new one");
    }
    if (sess.Int(0, 0) != 0) return Refusal(kAlreadyVoted, StatusCode::kFailedPrecondition, "this session has voted already");
    ASSIGN_OR_RETURN(Rows dup, c.Query("SELECT idx FROM ballot_leaves WHERE election_id = $1 AND commitment = $2",
                                       {Value(election.id), Value(commitment_hex)}));
    if (!dup.empty()) {
      return Refusal(kDuplicateVote, StatusCode::kFailedPrecondition,
                     "this commitment is already on the bulletin (leaf " + std::to_string(dup.Int(0, 0)) + ")");
    }
    const uint64_t size = static_cast<uint64_t>(e.tree_size);
    RETURN_IF_ERROR(SyncTree(c, election.id, *entry, size));
    ballot::BulletinTree& tree = entry->tree;

    std::vector<PendingLeaf> leaves;
    PendingLeaf mine;
    mine.index = size;
    mine.commitment = commitment_hex;
    ASSIGN_OR_RETURN(mine.vote_id, crypto::RandomUuid());
    ASSIGN_OR_RETURN(mine.witness, SealWitness(election.id, size, *commitment, choice, *random));
    tree.Append(*commitment);
    receipt.vote_id = mine.vote_id;
    receipt.index = size;
    leaves.push_back(std::move(mine));

    if (!e.bots_cast && e.bot_count > 0) {
      ASSIGN_OR_RETURN(Bots bots, MakeBots(keys_.witness_key.view(), election.id, eid, num_choices, tree.size(),
                                           static_cast<size_t>(e.bot_count)));
      tree.AppendMany(bots.commitments);
      leaves.reserve(1 + bots.leaves.size());
      for (PendingLeaf& bot : bots.leaves) leaves.push_back(std::move(bot));
    }
    RETURN_IF_ERROR(InsertLeaves(c, election.id, leaves, now_ms));
    RETURN_IF_ERROR(c.Exec("UPDATE ballot_elections SET tree_size = $2, bots_cast = 1 WHERE id = $1",
                           {Value(election.id), Value(static_cast<int64_t>(tree.size()))}));
    RETURN_IF_ERROR(c.Exec("UPDATE ballot_sessions SET voted = 1, vote_id = $2 WHERE id = $1",
                           {Value(ctx.session.id), Value(receipt.vote_id)}));
    // The tree at cast is the head this transaction signs (the voter's leaf and, on the first
    // vote, the bots'), so the receipt's root at cast is signed (docs/bundle_format.md).
    receipt.tree_size_at_cast = tree.size();
    receipt.root_at_cast = tree.Root();
    ASSIGN_OR_RETURN(receipt.sth, SignHead(e.log_id, tree.size(), now_ms, tree.Root()));
    return c.Exec("INSERT INTO ballot_sths (election_id, tree_size, signed_at, root, signature) VALUES ($1, $2, $3, $4, $5)",
                  {Value(election.id), Value(static_cast<int64_t>(tree.size())), Value(now_ms),
                   Value(ballot::FormatHash(receipt.sth.sth.root)),
                   Value(ballot::FormatSthSignature(receipt.sth.signature))});
  });
  if (!s.ok()) {
    // The tree may hold leaves that did not commit: the next user rebuilds it from the store.
    DropTree(election.id);
    return s;
  }
  receipt.election_id = election.id;
  receipt.commitment = *commitment;
  receipt.timestamp_ms = now_ms;
  return receipt;
}

StatusOr<Election> ElectionService::GetElection(const std::string& election_id) {
  Election out;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(out, LoadElection(c, election_id, false));
    return OkStatus();
  }));
  return out;
}

StatusOr<json> ElectionService::Progress(const std::string& election_id) {
  ASSIGN_OR_RETURN(Election e, GetElection(election_id));
  json out = {{"electionId", e.id},
              {"votesCast", e.tree_size},
              {"expected", e.voters + e.bot_count},
              {"state", e.state}};
  out["finalizedAt"] = e.finalized_ms ? json(*e.finalized_ms) : json(nullptr);
  return out;
}

StatusOr<json> ElectionService::Bulletin(const std::string& election_id, int64_t offset, int64_t limit) {
  if (offset < 0) return InvalidArgumentError("offset: must be >= 0");
  if (limit < 1 || limit > kMaxBulletinPage) return InvalidArgumentError("limit: must be 1..1000");
  json out;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election_id, false));
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT idx, commitment FROM ballot_leaves WHERE election_id = $1 AND idx >= $2"
                                     " AND idx < $3 ORDER BY idx LIMIT $4",
                                     {Value(election_id), Value(offset), Value(e.tree_size), Value(limit)}));
    json commitments = json::array();
    for (size_t i = 0; i < r.size(); ++i) commitments.push_back(r.Text(i, 1));
    out = {{"electionId", election_id}, {"treeSize", e.tree_size}, {"offset", offset}, {"limit", limit},
           {"commitments", std::move(commitments)}};
    return OkStatus();
  }));
  return out;
}

StatusOr<ballot::SignedSth> ElectionService::LatestSth(const std::string& election_id) {
  ballot::SignedSth out;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election_id, false));
    ASSIGN_OR_RETURN(out, LoadLatestSth(c, election_id, e.log_id));
    return OkStatus();
  }));
  return out;
}

StatusOr<json> ElectionService::InclusionProof(const std::string& election_id, std::string_view vote_id) {
  std::shared_ptr<TreeEntry> entry = Tree(election_id);
  std::lock_guard<std::mutex> lock(entry->mu);
  json out;
  const Status s = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election_id, false));
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT idx, commitment FROM ballot_leaves WHERE election_id = $1 AND vote_id = $2",
                                     {Value(election_id), Value(std::string(vote_id))}));
    if (r.empty()) return NotFoundError("no vote " + std::string(vote_id) + " in this election");
    const uint64_t index = static_cast<uint64_t>(r.Int(0, 0));
    ASSIGN_OR_RETURN(ballot::SignedSth head, LoadLatestSth(c, election_id, e.log_id));
    RETURN_IF_ERROR(SyncTree(c, election_id, *entry, head.sth.tree_size));
    ASSIGN_OR_RETURN(ballot::HashOut root, entry->tree.Root(head.sth.tree_size));
    if (root != head.sth.root) return InternalError("election " + election_id + ": the signed head disagrees with its leaves");
    ASSIGN_OR_RETURN(std::vector<ballot::HashOut> path, entry->tree.InclusionProof(index, head.sth.tree_size));
    out = {{std::string(ballot::json_names::kLeafIndex), index},
           {std::string(ballot::json_names::kTreeSize), head.sth.tree_size},
           {std::string(ballot::json_names::kCommitment), r.Text(0, 1)},
           {std::string(ballot::json_names::kPath), ballot::FormatHashList(path)},
           {"sth", SthJson(head)}};
    return OkStatus();
  });
  if (!s.ok() && s.code() != StatusCode::kNotFound) DropTree(election_id);
  RETURN_IF_ERROR(s);
  return out;
}

StatusOr<json> ElectionService::ConsistencyProof(const std::string& election_id, int64_t old_size, int64_t new_size) {
  if (old_size < 1) return InvalidArgumentError("oldSize: must be >= 1");
  if (new_size < old_size) return InvalidArgumentError("newSize: must be >= oldSize");
  std::shared_ptr<TreeEntry> entry = Tree(election_id);
  std::lock_guard<std::mutex> lock(entry->mu);
  json out;
  const Status s = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election_id, false));
    ASSIGN_OR_RETURN(ballot::SignedSth head, LoadLatestSth(c, election_id, e.log_id));
    if (static_cast<uint64_t>(new_size) > head.sth.tree_size) {
      return InvalidArgumentError("newSize: larger than the latest signed head (" + std::to_string(head.sth.tree_size) +
                                  ")");
    }
    RETURN_IF_ERROR(SyncTree(c, election_id, *entry, head.sth.tree_size));
    ASSIGN_OR_RETURN(std::vector<ballot::HashOut> proof,
                     entry->tree.ConsistencyProof(static_cast<uint64_t>(old_size), static_cast<uint64_t>(new_size)));
    out = {{std::string(ballot::json_names::kOldSize), old_size},
           {std::string(ballot::json_names::kNewSize), new_size},
           {std::string(ballot::json_names::kProof), ballot::FormatHashList(proof)}};
    return OkStatus();
  });
  if (!s.ok() && s.code() != StatusCode::kInvalidArgument) DropTree(election_id);
  RETURN_IF_ERROR(s);
  return out;
}

StatusOr<int64_t> ElectionService::SweepExpiredSessions(int64_t now_ms) {
  int64_t deleted = 0;
  RETURN_IF_ERROR(db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Rows r, c.Query("DELETE FROM ballot_sessions WHERE expires_at <= $1", {Value(now_ms)}));
    deleted = r.affected;
    return OkStatus();
  }));
  return deleted;
}

Status ElectionService::RegisterSweepHandler(store::WorkerPool& pool) {
  return pool.Register(std::string(kSessionSweepQueue), [this](store::JobContext&) {
    StatusOr<int64_t> n = SweepExpiredSessions(SystemMs());
    if (!n.ok()) return store::JobResult::Retry(n.status().ToString());
    return store::JobResult::Success(json{{"deleted", *n}}.dump());
  });
}

Status ElectionService::ScheduleSweep(int64_t now_ms) {
  store::JobQueue jobs(db_);
  ASSIGN_OR_RETURN(int64_t depth, jobs.Depth(kSessionSweepQueue));
  if (depth > 0) return OkStatus();
  store::JobOptions o;
  o.max_attempts = 3;
  return jobs.Enqueue(kSessionSweepQueue, "{}", o, now_ms).status();
}

namespace {

constexpr std::string_view kLeafColumns =
    "SELECT idx, commitment, vote_id, is_bot, witness, created_at FROM ballot_leaves";
// The same columns without a vote's id, bot flag and time (the tally needs none of them):
// fewer values to materialize for 2^20 rows.
constexpr std::string_view kLeafWitnessColumns =
    "SELECT idx, commitment, '', CAST(0 AS BIGINT), witness, CAST(0 AS BIGINT) FROM ballot_leaves";

// Row i of a kLeafColumns query, its witness opened. Empty when it is sound, else why not.
std::string OpenLeafRow(const Rows& r, size_t i, const std::string& election_id, const Election& e,
                        ByteSpan witness_key, LeafRecord& l) {
  l.index = static_cast<uint64_t>(r.Int(i, 0));
  StatusOr<ballot::HashOut> commitment = ballot::ParseHash(r.Text(i, 1));
  if (!commitment.ok()) return "a stored commitment is corrupt";
  l.commitment = *commitment;
  l.vote_id = r.Text(i, 2);
  l.is_bot = r.Int(i, 3) != 0;
  l.created_ms = r.Int(i, 5);
  const Bytes& sealed = r.Blob(i, 4);
  if (sealed.size() != crypto::kAesGcmNonceSize + kWitnessPlainSize + crypto::kAesGcmTagSize) {
    return "witness " + std::to_string(l.index) + " is malformed";
  }
  const ByteSpan all(sealed);
  const std::string aad = WitnessAad(election_id, l.index, r.Text(i, 1));
  // Opened into the stack and wiped there: a SecureBuffer per leaf would map and lock a page
  // per leaf (a 2^20-vote tally spent most of its planning in mmap and mlock).
  uint8_t p[kWitnessPlainSize];
  const Status opened = crypto::Aes256GcmOpenInto(witness_key, all.first(crypto::kAesGcmNonceSize),
                                                  AsBytes(aad), all.subspan(crypto::kAesGcmNonceSize), p);
  if (!opened.ok()) return "witness " + std::to_string(l.index) + " does not open (another pepper, or a tampered row)";
  l.choice = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  std::copy(p + 4, p + kWitnessPlainSize, l.random.begin());
  SecureWipe(p, sizeof(p));
  if (l.choice >= e.choices.size()) return "a witness has a bad choice";
  return "";
}

}  // namespace

StatusOr<std::vector<LeafRecord>> ElectionService::Leaves(const std::string& election_id, bool details) {
  Election e;
  Rows r;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(e, LoadElection(c, election_id, false));
    const std::string_view columns = details ? kLeafColumns : kLeafWitnessColumns;
    ASSIGN_OR_RETURN(r, c.Query(std::string(columns) + " WHERE election_id = $1 AND idx < $2 ORDER BY idx",
                                {Value(election_id), Value(e.tree_size)}));
    return OkStatus();
  }));
  if (r.size() != static_cast<size_t>(e.tree_size)) return InternalError("election " + election_id + ": leaves missing");
  // Opening 2^20 witnesses is most of a large tally's planning: on every core, and the first
  // problem in bulletin order is the one reported.
  std::vector<LeafRecord> out(r.size());
  std::vector<std::string> problems(r.size());
  const ByteSpan key = keys_.witness_key.view();
  const auto count = static_cast<long long>(r.size());
#pragma omp parallel for schedule(static) if (count >= 4096)
  for (long long ii = 0; ii < count; ++ii) {
    const auto i = static_cast<size_t>(ii);
    problems[i] = OpenLeafRow(r, i, election_id, e, key, out[i]);
    if (problems[i].empty() && out[i].index != i) problems[i] = "the bulletin has a gap";
  }
  for (const std::string& why : problems) {
    if (!why.empty()) {
      for (LeafRecord& l : out) SecureWipe(l.random.data(), l.random.size());
      return InternalError("election " + election_id + ": " + why);
    }
  }
  return out;
}

StatusOr<std::vector<ballot::HashOut>> ElectionService::Commitments(const std::string& election_id) {
  std::vector<ballot::HashOut> out;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election_id, false));
    ASSIGN_OR_RETURN(Rows r, c.Query("SELECT commitment FROM ballot_leaves WHERE election_id = $1 AND idx < $2 ORDER BY idx",
                                     {Value(election_id), Value(e.tree_size)}));
    if (r.size() != static_cast<size_t>(e.tree_size)) return InternalError("election " + election_id + ": leaves missing");
    out.resize(r.size());
    for (size_t i = 0; i < r.size(); ++i) {
      StatusOr<ballot::HashOut> commitment = ballot::ParseHash(r.Text(i, 0));
      if (!commitment.ok()) return InternalError("election " + election_id + ": a stored commitment is corrupt");
      out[i] = *commitment;
    }
    return OkStatus();
  }));
  return out;
}

Status ElectionService::WithBulletinTree(const std::string& election_id,
                                         const std::function<Status(const ballot::BulletinTree&)>& fn) {
  std::shared_ptr<TreeEntry> entry = Tree(election_id);
  std::lock_guard<std::mutex> lock(entry->mu);
  const Status synced = db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election_id, false));
    return SyncTree(c, election_id, *entry, static_cast<uint64_t>(e.tree_size));
  });
  if (!synced.ok()) {
    DropTree(election_id);
    return synced;
  }
  return fn(entry->tree);
}

StatusOr<LeafRecord> ElectionService::LeafOfVote(const std::string& election_id, const std::string& vote_id) {
  LeafRecord out;
  RETURN_IF_ERROR(db_.Transact(TxMode::kRead, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election_id, false));
    ASSIGN_OR_RETURN(Rows r, c.Query(std::string(kLeafColumns) + " WHERE election_id = $1 AND vote_id = $2",
                                     {Value(election_id), Value(vote_id)}));
    if (r.empty()) return NotFoundError("the vote is not on the board");
    const std::string why = OpenLeafRow(r, 0, election_id, e, keys_.witness_key.view(), out);
    if (!why.empty()) {
      SecureWipe(out.random.data(), out.random.size());
      return InternalError("election " + election_id + ": " + why);
    }
    return OkStatus();
  }));
  return out;
}

StatusOr<ballot::TallyInput> ElectionService::TallyInputOf(const std::string& election_id) {
  ASSIGN_OR_RETURN(Election e, GetElection(election_id));
  ASSIGN_OR_RETURN(ballot::ElectionConfig config, ConfigOf(e));
  ASSIGN_OR_RETURN(std::vector<LeafRecord> leaves, Leaves(election_id, /*details=*/false));
  ballot::TallyInput in;
  in.election_id = config.election_id;
  in.config_hash = ballot::ElectionConfigHash(config);
  in.num_choices = static_cast<uint32_t>(config.choices.size());
  in.leaves.reserve(leaves.size());
  for (LeafRecord& l : leaves) {
    in.leaves.push_back(ballot::LeafWitness{l.commitment, false, l.choice, l.random});
    SecureWipe(l.random.data(), l.random.size());
  }
  return in;
}

Status ElectionService::MarkFinalized(const std::string& election_id, int64_t now_ms) {
  return db_.Transact(TxMode::kWrite, [&](Conn& c) -> Status {
    ASSIGN_OR_RETURN(Election e, LoadElection(c, election_id, true));
    if (e.state == "finalized") return OkStatus();
    RETURN_IF_ERROR(c.Exec("UPDATE ballot_elections SET state = 'finalized', finalized_at = $2, shared_slot = NULL"
                           " WHERE id = $1",
                           {Value(election_id), Value(now_ms)}));
    return c.Exec("UPDATE ballot_sessions SET expires_at = $2 WHERE election_id = $1",
                  {Value(election_id), Value(now_ms + options_.finalized_session_ttl_ms)});
  });
}

}  // namespace vp::election
