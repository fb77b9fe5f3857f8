// The bulletin log: an append-only Merkle tree over vote commitments with the RFC 6962 /
// RFC 9162 shape, Poseidon2 leaf and node hashes with their own domain tags, inclusion and
// consistency proofs (format: docs/ballot_log.md, version 1).
//
//   BulletinTree tree;
//   uint64_t index = tree.Append(commitment);
//   HashOut root = tree.Root();
//   ASSIGN_OR_RETURN(std::vector<HashOut> path, tree.InclusionProof(index, tree.size()));
//   RETURN_IF_ERROR(VerifyInclusion(LeafHash(commitment), index, tree.size(), path, root));
//
// BulletinTree is the log's writer side (one writer per election; not thread-safe). The
// Verify* functions are what the browser runs: standard library + vp::stark only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vp/ballot/commitment.h"
#include "vp/base/status.h"

namespace vp::ballot {

// leaf = TaggedHash(LeafTag, c0..c3)                      (RFC 6962: SHA-256(0x00 || d))
HashOut LeafHash(const HashOut& commitment);
// node = TaggedHash(NodeTag, l0..l3, r0..r3)              (RFC 6962: SHA-256(0x01 || l || r))
HashOut NodeHash(const HashOut& left, const HashOut& right);
// The root of the empty tree = TaggedHash(EmptyTag, nothing)  (RFC 6962: SHA-256 of "").
HashOut EmptyRoot();

// The leaf hashes of `commitments` (LeafHash of each), eight permutations at a time on SIMD
// lanes and on all threads for large batches.
std::vector<HashOut> LeafHashes(std::span<const HashOut> commitments);
// The root of the complete tree over `commitments` (their count a power of two, at least one):
// what a BulletinTree holding exactly them answers, computed level by level in batches.
HashOut CompleteTreeRoot(std::span<const HashOut> commitments);

// The largest power of two strictly smaller than n (n >= 2): RFC 6962's split point k.
uint64_t SplitPoint(uint64_t n);

// Keeps every leaf hash and every complete aligned subtree hash (2n hashes, 64 MiB at 2^20
// leaves), so the root of any earlier size and any proof cost O(log n) hashes.
class BulletinTree {
 public:
  BulletinTree() = default;

  // Appends LeafHash(commitment); returns its index. Amortized two permutations.
  uint64_t Append(const HashOut& commitment);
  // Appends an already computed leaf hash (rebuilding a tree from stored leaf hashes).
  uint64_t AppendLeafHash(const HashOut& leaf_hash);
  // As Append / AppendLeafHash for each in order, with the hashes computed in batches
  // (LeafHashes, then the new nodes level by level): the same tree.
  void AppendMany(std::span<const HashOut> commitments);
  void AppendLeafHashes(std::span<const HashOut> leaf_hashes);
  // A hint: reserves memory for min(n, kMaxReserve) leaves and their subtrees, so that a
  // wrong size cannot allocate without bound. The tree grows past it as needed.
  static constexpr uint64_t kMaxReserve = uint64_t{1} << 21;
  void Reserve(uint64_t n);

  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  // kInvalidArgument when index >= size().
  StatusOr<HashOut> LeafHashAt(uint64_t index) const;

  // The root of the current tree (EmptyRoot() when empty).
  HashOut Root() const;
  // The root of the first tree_size leaves; kInvalidArgument when tree_size > size().
  StatusOr<HashOut> Root(uint64_t tree_size) const;

  // RFC 9162 2.1.3.1: the audit path of leaf `index` in the tree of the first tree_size leaves,
  // bottom-up. kInvalidArgument unless index < tree_size <= size().
  StatusOr<std::vector<HashOut>> InclusionProof(uint64_t index, uint64_t tree_size) const;
  // RFC 9162 2.1.4.1: the proof that the tree of old_size leaves is a prefix of the tree of
  // new_size leaves. Empty when old_size == new_size. kInvalidArgument unless
  // 1 <= old_size <= new_size <= size().
  StatusOr<std::vector<HashOut>> ConsistencyProof(uint64_t old_size, uint64_t new_size) const;

 private:
  // MTH of leaves [begin, end), a range of the RFC 6962 recursion (begin is a multiple of the
  // largest power of two <= end - begin), so only its right edge may be incomplete.
  HashOut SubtreeHash(uint64_t begin, uint64_t end) const;
  void AppendPath(uint64_t m, uint64_t begin, uint64_t end, std::vector<HashOut>& out) const;
  void AppendSubproof(uint64_t m, uint64_t begin, uint64_t end, bool is_old_tree,
                      std::vector<HashOut>& out) const;

  // levels_[h][j] is the hash of the complete subtree of leaves [j * 2^h, (j + 1) * 2^h).
  std::vector<std::vector<HashOut>> levels_;
};

// RFC 9162 2.1.3.2. OK when `path` proves that leaf_hash is leaf `index` of the tree of
// tree_size leaves with this root; kInvalidArgument with the reason otherwise (index >=
// tree_size, a path too short or too long, a root mismatch). Never crashes on any input.
Status VerifyInclusion(const HashOut& leaf_hash, uint64_t index, uint64_t tree_size,
                       std::span<const HashOut> path, const HashOut& root);

// VerifyInclusion(LeafHash(commitment), ...): what a voter checks with a receipt. Prefer it,
// so that a leaf hash is never taken from the prover.
Status VerifyCommitmentInclusion(const HashOut& commitment, uint64_t index, uint64_t tree_size,
                                 std::span<const HashOut> path, const HashOut& root);

// RFC 9162 2.1.4.2. OK when `proof` proves that the tree (old_size, old_root) is a prefix of
// (new_size, new_root). old_size == new_size needs an empty proof and equal roots;
// old_size == 0 is refused (an empty tree is a prefix of every tree and has no proof).
// kInvalidArgument with the reason otherwise. Never crashes on any input.
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const HashOut& old_root,
                         const HashOut& new_root, std::span<const HashOut> proof);

// Proof elements travel as JSON arrays of FormatHash strings (docs/ballot_log.md). A list
// longer than kMaxProofHashes cannot be a valid proof for any 64-bit size and is refused.
inline constexpr size_t kMaxProofHashes = 128;
StatusOr<std::vector<HashOut>> ParseHashList(std::span<const std::string> hex);
std::vector<std::string> FormatHashList(std::span<const HashOut> hashes);

// JSON field names of the proofs served by the API.
//   inclusion:   {"leafIndex": 5, "treeSize": 64, "commitment": hex, "path": [hex, ...]}
//   consistency: {"oldSize": 10, "newSize": 64, "proof": [hex, ...]}
namespace json_names {
inline constexpr std::string_view kLeafIndex = "leafIndex";
inline constexpr std::string_view kTreeSize = "treeSize";
inline constexpr std::string_view kCommitment = "commitment";
inline constexpr std::string_view kPath = "path";
inline constexpr std::string_view kOldSize = "oldSize";
inline constexpr std::string_view kNewSize = "newSize";
inline constexpr std::string_view kProof = "proof";
}  // namespace json_names

}  // namespace vp::ballot
