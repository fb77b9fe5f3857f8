// The bulletin Merkle tree, its proofs and their RFC 9162 verification (docs/ballot_log.md).
#include "vp/ballot/bulletin.h"

#include <bit>
#include <cassert>
#include <cstddef>

namespace vp::ballot {
namespace {

void ShiftBoth(uint64_t& fn, uint64_t& sn) {
  fn >>= 1;
  sn >>= 1;
}

// RFC 9162 2.1.3.2 step 4.b.ii / 2.1.4.2 step 6.b.iii.
void ShiftUntilLsbOrZero(uint64_t& fn, uint64_t& sn) {
  while ((fn & 1) == 0 && fn != 0) ShiftBoth(fn, sn);
}

}  // namespace

std::vector<HashOut> LeafHashes(std::span<const HashOut> commitments) {
  std::vector<std::array<Fp, 12>> inputs(commitments.size());
  for (size_t i = 0; i < commitments.size(); ++i) {
    inputs[i] = {LeafTag(), commitments[i][0], commitments[i][1], commitments[i][2], commitments[i][3]};
  }
  return TaggedHashes(inputs);
}

HashOut CompleteTreeRoot(std::span<const HashOut> commitments) {
  assert(!commitments.empty() && std::has_single_bit(commitments.size()));
  BulletinTree tree;
  tree.AppendMany(commitments);
  return tree.Root();
}

HashOut LeafHash(const HashOut& commitment) { return TaggedHash(LeafTag(), commitment); }

HashOut NodeHash(const HashOut& left, const HashOut& right) {
  const std::array<Fp, 8> in = {left[0], left[1], left[2], left[3],
                                right[0], right[1], right[2], right[3]};
  return TaggedHash(NodeTag(), in);
}

HashOut EmptyRoot() {
  static const HashOut root = TaggedHash(EmptyTag(), {});
  return root;
}

uint64_t SplitPoint(uint64_t n) {
  assert(n >= 2);
  return n < 2 ? 0 : std::bit_floor(n - 1);
}

uint64_t BulletinTree::Append(const HashOut& commitment) {
  return AppendLeafHash(LeafHash(commitment));
}

uint64_t BulletinTree::AppendLeafHash(const HashOut& leaf_hash) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf_hash);
  const uint64_t index = levels_[0].size() - 1;
  // Each level whose length became even gained a complete pair: hash it one level up.
  for (size_t h = 0; levels_[h].size() % 2 == 0; ++h) {
    const size_t len = levels_[h].size();
    const HashOut parent = NodeHash(levels_[h][len - 2], levels_[h][len - 1]);
    if (levels_.size() == h + 1) levels_.emplace_back();
    levels_[h + 1].push_back(parent);
  }
  return index;
}

void BulletinTree::AppendMany(std::span<const HashOut> commitments) {
  AppendLeafHashes(LeafHashes(commitments));
}

void BulletinTree::AppendLeafHashes(std::span<const HashOut> leaf_hashes) {
  if (leaf_hashes.empty()) return;
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].insert(levels_[0].end(), leaf_hashes.begin(), leaf_hashes.end());
  // Level h + 1 holds a node for every complete pair of level h; hash the new pairs.
  std::vector<std::array<Fp, 12>> inputs;
  for (size_t h = 0;; ++h) {
    const size_t pairs = levels_[h].size() / 2;
    const size_t have = levels_.size() > h + 1 ? levels_[h + 1].size() : 0;
    if (pairs == have) break;
    inputs.resize(pairs - have);
    for (size_t p = have; p < pairs; ++p) {
      const HashOut& l = levels_[h][2 * p];
      const HashOut& r = levels_[h][2 * p + 1];
      inputs[p - have] = {NodeTag(), l[0], l[1], l[2], l[3], r[0], r[1], r[2], r[3]};
    }
    const std::vector<HashOut> nodes = TaggedHashes(inputs);
    if (levels_.size() == h + 1) levels_.emplace_back();
    levels_[h + 1].insert(levels_[h + 1].end(), nodes.begin(), nodes.end());
  }
}

void BulletinTree::Reserve(uint64_t n) {
  size_t level_size = static_cast<size_t>(n < kMaxReserve ? n : kMaxReserve);
  for (size_t h = 0; level_size > 0; ++h, level_size /= 2) {
    if (levels_.size() <= h) levels_.emplace_back();
    levels_[h].reserve(level_size);
  }
}

StatusOr<HashOut> BulletinTree::LeafHashAt(uint64_t index) const {
  if (index >= size()) {
    return InvalidArgumentError("bulletin: leaf index " + std::to_string(index) +
                                " is not below the tree size " + std::to_string(size()));
  }
  return levels_[0][static_cast<size_t>(index)];
}

HashOut BulletinTree::Root() const { return size() == 0 ? EmptyRoot() : SubtreeHash(0, size()); }

StatusOr<HashOut> BulletinTree::Root(uint64_t tree_size) const {
  if (tree_size > size()) {
    return InvalidArgumentError("bulletin: tree size " + std::to_string(tree_size) +
                                " exceeds the log size " + std::to_string(size()));
  }
  return tree_size == 0 ? EmptyRoot() : SubtreeHash(0, tree_size);
}

HashOut BulletinTree::SubtreeHash(uint64_t begin, uint64_t end) const {
  const uint64_t n = end - begin;
  if (std::has_single_bit(n)) {
    const int h = std::countr_zero(n);
    assert(begin % n == 0);
    return levels_[static_cast<size_t>(h)][static_cast<size_t>(begin >> h)];
  }
  const uint64_t k = SplitPoint(n);
  return NodeHash(SubtreeHash(begin, begin + k), SubtreeHash(begin + k, end));
}

// PATH(m, D[begin:end]) of RFC 9162 2.1.3.1, appended bottom-up.
void BulletinTree::AppendPath(uint64_t m, uint64_t begin, uint64_t end,
                              std::vector<HashOut>& out) const {
  const uint64_t n = end - begin;
  if (n == 1) return;
  const uint64_t k = SplitPoint(n);
  if (m < k) {
    AppendPath(m, begin, begin + k, out);
    out.push_back(SubtreeHash(begin + k, end));
  } else {
    AppendPath(m - k, begin + k, end, out);
    out.push_back(SubtreeHash(begin, begin + k));
  }
}

// SUBPROOF(m, D[begin:end], b) of RFC 9162 2.1.4.1; is_old_tree is b (the verifier already
// knows this subtree's hash: it is the old root).
void BulletinTree::AppendSubproof(uint64_t m, uint64_t begin, uint64_t end, bool is_old_tree,
                                  std::vector<HashOut>& out) const {
  const uint64_t n = end - begin;
  if (m == n) {
    if (!is_old_tree) out.push_back(SubtreeHash(begin, end));
    return;
  }
  const uint64_t k = SplitPoint(n);
  if (m <= k) {
    AppendSubproof(m, begin, begin + k, is_old_tree, out);
    out.push_back(SubtreeHash(begin + k, end));
  } else {
    AppendSubproof(m - k, begin + k, end, false, out);
    out.push_back(SubtreeHash(begin, begin + k));
  }
}

StatusOr<std::vector<HashOut>> BulletinTree::InclusionProof(uint64_t index,
                                                            uint64_t tree_size) const {
  if (tree_size > size()) {
    return InvalidArgumentError("bulletin: tree size " + std::to_string(tree_size) +
                                " exceeds the log size " + std::to_string(size()));
  }
  if (index >= tree_size) {
    return InvalidArgumentError("bulletin: leaf index " + std::to_string(index) +
                                " is not below the tree size " + std::to_string(tree_size));
  }
  std::vector<HashOut> path;
  path.reserve(64);
  AppendPath(index, 0, tree_size, path);
  return path;
}

StatusOr<std::vector<HashOut>> BulletinTree::ConsistencyProof(uint64_t old_size,
                                                              uint64_t new_size) const {
  if (new_size > size()) {
    return InvalidArgumentError("bulletin: new size " + std::to_string(new_size) +
                                " exceeds the log size " + std::to_string(size()));
  }
  if (old_size == 0 || old_size > new_size) {
    return InvalidArgumentError("bulletin: a consistency proof needs 1 <= old size <= new size, "
                                "got " + std::to_string(old_size) + " and " +
                                std::to_string(new_size));
  }
  std::vector<HashOut> proof;
  proof.reserve(64);
  if (old_size < new_size) AppendSubproof(old_size, 0, new_size, true, proof);
  return proof;
}

Status VerifyInclusion(const HashOut& leaf_hash, uint64_t index, uint64_t tree_size,
                       std::span<const HashOut> path, const HashOut& root) {
  if (index >= tree_size) {
    return InvalidArgumentError("inclusion: leaf index " + std::to_string(index) +
                                " is not below the tree size " + std::to_string(tree_size));
  }
  uint64_t fn = index;
  uint64_t sn = tree_size - 1;
  HashOut r = leaf_hash;
  for (const HashOut& p : path) {
    if (sn == 0) return InvalidArgumentError("inclusion: path is longer than the tree is deep");
    if ((fn & 1) != 0 || fn == sn) {
      r = NodeHash(p, r);
      if ((fn & 1) == 0) ShiftUntilLsbOrZero(fn, sn);
    } else {
      r = NodeHash(r, p);
    }
    ShiftBoth(fn, sn);
  }
  if (sn != 0) return InvalidArgumentError("inclusion: path is shorter than the tree is deep");
  if (r != root) return InvalidArgumentError("inclusion: path does not lead to the root");
  return OkStatus();
}

Status VerifyCommitmentInclusion(const HashOut& commitment, uint64_t index, uint64_t tree_size,
                                 std::span<const HashOut> path, const HashOut& root) {
  return VerifyInclusion(LeafHash(commitment), index, tree_size, path, root);
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const HashOut& old_root,
                         const HashOut& new_root, std::span<const HashOut> proof) {
  if (old_size == 0) {
    return InvalidArgumentError("consistency: old size 0 (the empty tree) has no proof");
  }
  if (old_size > new_size) {
    return InvalidArgumentError("consistency: old size " + std::to_string(old_size) +
                                " exceeds new size " + std::to_string(new_size));
  }
  if (old_size == new_size) {
    if (!proof.empty()) {
      return InvalidArgumentError("consistency: equal sizes need an empty proof");
    }
    if (old_root != new_root) {
      return InvalidArgumentError("consistency: equal sizes with different roots");
    }
    return OkStatus();
  }
  // 2.1.4.2 step 1.
  if (proof.empty()) return InvalidArgumentError("consistency: empty proof");
  // Step 2: when old_size is a power of two the old root is a node of the new tree and the
  // proof leaves it out; the path starts from it.
  const bool prepend = std::has_single_bit(old_size);
  const size_t count = proof.size() + (prepend ? 1 : 0);
  auto element = [&](size_t i) -> const HashOut& {
    if (prepend) return i == 0 ? old_root : proof[i - 1];
    return proof[i];
  };
  // Steps 3-5.
  uint64_t fn = old_size - 1;
  uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) ShiftBoth(fn, sn);
  HashOut fr = element(0);
  HashOut sr = element(0);
  // Step 6.
  for (size_t i = 1; i < count; ++i) {
    const HashOut& c = element(i);
    if (sn == 0) return InvalidArgumentError("consistency: proof is longer than needed");
    if ((fn & 1) != 0 || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if ((fn & 1) == 0) ShiftUntilLsbOrZero(fn, sn);
    } else {
      sr = NodeHash(sr, c);
    }
    ShiftBoth(fn, sn);
  }
  // Step 7.
  if (sn != 0) return InvalidArgumentError("consistency: proof is shorter than needed");
  if (fr != old_root) {
    return InvalidArgumentError("consistency: proof does not lead to the old root");
  }
  if (sr != new_root) {
    return InvalidArgumentError("consistency: proof does not lead to the new root");
  }
  return OkStatus();
}

StatusOr<std::vector<HashOut>> ParseHashList(std::span<const std::string> hex) {
  if (hex.size() > kMaxProofHashes) {
    return InvalidArgumentError("proof: " + std::to_string(hex.size()) +
                                " hashes, more than any proof has (" +
                                std::to_string(kMaxProofHashes) + ")");
  }
  std::vector<HashOut> out;
  out.reserve(hex.size());
  for (size_t i = 0; i < hex.size(); ++i) {
    StatusOr<HashOut> h = ParseHash(hex[i]);
    if (!h.ok()) return h.status().Annotate("proof element " + std::to_string(i));
    out.push_back(*h);
  }
  return out;
}

std::vector<std::string> FormatHashList(std::span<const HashOut> hashes) {
  std::vector<std::string> out;
  out.reserve(hashes.size());
  for (const HashOut& h : hashes) out.push_back(FormatHash(h));
  return out;
}

}  // namespace vp::ballot
