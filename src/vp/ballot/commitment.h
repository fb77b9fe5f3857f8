// Vote commitments and the ballot's field encodings (format: docs/ballot_log.md, version 1).
// A commitment binds (election id, choice index, 256-bit random) with one width-12 Poseidon2
// permutation over Goldilocks, so the tally AIR can recompute it cheaply; the same tagged
// hash gives the bulletin log its leaf and node hashes (bulletin.h).
//
//   ASSIGN_OR_RETURN(ElectionId eid, ParseElectionId("0f8c5b1e-2a47-4d3b-9c61-7e5a3f2d1b09"));
//   ASSIGN_OR_RETURN(VoteRandom r, ParseVoteRandom(rand_hex));
//   HashOut c = ComputeCommitment(eid, /*choice=*/2, r);
//   std::string wire = FormatHash(c);             // 64 lower-case hex digits
//   ASSIGN_OR_RETURN(HashOut back, ParseHash(wire));
//
// Everything here depends only on the standard library, vp/base status and bytes, and
// vp::stark, so it compiles to WebAssembly.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vp/base/bytes.h"
#include "vp/base/status.h"
#include "vp/stark/field.h"
#include "vp/stark/poseidon2.h"

namespace vp::ballot {

using stark::Fp;
using stark::HashOut;

// The domain strings. Each becomes one field element, its tag (DomainTag).
inline constexpr std::string_view kCommitDomain = "vaultproof:commit:v1";
inline constexpr std::string_view kLeafDomain = "vaultproof:leaf:v1";
inline constexpr std::string_view kNodeDomain = "vaultproof:node:v1";
inline constexpr std::string_view kEmptyDomain = "vaultproof:empty:v1";

// The election id: a UUID's 16 bytes in their textual (RFC 9562 network) order.
using ElectionId = ByteArray<16>;
// The voter's 256-bit random, chosen by the browser; any 32 bytes are valid.
using VoteRandom = ByteArray<32>;

// Splits bytes into little-endian limbs of 7 bytes (56 bits, so every limb is < p); the last
// limb holds what is left. 16 bytes -> 3 limbs (56, 56, 16 bits), 32 bytes -> 5 limbs
// (56 x 4, 32 bits). Injective for a fixed length.
std::vector<Fp> BytesToLimbs(ByteSpan bytes);

// The tag of a domain string: element 0 of Poseidon2Hash(BytesToLimbs(ASCII bytes)).
// Computed at run time here; the values of the four domains are pinned in the tests and docs.
Fp DomainTag(std::string_view domain);
Fp CommitTag();  // DomainTag(kCommitDomain), computed once
Fp LeafTag();
Fp NodeTag();
Fp EmptyTag();

// The one hash of the ballot: the first 4 lanes of Poseidon2<12>::Permute applied to
// [tag, inputs..., 0, ..., 0]. Every use has a fixed number of inputs and its own tag, so the
// encoding is unambiguous. inputs.size() <= 11 (more is a bug: asserts, then truncates).
HashOut TaggedHash(Fp tag, std::span<const Fp> inputs);
// TaggedHash of many permutation inputs at once, each laid out as TaggedHash lays it out
// ([tag, inputs..., zeros]; CommitmentState for commitments): eight on SIMD lanes and
// batches on all threads (Poseidon2PermuteBatch12). The inputs are permuted in place.
std::vector<HashOut> TaggedHashes(std::span<std::array<Fp, 12>> inputs);

// The permutation input of a commitment: [CommitTag, e0, e1, e2, choice, r0, r1, r2, r3, r4,
// 0, 0] with e = BytesToLimbs(election_id), r = BytesToLimbs(random). Exposed for the tally
// AIR, which fills its first row from it.
std::array<Fp, 12> CommitmentState(const ElectionId& election_id, uint32_t choice,
                                   const VoteRandom& random);
// The first 4 lanes of Permute12(CommitmentState(...)). choice is the index into the
// election's choices; its range is the caller's check (and the AIR's).
HashOut ComputeCommitment(const ElectionId& election_id, uint32_t choice,
                          const VoteRandom& random);

// OK when commitment opens to (election_id, choice, random); kInvalidArgument otherwise.
Status CheckCommitment(const HashOut& commitment, const ElectionId& election_id, uint32_t choice,
                       const VoteRandom& random);

// Canonical text forms. Parsers are strict: one text per value, so text forms can be compared
// and signed. kInvalidArgument with the reason on any deviation.
//
// UUID: exactly 36 characters "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", lower-case hex digits,
// hyphens at 8, 13, 18, 23; no braces, no "urn:uuid:", no upper case. Version and variant bits
// are not checked (the id is 16 opaque bytes to this library).
StatusOr<ElectionId> ParseElectionId(std::string_view text);
std::string FormatElectionId(const ElectionId& id);

// Random: exactly 64 lower-case hex digits, no "0x".
StatusOr<VoteRandom> ParseVoteRandom(std::string_view text);
std::string FormatVoteRandom(const VoteRandom& random);

// A hash (commitment, leaf or node hash, root): 64 lower-case hex digits, no "0x", the four
// elements in order, each as 16 digits most significant first. An element >= p is refused.
StatusOr<HashOut> ParseHash(std::string_view text);
std::string FormatHash(const HashOut& hash);

// The strict hex of these formats: exactly 2 * out.size() lower-case hex digits, no "0x".
// `what` names the field in the error message.
Status ParseLowerHex(std::string_view text, std::span<uint8_t> out, std::string_view what);
std::string FormatLowerHex(ByteSpan bytes);

}  // namespace vp::ballot
