// The tally AIR: one segment of the bulletin tree hashes to its blocks' roots, every
// counted leaf opens to a valid choice, the per-choice counts are the sums of the counted
// leaves, and exactly the public excluded indices are unopened (docs/tally_proof.md).
//
// A segment (version 2) is F blocks one after another, block j a complete aligned subtree of
// m_j = 2^k_j leaves; version 1 is one block. One width-12 Poseidon2 permutation per row
// (TaggedHash of commitment.h), 3m - 1 rows per block of m leaves:
//   rows 2i, 2i+1   C (commitment of the block's leaf i) then L (its leaf hash), heap id m + i
//   rows 2m ..      N (node hashes), heap ids m - 1 down to 1; the block's last row is its root
// Columns: the 12 permutation inputs, the 118 S-box outputs (each one degree-7 constraint),
// selectors is_c, is_l (is_n = 1 - is_c - is_l), the excluded flag x, the heap id, then
// version 1: one-hot choice bits b_0..b_{k-1} and running counts cnt_0..cnt_{k-1}; version 2:
// the block's first leaf S (in the segment) and size M, the counts being proven by a sum
// over delta instead: sum over counted C rows of 1 / (delta - choice) = sum_j counts_j /
// (delta - j), which also keeps every choice below k. The row order is forced by transition
// constraints on the selectors, ids and blocks together with the fixed row count.
// Tree wiring uses a grand product over challenges (alpha, beta): L and N rows produce
// (S, M, id, output), N rows consume (S, M, 2 id, left) and (S, M, 2 id + 1, right); only
// the blocks' roots (S_j, m_j, 1, root_j) are left over. Exclusions use a second product over
// gamma: rows with x = 1 contribute (gamma - leaf index) and the product must equal the one
// over the public excluded indices.
//
// Excluded leaves are the only leaves whose C row is unconstrained beyond its tag and
// election id (random values), so their L row takes any commitment.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <vector>

#include "vp/ballot/commitment.h"
#include "vp/base/status.h"
#include "vp/stark/air.h"
#include "vp/stark/poseidon2.h"
#include "vp/stark/random.h"

namespace vp::ballot {

struct LeafWitness;  // tally.h

class TallyAir final : public stark::Air {
 public:
  using Fp = stark::Fp;
  using Fp2 = stark::Fp2;

  static constexpr size_t kIn = 0;
  static constexpr size_t kSbox = 12;
  static constexpr size_t kNumSbox = 4 * 12 + stark::kPoseidon2PartialRounds + 4 * 12;  // 118
  static constexpr size_t kIsC = kSbox + kNumSbox;  // 130
  static constexpr size_t kIsL = kIsC + 1;
  static constexpr size_t kX = kIsL + 1;
  static constexpr size_t kId = kX + 1;
  // Version 1: k choice bits and k running counts from here; version 2: S and M.
  static constexpr size_t kB = kId + 1;

  // Public inputs, in order (what SegmentPublicInputs produces):
  //   version 1: [1, num_choices k, offset, size m, e0, e1, e2, config hash (4), root (4),
  //               counts (k), excluded count, excluded indices...]
  //   version 2: [2, k, offset, blocks F, e0, e1, e2, config hash (4),
  //               F x (block size, root (4)), counts (k), excluded count, excluded indices...]
  static StatusOr<TallyAir> FromPublicInputs(std::span<const Fp> pub);

  TallyAir(const TallyAir& other);
  TallyAir& operator=(const TallyAir&) = delete;

  // leaves: exactly size() witnesses, checked by the caller (tally.cc; a choice out of range
  // only makes a trace that does not verify). rng fills the unconstrained cells of excluded
  // leaves. opens (optional) gets one byte per leaf: 0 where a counted leaf's commitment row
  // does not hash to its commitment (the witness does not open), else 1; the caller checks
  // the openings with the trace's own hashes instead of hashing every commitment again.
  stark::TraceColumns GenerateTrace(std::span<const LeafWitness> leaves, stark::RandomSource& rng,
                                    std::vector<uint8_t>* opens = nullptr) const;

  uint64_t size() const { return size_; }
  uint32_t version() const { return version_; }
  // Version 2's columns: the block's first leaf in the segment, and its size.
  size_t StartColumn() const { return kB; }
  size_t SizeColumn() const { return kB + 1; }

  std::string Name() const override;
  std::vector<Fp> PublicInputs() const override { return pub_; }
  size_t TraceRows() const override { return static_cast<size_t>(3 * size_ - blocks_.size()); }
  size_t MainWidth() const override { return version_ >= 2 ? kB + 2 : kB + 2 * size_t{k_}; }
  std::vector<stark::ConstraintInfo> MainConstraints() const override;
  void EvaluateMain(const stark::Frame<Fp>& f, std::span<const Fp>,
                    std::span<Fp> out) const override {
    Eval(f, out);
  }
  void EvaluateMain(const stark::Frame<Fp2>& f, std::span<const Fp2>,
                    std::span<Fp2> out) const override {
    Eval(f, out);
  }
  bool HasPackedMain() const override { return true; }
  void EvaluateMainPacked(const stark::Frame<stark::PackedFp>& f, std::span<const stark::PackedFp>,
                          std::span<stark::PackedFp> out) const override;
  size_t AuxWidth() const override { return version_ >= 2 ? 3 : 2; }
  size_t NumAuxRandomElements() const override { return version_ >= 2 ? 4 : 3; }
  std::vector<stark::ConstraintInfo> AuxConstraints() const override;
  stark::ExtTraceColumns BuildAuxTrace(const stark::TraceColumns& main,
                                       std::span<const Fp2> rand) const override;
  void EvaluateAux(const stark::Frame<Fp2>& main, const stark::Frame<Fp2>& aux,
                   std::span<const Fp2> periodic, std::span<const Fp2> rand,
                   std::span<Fp2> out) const override;
  bool HasPackedAux() const override { return true; }
  void EvaluateAuxPacked(const stark::Frame<stark::PackedFp>& main,
                         const stark::Frame<stark::PackedFp2>& aux,
                         std::span<const stark::PackedFp> periodic, std::span<const Fp2> rand,
                         std::span<stark::PackedFp2> out) const override;

 private:
  TallyAir() = default;
  template <typename F>
  [[gnu::always_inline]] inline void Eval(const stark::Frame<F>& f, std::span<F> out) const;
  VP_STARK_SIMD_CLONES void EvalPacked(const stark::Frame<stark::PackedFp>& f,
                                       std::span<stark::PackedFp> out) const;
  // The auxiliary constraints with extension values E over main values F (Fp2 over Fp2 for
  // the verifier's point, PackedFp2 over PackedFp for eight rows of the prover's domain).
  template <typename E, typename F>
  [[gnu::always_inline]] inline void EvalAux(const stark::Frame<F>& main, const stark::Frame<E>& aux,
                                             std::span<const Fp2> rand, std::span<E> out) const;
  VP_STARK_SIMD_CLONES void EvalAuxPacked(const stark::Frame<stark::PackedFp>& main,
                                          const stark::Frame<stark::PackedFp2>& aux,
                                          std::span<const Fp2> rand,
                                          std::span<stark::PackedFp2> out) const;
  // The permutation output lanes 0..3 of a row, from its last S-box columns. Inlined, so
  // that the packed callers' instruction-set clones (VP_STARK_SIMD_CLONES) compile it too.
  template <typename F>
  [[gnu::always_inline]] static inline std::array<F, 4> Output(std::span<const F> row);
  // What the last row's aux constraints equal, from the public inputs, cached per challenge
  // tuple: prod over the blocks j of (alpha - enc(S_j, m_j, 1, root_j)), prod over excluded e
  // of (gamma - its index) (version 1: gamma - (m + e - offset)), and (version 2) sum over
  // the choices j of counts_j / (delta - j).
  struct Products {
    Fp2 roots, excluded, choices;
  };
  Products PublicProducts(std::span<const Fp2> rand) const;

  std::vector<Fp> pub_;
  uint32_t version_ = 0;
  uint32_t k_ = 0;
  uint64_t offset_ = 0, size_ = 0;
  std::array<Fp, 3> e_{};
  std::vector<uint64_t> blocks_;  // block sizes
  std::vector<HashOut> roots_;    // one per block
  std::vector<uint64_t> counts_;
  std::vector<uint64_t> excluded_;  // absolute indices

  mutable std::mutex cache_mu_;
  mutable std::atomic<bool> cache_ready_{false};
  mutable std::array<Fp2, 4> cache_rand_{};
  mutable Products cache_value_{};
};

template <typename F>
inline std::array<F, 4> TallyAir::Output(std::span<const F> row) {
  std::array<F, 12> s;
  for (size_t i = 0; i < 12; ++i) s[i] = row[kSbox + kNumSbox - 12 + i];
  stark::Poseidon2<12>::ExternalLinear(s);
  return {s[0], s[1], s[2], s[3]};
}

template <typename F>
inline void TallyAir::Eval(const stark::Frame<F>& fr, std::span<F> out) const {
  using P = stark::Poseidon2<12>;
  const auto& c = P::GetConstants();
  const auto& cur = fr.current;
  const auto& nxt = fr.next;
  const F one = F(Fp::One());
  size_t o = 0;

  // Permutation: every S-box column is Pow7 of its input, recomputed from earlier columns.
  std::array<F, 12> s;
  for (size_t i = 0; i < 12; ++i) s[i] = cur[kIn + i];
  P::ExternalLinear(s);
  size_t col = kSbox;
  for (size_t r = 0; r < 4; ++r) {
    for (size_t i = 0; i < 12; ++i) {
      out[o++] = cur[col] - stark::Pow7(s[i] + c.full[r][i]);
      s[i] = cur[col++];
    }
    P::ExternalLinear(s);
  }
  for (size_t r = 0; r < stark::kPoseidon2PartialRounds; ++r) {
    out[o++] = cur[col] - stark::Pow7(s[0] + c.partial[r]);
    s[0] = cur[col++];
    P::InternalLinear(s);
  }
  for (size_t r = 4; r < 8; ++r) {
    for (size_t i = 0; i < 12; ++i) {
      out[o++] = cur[col] - stark::Pow7(s[i] + c.full[r][i]);
      s[i] = cur[col++];
    }
    P::ExternalLinear(s);
  }
  const std::array<F, 4> output = {s[0], s[1], s[2], s[3]};

  const F is_c = cur[kIsC], is_l = cur[kIsL], x = cur[kX], id = cur[kId];
  const F is_n = one - is_c - is_l;
  const F n_is_c = nxt[kIsC], n_is_l = nxt[kIsL], n_id = nxt[kId];
  const F n_is_n = one - n_is_c - n_is_l;

  // Every row: selectors, flags and choice bits.
  out[o++] = is_c * is_c - is_c;
  out[o++] = is_l * is_l - is_l;
  out[o++] = is_c * is_l;
  out[o++] = x * x - x;
  out[o++] = (one - is_c) * x;
  const bool v2 = version_ >= 2;
  if (!v2) {
    F bit_sum = x;
    F choice = F();
    for (size_t j = 0; j < k_; ++j) {
      const F b = cur[kB + j];
      out[o++] = b * b - b;
      out[o++] = (one - is_c) * b;
      bit_sum = bit_sum + b;
      choice = choice + b * F(Fp(j));
    }
    out[o++] = is_c * (bit_sum - one);
    out[o++] = is_c * (cur[kIn + 4] - choice);
  }
  // Row inputs by kind.
  out[o++] = is_c * (cur[kIn] - F(CommitTag()));
  for (size_t i = 0; i < 3; ++i) out[o++] = is_c * (cur[kIn + 1 + i] - F(e_[i]));
  out[o++] = is_c * cur[kIn + 10];
  out[o++] = is_c * cur[kIn + 11];
  out[o++] = is_l * (cur[kIn] - F(LeafTag()));
  for (size_t i = 5; i < 12; ++i) out[o++] = is_l * cur[kIn + i];
  out[o++] = is_n * (cur[kIn] - F(NodeTag()));
  for (size_t i = 9; i < 12; ++i) out[o++] = is_n * cur[kIn + i];

  // First row.
  // (Version 1's constraints keep their order: proofs made with it must still verify.)
  out[o++] = is_c - one;
  out[o++] = v2 ? id - cur[SizeColumn()] : id - F(Fp(size_));
  if (!v2) {
    for (size_t j = 0; j < k_; ++j) out[o++] = cur[kB + k_ + j] - cur[kB + j];
  }
  if (v2) {
    out[o++] = cur[StartColumn()];
    out[o++] = cur[SizeColumn()] - F(Fp(blocks_[0]));
  }

  // Transitions.
  out[o++] = is_c * (one - n_is_l);
  out[o++] = is_c * (n_id - id);
  out[o++] = is_l * n_is_l;
  if (v2) {
    // d = S' - S is 0 inside a block and M where the next block starts: only after a root
    // (id 1), at a C row with the next block's first leaf id (its M). Inside a block M stays.
    const F bs = cur[StartColumn()], bm = cur[SizeColumn()];
    const F n_bm = nxt[SizeColumn()];
    const F d = nxt[StartColumn()] - bs;
    const F inside = bm - d;  // M (nonzero) inside a block, 0 at a block's end
    out[o++] = is_l * n_is_c * inside * (n_id - id - one);
    out[o++] = is_l * n_is_n * (n_id - id + bm);
    out[o++] = is_n * n_is_l;
    out[o++] = is_n * n_is_n * (n_id - id + one);
    out[o++] = is_n * n_is_c * inside;
    out[o++] = d * inside;
    out[o++] = inside * (n_bm - bm);
    out[o++] = d * (id - one);
    out[o++] = d * (n_id - n_bm);
    out[o++] = d * (one - n_is_c);
  } else {
    const F fm = F(Fp(size_));
    out[o++] = is_l * (n_is_c * (n_id - id - one) + n_is_n * (n_id - id + fm));
    out[o++] = is_n * (one - n_is_n);
    out[o++] = is_n * (n_id - id + one);
  }
  if (!v2) {
    for (size_t j = 0; j < k_; ++j) {
      out[o++] = nxt[kB + k_ + j] - cur[kB + k_ + j] - nxt[kB + j];
    }
  }
  for (size_t i = 0; i < 4; ++i) out[o++] = is_c * (one - x) * (nxt[kIn + 1 + i] - output[i]);

  // Last row. Version 2 checks the roots through the wiring product (EvalAux).
  out[o++] = id - one;
  if (v2) {
    out[o++] = cur[StartColumn()] + cur[SizeColumn()] - F(Fp(size_));
  } else {
    for (size_t i = 0; i < 4; ++i) out[o++] = output[i] - F(roots_[0][i]);
  }
  if (!v2) {
    for (size_t j = 0; j < k_; ++j) out[o++] = cur[kB + k_ + j] - F(Fp(counts_[j]));
  }
}

}  // namespace vp::ballot
