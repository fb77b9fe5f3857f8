// Commitments, domain tags, the tagged hash and the strict text forms (docs/ballot_log.md).
#include "vp/ballot/commitment.h"

#include <cassert>
#include <cstddef>

namespace vp::ballot {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Lower-case only: the text forms are canonical, so "AB" and "ab" must not both be accepted.
int LowerHexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Decodes exactly out.size() bytes from 2*out.size() lower-case hex digits at text[pos...].
Status DecodeLowerHex(std::string_view text, size_t pos, std::span<uint8_t> out,
                      std::string_view what) {
  for (size_t i = 0; i < out.size(); ++i) {
    const size_t at = pos + 2 * i;
    const int hi = LowerHexValue(text[at]);
    const int lo = LowerHexValue(text[at + 1]);
    if (hi < 0 || lo < 0) {
      const size_t bad = hi < 0 ? at : at + 1;
      return InvalidArgumentError(std::string(what) + ": character " + std::to_string(bad) +
                                  " is not a lower-case hex digit");
    }
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return OkStatus();
}

void AppendLowerHex(std::string& out, std::span<const uint8_t> bytes) {
  for (const uint8_t b : bytes) {
    out.push_back(kHexDigits[b >> 4]);
    out.push_back(kHexDigits[b & 0x0f]);
  }
}

}  // namespace

Status ParseLowerHex(std::string_view text, std::span<uint8_t> out, std::string_view what) {
  if (text.size() != 2 * out.size()) {
    return InvalidArgumentError(std::string(what) + ": expected " +
                                std::to_string(2 * out.size()) + " lower-case hex digits, got " +
                                std::to_string(text.size()) + " characters");
  }
  return DecodeLowerHex(text, 0, out, what);
}

std::string FormatLowerHex(ByteSpan bytes) {
  std::string out;
  out.reserve(2 * bytes.size());
  AppendLowerHex(out, bytes);
  return out;
}

std::vector<Fp> BytesToLimbs(ByteSpan bytes) {
  std::vector<Fp> limbs;
  limbs.reserve((bytes.size() + 6) / 7);
  for (size_t start = 0; start < bytes.size(); start += 7) {
    uint64_t limb = 0;
    for (size_t j = 0; j < 7 && start + j < bytes.size(); ++j) {
      limb |= static_cast<uint64_t>(bytes[start + j]) << (8 * j);
    }
    limbs.push_back(Fp(limb));  // < 2^56 < p: no reduction happens
  }
  return limbs;
}

Fp DomainTag(std::string_view domain) {
  const std::vector<Fp> limbs = BytesToLimbs(AsBytes(domain));
  return stark::Poseidon2Hash(limbs)[0];
}

Fp CommitTag() {
  static const Fp tag = DomainTag(kCommitDomain);
  return tag;
}
Fp LeafTag() {
  static const Fp tag = DomainTag(kLeafDomain);
  return tag;
}
Fp NodeTag() {
  static const Fp tag = DomainTag(kNodeDomain);
  return tag;
}
Fp EmptyTag() {
  static const Fp tag = DomainTag(kEmptyDomain);
  return tag;
}

HashOut TaggedHash(Fp tag, std::span<const Fp> inputs) {
  assert(inputs.size() <= 11 && "TaggedHash takes at most 11 inputs");
  stark::Poseidon2<12>::State s{};
  s[0] = tag;
  for (size_t i = 0; i < inputs.size() && i < 11; ++i) s[i + 1] = inputs[i];
  stark::Poseidon2<12>::Permute(s);
  return {s[0], s[1], s[2], s[3]};
}

std::vector<HashOut> TaggedHashes(std::span<std::array<Fp, 12>> inputs) {
  stark::Poseidon2PermuteBatch12(inputs);
  std::vector<HashOut> out(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) out[i] = {inputs[i][0], inputs[i][1], inputs[i][2], inputs[i][3]};
  return out;
}

std::array<Fp, 12> CommitmentState(const ElectionId& election_id, uint32_t choice,
                                   const VoteRandom& random) {
  const std::vector<Fp> e = BytesToLimbs(election_id);
  const std::vector<Fp> r = BytesToLimbs(random);
  return {CommitTag(), e[0], e[1], e[2], Fp(choice), r[0], r[1], r[2], r[3], r[4],
          Fp::Zero(), Fp::Zero()};
}

HashOut ComputeCommitment(const ElectionId& election_id, uint32_t choice,
                          const VoteRandom& random) {
  std::array<Fp, 12> s = CommitmentState(election_id, choice, random);
  stark::Poseidon2<12>::Permute(s);
  return {s[0], s[1], s[2], s[3]};
}

Status CheckCommitment(const HashOut& commitment, const ElectionId& election_id, uint32_t choice,
                       const VoteRandom& random) {
  if (ComputeCommitment(election_id, choice, random) != commitment) {
    return InvalidArgumentError(
        "commitment: does not open to this election id, choice and random");
  }
  return OkStatus();
}

StatusOr<ElectionId> ParseElectionId(std::string_view text) {
  if (text.size() != 36) {
    return InvalidArgumentError("election id: expected 36 characters (a lower-case UUID), got " +
                                std::to_string(text.size()));
  }
  // Group offsets in the text and their byte counts: 8-4-4-4-12 digits.
  constexpr size_t kGroupStart[] = {0, 9, 14, 19, 24};
  constexpr size_t kGroupBytes[] = {4, 2, 2, 2, 6};
  for (const size_t hyphen : {size_t{8}, size_t{13}, size_t{18}, size_t{23}}) {
    if (text[hyphen] != '-') {
      return InvalidArgumentError("election id: expected '-' at character " +
                                  std::to_string(hyphen));
    }
  }
  ElectionId id{};
  size_t out = 0;
  for (size_t g = 0; g < 5; ++g) {
    RETURN_IF_ERROR(DecodeLowerHex(text, kGroupStart[g],
                                   std::span<uint8_t>(id.data() + out, kGroupBytes[g]),
                                   "election id"));
    out += kGroupBytes[g];
  }
  return id;
}

std::string FormatElectionId(const ElectionId& id) {
  std::string out;
  out.reserve(36);
  const std::span<const uint8_t> b(id);
  AppendLowerHex(out, b.subspan(0, 4));
  out.push_back('-');
  AppendLowerHex(out, b.subspan(4, 2));
  out.push_back('-');
  AppendLowerHex(out, b.subspan(6, 2));
  out.push_back('-');
  AppendLowerHex(out, b.subspan(8, 2));
  out.push_back('-');
  AppendLowerHex(out, b.subspan(10, 6));
  return out;
}

StatusOr<VoteRandom> ParseVoteRandom(std::string_view text) {
  VoteRandom r{};
  RETURN_IF_ERROR(ParseLowerHex(text, r, "random"));
  return r;
}

std::string FormatVoteRandom(const VoteRandom& random) { return FormatLowerHex(random); }

StatusOr<HashOut> ParseHash(std::string_view text) {
  if (text.size() != 64) {
    return InvalidArgumentError("hash: expected 64 lower-case hex digits, got " +
                                std::to_string(text.size()) + " characters");
  }
  HashOut h{};
  for (size_t e = 0; e < 4; ++e) {
    ByteArray<8> be{};
    RETURN_IF_ERROR(DecodeLowerHex(text, 16 * e, be, "hash"));
    uint64_t v = 0;
    for (const uint8_t b : be) v = (v << 8) | b;
    if (v >= Fp::kModulus) {
      return InvalidArgumentError("hash: element " + std::to_string(e) +
                                  " is not canonical (>= the field modulus)");
    }
    h[e] = Fp(v);
  }
  return h;
}

std::string FormatHash(const HashOut& hash) {
  std::string out;
  out.reserve(64);
  for (const Fp& e : hash) {
    const uint64_t v = e.value();
    for (int shift = 60; shift >= 0; shift -= 4) {
      out.push_back(kHexDigits[(v >> shift) & 0x0f]);
    }
  }
  return out;
}

}  // namespace vp::ballot
