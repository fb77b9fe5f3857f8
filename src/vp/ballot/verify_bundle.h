// The verification checks of a ballot bundle and, optionally, one voter's receipt: every
// check of docs/bundle_format.md section 9 (cast-as-intended, recorded-as-cast,
// counted-as-recorded, proof), each reported with its evidence kind, status and reason.
//
//   VerificationReport r = VerifyBundleFiles(files, receipt_text, ed25519_verify);
//   if (!r.valid) for (const CheckResult& c : r.checks) if (c.status == CheckStatus::kFail) ...
//   std::cout << ReportToJson(r).dump();
//
// Works on the files' bytes, not on the zip (bundle.h reads the zip natively; the browser
// unzips in JS), and takes Ed25519 as a function, so it needs neither libzip nor OpenSSL.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vp/ballot/election.h"
#include "vp/base/bytes.h"

namespace vp::ballot {

// Where a check's evidence comes from: the voter's own secrets (local), the log's signed
// heads and proofs (public), or the tally proof and its statement (proof).
enum class Evidence { kLocal, kPublic, kProof };
enum class CheckStatus { kPass, kFail, kSkipped };
std::string_view EvidenceName(Evidence e);        // "local", "public", "proof"
std::string_view CheckStatusName(CheckStatus s);  // "pass", "fail", "skipped"

// The check ids, in report order.
namespace check_ids {
inline constexpr std::string_view kReceiptPresent = "receiptPresent";
inline constexpr std::string_view kChoiceValid = "choiceValid";
inline constexpr std::string_view kRandomWellFormed = "randomWellFormed";
inline constexpr std::string_view kCommitmentRecomputes = "commitmentRecomputes";
inline constexpr std::string_view kCommitmentOnBoard = "commitmentOnBoard";
inline constexpr std::string_view kRootAtCastConsistent = "rootAtCastConsistent";
inline constexpr std::string_view kSthSignature = "sthSignature";
inline constexpr std::string_view kClaimedEqualsProven = "claimedEqualsProven";
inline constexpr std::string_view kNoExcludedSlots = "noExcludedSlots";
inline constexpr std::string_view kTreeSizeMatches = "treeSizeMatches";
inline constexpr std::string_view kRootMatches = "rootMatches";
inline constexpr std::string_view kMyVoteCounted = "myVoteCounted";
inline constexpr std::string_view kProofVerifies = "proofVerifies";
inline constexpr std::string_view kVerifierVersion = "verifierVersion";
inline constexpr std::string_view kConfigHashMatches = "configHashMatches";
}  // namespace check_ids

struct CheckResult {
  std::string id;
  std::string group;  // "cast-as-intended", "recorded-as-cast", "counted-as-recorded", "proof"
  Evidence evidence = Evidence::kPublic;
  CheckStatus status = CheckStatus::kFail;
  std::string detail;  // why it passed, failed or was skipped
};

struct VerificationReport {
  bool valid = false;  // no check failed (and the bundle could be read)
  std::string error;   // set when the bundle could not be read at all; then no checks
  std::vector<CheckResult> checks;
  // The statement's counts by choice name, when the statement and the config could be read
  // (whether or not the proof verifies: `valid` says whether to believe them).
  std::optional<std::vector<std::pair<std::string, uint64_t>>> tally;

  const CheckResult* Find(std::string_view id) const;
  std::vector<std::string> FailedChecks() const;  // ids, in report order
};

// Ed25519 (RFC 8032) verification: true when signature is valid for message under public_key.
using KeyedEd25519VerifyFn =
    std::function<bool(ByteSpan public_key, ByteSpan message, ByteSpan signature)>;

// Runs every check. receipt_json: the voter's receipt.json text, or nullopt (the checks that
// need it are then skipped). Never fails and never throws: an unreadable file fails the
// checks that need it, with the reason.
VerificationReport VerifyBundleFiles(const BundleFiles& files,
                                     const std::optional<std::string>& receipt_json,
                                     const KeyedEd25519VerifyFn& ed25519_verify);

// The report of a bundle that could not be read (a malformed zip): valid = false.
VerificationReport UnreadableBundleReport(std::string reason);

// {"valid", "error"?, "checks": [{"id","group","evidence","status","detail"}], "tally"}
// (tally: {choice name: count} or null).
nlohmann::json ReportToJson(const VerificationReport& report);

}  // namespace vp::ballot
