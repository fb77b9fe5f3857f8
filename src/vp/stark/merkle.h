// Merkle commitments over rows of field elements (BLAKE3), with optional per-leaf salts so
// that a commitment hides the rows it does not open, and batched openings that share
// authentication nodes between queried leaves.
//
//   MerkleTree t = MerkleTree::Build(leaf_digests);
//   MerkleMultiProof p = t.Open(sorted_unique_indices);
//   Status s = VerifyMultiProof(t.root(), log_leaves, indices, leaf_digests_at_indices, p);
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "vp/base/status.h"
#include "vp/stark/blake3.h"
#include "vp/stark/field.h"

namespace vp::stark {

using Salt = Digest;

// An allocator whose value-construction leaves trivial elements unwritten, so that a
// vector<T>(n) of digests is first touched by the (parallel) loop that fills it rather than
// zeroed by one thread: on this VM a fresh page costs microseconds to fault in.
template <typename T>
struct UninitAllocator : std::allocator<T> {
  template <typename U>
  struct rebind {
    using other = UninitAllocator<U>;
  };
  UninitAllocator() = default;
  template <typename U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}  // NOLINT: converting, as std::allocator
  template <typename U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;  // default-initialization: no write for trivial U
  }
  template <typename U, typename... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using DigestVector = std::vector<Digest, UninitAllocator<Digest>>;

// Leaf digest of one row: BLAKE3(salt || elements as 8-byte little-endian). Without a salt
// (non-hiding mode) the salt bytes are omitted.
Digest HashLeaf(std::span<const Fp> row, const Salt* salt);
// Internal node: BLAKE3 keyed with a fixed Merkle key, one compression for 64 bytes; the key
// separates nodes from leaves.
Digest HashNode(const Digest& left, const Digest& right);

// The sibling digests needed to recompute the root from a set of leaves, level by level from
// the leaves up and left to right within a level.
struct MerkleMultiProof {
  std::vector<Digest> nodes;
};

class MerkleTree {
 public:
  // leaves.size() must be a power of two (>= 1). Hashing of levels is parallel.
  static MerkleTree Build(DigestVector leaves);
  static MerkleTree Build(const std::vector<Digest>& leaves) {
    return Build(DigestVector(leaves.begin(), leaves.end()));
  }
  const Digest& root() const { return levels_.back()[0]; }
  size_t num_leaves() const { return levels_.front().size(); }
  // indices: strictly increasing, each < num_leaves().
  MerkleMultiProof Open(std::span<const size_t> indices) const;

 private:
  std::vector<DigestVector> levels_;  // levels_[0] = leaves
};

// Recomputes the root from (indices[i], leaves[i]) and the proof's nodes. Rejects with
// kInvalidArgument when indices are not strictly increasing or out of range, the proof has
// too few or too many nodes, or the root differs.
Status VerifyMultiProof(const Digest& root, unsigned log_leaves, std::span<const size_t> indices,
                        std::span<const Digest> leaves, const MerkleMultiProof& proof);

// The salt of row i of a committed table: BLAKE3 keyed with the table's secret salt key
// over the row index as 8 little-endian bytes. Salts are a pseudorandom function of a key
// the prover draws from its random source and never reveals, so the prover stores no salt
// table and recomputes the few it opens; to anyone without the key they are random.
Salt DeriveSalt(const Digest& salt_key, uint64_t row);

// Row hashing helper used by the prover: hashes row i of column-major `columns`
// (each of length n), salted with DeriveSalt(*salt_key, i) when salt_key is not null. With
// log_cosets = c > 0 the columns are grouped by coset (LowDegreeExtendCosets): row i is
// element (i mod 2^c) * (n / 2^c) + i / 2^c of each column.
DigestVector HashRows(const std::vector<const std::vector<Fp>*>& columns, size_t n,
                      const Digest* salt_key, unsigned log_cosets = 0);

}  // namespace vp::stark
