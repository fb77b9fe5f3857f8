// The bulletin log: roots against a naive recursive MTH, proofs against a naive RFC 9162
// PATH / SUBPROOF, every inclusion proof of every size up to 64 and every consistency proof
// of every pair of sizes up to 64, every single-element tamper refused, random large trees
// (seeded), and degenerate input that must be refused without crashing.
#include "vp/ballot/bulletin.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace vp::ballot {
namespace {

uint64_t TestSeed() {
  const char* env = std::getenv("VP_TEST_SEED");
  const uint64_t seed = env != nullptr ? std::strtoull(env, nullptr, 10) : 20250301;
  std::printf("bulletin_test seed=%llu (override with VP_TEST_SEED)\n",
              static_cast<unsigned long long>(seed));
  return seed;
}

// Distinct commitments without paying a permutation each.
HashOut CommitmentFor(uint64_t i) {
  return {Fp(i), Fp(i * 0x9e3779b97f4a7c15ULL), Fp(~i), Fp(0xc0ffee)};
}

std::vector<HashOut> FirstLeafHashes(uint64_t n) {
  std::vector<HashOut> out;
  out.reserve(n);
  for (uint64_t i = 0; i < n; ++i) out.push_back(LeafHash(CommitmentFor(i)));
  return out;
}

BulletinTree TreeOf(uint64_t n) {
  BulletinTree tree;
  for (uint64_t i = 0; i < n; ++i) EXPECT_EQ(tree.Append(CommitmentFor(i)), i);
  return tree;
}

// RFC 9162 2.1.1, written as the definition reads (over leaf hashes).
HashOut NaiveMth(std::span<const HashOut> leaves) {
  if (leaves.empty()) return EmptyRoot();
  if (leaves.size() == 1) return leaves[0];
  size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  return NodeHash(NaiveMth(leaves.subspan(0, k)), NaiveMth(leaves.subspan(k)));
}

// RFC 9162 2.1.3.1 PATH(m, D[n]).
std::vector<HashOut> NaivePath(size_t m, std::span<const HashOut> d) {
  if (d.size() <= 1) return {};
  size_t k = 1;
  while (k * 2 < d.size()) k *= 2;
  std::vector<HashOut> out;
  if (m < k) {
    out = NaivePath(m, d.subspan(0, k));
    out.push_back(NaiveMth(d.subspan(k)));
  } else {
    out = NaivePath(m - k, d.subspan(k));
    out.push_back(NaiveMth(d.subspan(0, k)));
  }
  return out;
}

// RFC 9162 2.1.4.1 SUBPROOF(m, D[n], b).
std::vector<HashOut> NaiveSubproof(size_t m, std::span<const HashOut> d, bool b) {
  if (m == d.size()) {
    if (b) return {};
    return {NaiveMth(d)};
  }
  size_t k = 1;
  while (k * 2 < d.size()) k *= 2;
  std::vector<HashOut> out;
  if (m <= k) {
    out = NaiveSubproof(m, d.subspan(0, k), b);
    out.push_back(NaiveMth(d.subspan(k)));
  } else {
    out = NaiveSubproof(m - k, d.subspan(k), false);
    out.push_back(NaiveMth(d.subspan(0, k)));
  }
  return out;
}

HashOut Flip(HashOut h, size_t lane) {
  h[lane] += Fp::One();
  return h;
}

// Every single-element change of a proof: each element changed in one lane (the lane moves
// with `salt`, so all lanes are covered across sizes), each element dropped, each element
// duplicated, a foreign element inserted at each position (including both ends).
std::vector<std::vector<HashOut>> Tampers(const std::vector<HashOut>& proof, size_t salt) {
  std::vector<std::vector<HashOut>> out;
  const HashOut foreign = LeafHash(CommitmentFor(1u << 30));
  for (size_t i = 0; i < proof.size(); ++i) {
    std::vector<HashOut> t = proof;
    t[i] = Flip(t[i], (i + salt) % 4);
    out.push_back(t);
    std::vector<HashOut> dropped = proof;
    dropped.erase(dropped.begin() + static_cast<std::ptrdiff_t>(i));
    out.push_back(dropped);
    std::vector<HashOut> duplicated = proof;
    duplicated.insert(duplicated.begin() + static_cast<std::ptrdiff_t>(i), proof[i]);
    out.push_back(duplicated);
  }
  for (size_t i = 0; i <= proof.size(); ++i) {
    std::vector<HashOut> added = proof;
    added.insert(added.begin() + static_cast<std::ptrdiff_t>(i), foreign);
    out.push_back(added);
  }
  return out;
}

// Values near x in [lo, hi], x excluded: the off-by-one and off-by-a-subtree mistakes.
std::vector<uint64_t> Near(uint64_t x, uint64_t lo, uint64_t hi) {
  std::vector<uint64_t> out;
  for (const uint64_t v : {x - 2, x - 1, x + 1, x + 2, x ^ 1, x ^ 2, std::bit_ceil(x + 1),
                           std::bit_floor(x), lo, hi}) {
    if (v >= lo && v <= hi && v != x && std::find(out.begin(), out.end(), v) == out.end()) {
      out.push_back(v);
    }
  }
  return out;
}

// Regression vectors (docs/ballot_log.md): the empty root, a leaf, a node and small roots
// over the commitment vector C = ComputeCommitment(all-zero election id, 0, zero random).
TEST(BulletinHashTest, PinnedVectors) {
  const HashOut c = ComputeCommitment(ElectionId{}, 0, VoteRandom{});
  EXPECT_EQ(FormatHash(EmptyRoot()),
            "3b3e625a40c17013a59a3ddf850239316a5d8db9278ab7551da2c6653d169334");
  EXPECT_EQ(FormatHash(LeafHash(c)),
            "cc2bf3b049592ffc3285ecfc9976ed34807a5d9e0a35e3f927989deae119befb");
  EXPECT_EQ(FormatHash(NodeHash(LeafHash(c), LeafHash(c))),
            "0a48a494b45e60108beb4ba65bb03d6e754649462cb5f3a59578dc67b5c6aad1");
  // Leaves i = 0..6: commitments of choice i % 5 with the random whose every byte is i.
  BulletinTree tree;
  for (uint32_t i = 0; i < 7; ++i) {
    VoteRandom r;
    r.fill(static_cast<uint8_t>(i));
    tree.Append(ComputeCommitment(ElectionId{}, i % 5, r));
  }
  // One leaf: the root is the leaf hash.
  EXPECT_EQ(FormatHash(*tree.Root(1)),
            "cc2bf3b049592ffc3285ecfc9976ed34807a5d9e0a35e3f927989deae119befb");
  EXPECT_EQ(FormatHash(*tree.Root(2)),
            "74929ade9596082f7f9042126cbc3c37c598f2359036fdab44f267e85d6916dc");
  EXPECT_EQ(FormatHash(*tree.Root(3)),
            "d7f0c4d55eb4ff8f35afc996d5b4e1bda795196e882fe39bbdef9ca2a1467ff5");
  EXPECT_EQ(FormatHash(*tree.Root(7)),
            "e0c4c110825322cd0f5f33787a605ca36d858b24033d2c837d97e5e4e8f313f0");
}

TEST(BulletinHashTest, LayoutIsTheDocumentedOne) {
  const HashOut a = CommitmentFor(1);
  const HashOut b = CommitmentFor(2);
  stark::Poseidon2<12>::State s{LeafTag(), a[0], a[1], a[2], a[3]};
  stark::Poseidon2<12>::Permute(s);
  EXPECT_EQ(LeafHash(a), (HashOut{s[0], s[1], s[2], s[3]}));
  stark::Poseidon2<12>::State n{NodeTag(), a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]};
  stark::Poseidon2<12>::Permute(n);
  EXPECT_EQ(NodeHash(a, b), (HashOut{n[0], n[1], n[2], n[3]}));
  stark::Poseidon2<12>::State e{EmptyTag()};
  stark::Poseidon2<12>::Permute(e);
  EXPECT_EQ(EmptyRoot(), (HashOut{e[0], e[1], e[2], e[3]}));
  // Leaves, nodes and commitments never share a hash of the same elements.
  EXPECT_NE(LeafHash(a), TaggedHash(NodeTag(), a));
  EXPECT_NE(NodeHash(a, b), NodeHash(b, a));
}

TEST(BulletinHashTest, SplitPointIsTheLargestPowerOfTwoBelow) {
  EXPECT_EQ(SplitPoint(2), 1u);
  EXPECT_EQ(SplitPoint(3), 2u);
  EXPECT_EQ(SplitPoint(4), 2u);
  EXPECT_EQ(SplitPoint(5), 4u);
  EXPECT_EQ(SplitPoint(64), 32u);
  EXPECT_EQ(SplitPoint(65), 64u);
  EXPECT_EQ(SplitPoint(std::numeric_limits<uint64_t>::max()), uint64_t{1} << 63);
}

TEST(BulletinTreeTest, RootsMatchTheNaiveMthForEverySizeUpTo64) {
  const std::vector<HashOut> leaves = FirstLeafHashes(64);
  const BulletinTree tree = TreeOf(64);
  EXPECT_EQ(*tree.Root(0), EmptyRoot());
  for (uint64_t n = 1; n <= 64; ++n) {
    const StatusOr<HashOut> root = tree.Root(n);
    ASSERT_TRUE(root.ok());
    EXPECT_EQ(*root, NaiveMth(std::span(leaves).subspan(0, n))) << "size " << n;
    // A tree that has only n leaves agrees with the prefix of a bigger one.
    EXPECT_EQ(TreeOf(n).Root(), *root) << "size " << n;
  }
}

TEST(BulletinTreeTest, BatchedHashesMatchTheTree) {
  std::vector<HashOut> commitments;
  for (uint64_t i = 0; i < 4096; ++i) commitments.push_back(CommitmentFor(i));
  const std::vector<HashOut> leaves = LeafHashes(std::span<const HashOut>(commitments));
  ASSERT_EQ(leaves.size(), commitments.size());
  for (size_t i = 0; i < commitments.size(); i += 97) EXPECT_EQ(leaves[i], LeafHash(commitments[i])) << i;
  for (const uint64_t n : {1u, 2u, 4u, 8u, 16u, 64u, 1024u, 4096u}) {
    const std::span<const HashOut> first(commitments.data(), n);
    EXPECT_EQ(CompleteTreeRoot(first), TreeOf(n).Root()) << "size " << n;
  }
  EXPECT_TRUE(LeafHashes(std::span<const HashOut>()).empty());

  // Appending in batches of any sizes builds the same tree as one at a time.
  BulletinTree batched;
  size_t at = 0;
  const size_t steps[] = {1, 3, 0, 8, 5, 1000, 2, 3077};
  for (const size_t step : steps) {
    batched.AppendMany(std::span<const HashOut>(commitments.data() + at, step));
    at += step;
    ASSERT_EQ(batched.size(), at);
    EXPECT_EQ(batched.Root(), TreeOf(at).Root()) << "size " << at;
  }
  const BulletinTree whole = TreeOf(at);
  for (const uint64_t n : {1u, 7u, 100u, 1025u}) EXPECT_EQ(*batched.Root(n), *whole.Root(n));
  EXPECT_EQ(*batched.InclusionProof(17, 4000), *whole.InclusionProof(17, 4000));
}

TEST(BulletinTreeTest, EmptyTree) {
  BulletinTree tree;
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(tree.Root(), EmptyRoot());
  EXPECT_FALSE(tree.LeafHashAt(0).ok());
  EXPECT_FALSE(tree.Root(1).ok());
  EXPECT_FALSE(tree.InclusionProof(0, 0).ok());
  EXPECT_FALSE(tree.ConsistencyProof(0, 0).ok());
  EXPECT_FALSE(tree.ConsistencyProof(1, 1).ok());
}

TEST(BulletinTreeTest, LeavesAndRebuildFromLeafHashes) {
  const BulletinTree tree = TreeOf(37);
  BulletinTree rebuilt;
  rebuilt.Reserve(37);
  for (uint64_t i = 0; i < 37; ++i) {
    const StatusOr<HashOut> leaf = tree.LeafHashAt(i);
    ASSERT_TRUE(leaf.ok());
    EXPECT_EQ(*leaf, LeafHash(CommitmentFor(i)));
    EXPECT_EQ(rebuilt.AppendLeafHash(*leaf), i);
  }
  EXPECT_EQ(rebuilt.Root(), tree.Root());
  EXPECT_FALSE(tree.LeafHashAt(37).ok());
  // Reserve is a bounded hint, even for an absurd size.
  BulletinTree huge;
  huge.Reserve(std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(huge.size(), 0u);
  EXPECT_EQ(huge.Root(), EmptyRoot());
}

TEST(BulletinTreeTest, RefusesRequestsOutsideTheLog) {
  const BulletinTree tree = TreeOf(10);
  EXPECT_EQ(tree.Root(11).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(tree.InclusionProof(10, 10).ok());
  EXPECT_FALSE(tree.InclusionProof(3, 11).ok());
  EXPECT_FALSE(tree.InclusionProof(5, 5).ok());
  EXPECT_FALSE(tree.InclusionProof(std::numeric_limits<uint64_t>::max(), 10).ok());
  EXPECT_FALSE(tree.ConsistencyProof(0, 5).ok());
  EXPECT_FALSE(tree.ConsistencyProof(6, 5).ok());
  EXPECT_FALSE(tree.ConsistencyProof(5, 11).ok());
  EXPECT_FALSE(tree.ConsistencyProof(std::numeric_limits<uint64_t>::max(),
                                     std::numeric_limits<uint64_t>::max()).ok());
  const StatusOr<std::vector<HashOut>> same = tree.ConsistencyProof(7, 7);
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->empty());
}

TEST(InclusionTest, EveryIndexOfEverySizeUpTo64Verifies) {
  const std::vector<HashOut> leaves = FirstLeafHashes(64);
  const BulletinTree tree = TreeOf(64);
  size_t checked = 0;
  for (uint64_t n = 1; n <= 64; ++n) {
    const HashOut root = *tree.Root(n);
    for (uint64_t i = 0; i < n; ++i) {
      const StatusOr<std::vector<HashOut>> path = tree.InclusionProof(i, n);
      ASSERT_TRUE(path.ok()) << path.status().ToString();
      EXPECT_EQ(*path, NaivePath(i, std::span(leaves).subspan(0, n))) << i << " of " << n;
      const Status s = VerifyInclusion(leaves[i], i, n, *path, root);
      EXPECT_TRUE(s.ok()) << i << " of " << n << ": " << s.ToString();
      EXPECT_TRUE(VerifyCommitmentInclusion(CommitmentFor(i), i, n, *path, root).ok());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 64u * 65u / 2u);
}

TEST(InclusionTest, EveryTamperIsRefused) {
  const std::vector<HashOut> leaves = FirstLeafHashes(65);
  const BulletinTree tree = TreeOf(65);
  std::vector<HashOut> roots;
  for (uint64_t n = 0; n <= 65; ++n) roots.push_back(*tree.Root(n));
  size_t refused = 0;
  for (uint64_t n = 1; n <= 64; ++n) {
    for (uint64_t i = 0; i < n; ++i) {
      const std::vector<HashOut> path = *tree.InclusionProof(i, n);
      auto expect_refused = [&](const HashOut& leaf, uint64_t index, uint64_t size,
                                const std::vector<HashOut>& p, const HashOut& root,
                                const char* what) {
        const Status s = VerifyInclusion(leaf, index, size, p, root);
        EXPECT_FALSE(s.ok()) << what << ": leaf " << i << " of " << n;
        if (!s.ok()) {
          EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
          EXPECT_FALSE(s.message().empty());
        }
        ++refused;
      };
      for (const std::vector<HashOut>& t : Tampers(path, i + n)) {
        expect_refused(leaves[i], i, n, t, roots[n], "tampered path");
      }
      for (const uint64_t j : Near(i, 0, n - 1)) {
        expect_refused(leaves[i], j, n, path, roots[n], "wrong index");
        expect_refused(leaves[j], i, n, path, roots[n], "wrong leaf");
      }
      // A size the proof was not made for, with that size's root (sizes come with their root
      // in a signed tree head).
      for (const uint64_t m : Near(n, 1, 65)) {
        expect_refused(leaves[i], i, m, path, roots[m], "wrong size");
      }
      const size_t lane = (i + n) % 4;
      expect_refused(leaves[i], i, n, path, Flip(roots[n], lane), "wrong root");
      expect_refused(Flip(leaves[i], lane), i, n, path, roots[n], "flipped leaf");
      // The commitment itself in place of its leaf hash (missing domain separation).
      expect_refused(CommitmentFor(i), i, n, path, roots[n], "unhashed leaf");
      expect_refused(leaves[i], i + n, n, path, roots[n], "index beyond size");
    }
  }
  std::printf("inclusion tampers refused: %zu\n", refused);
}

TEST(InclusionTest, AnInteriorNodeIsNotALeaf) {
  // RFC 6962's second-preimage concern: the hash of leaves 0-1 presented as a leaf of the
  // two-leaf tree of subtrees. A voter hashes the commitment they hold, which can never
  // give an interior node because leaves and nodes have different tags.
  const BulletinTree tree = TreeOf(4);
  const HashOut node01 = NodeHash(*tree.LeafHashAt(0), *tree.LeafHashAt(1));
  const HashOut node23 = NodeHash(*tree.LeafHashAt(2), *tree.LeafHashAt(3));
  const std::vector<HashOut> path = {node23};
  EXPECT_FALSE(VerifyCommitmentInclusion(node01, 0, 2, path, tree.Root()).ok());
  EXPECT_NE(LeafHash(node01), node01);
}

TEST(InclusionTest, TheSizeIsBoundByTheSignedHeadNotByTheProof) {
  // As in RFC 9162: leaf 0's path in the 5-leaf tree has the shape of a 6-leaf path, so it
  // also "verifies" a claimed size 6 against the 5-leaf root. Harmless because (size, root)
  // always comes from a signed head; with the true 6-leaf root it is refused.
  const BulletinTree tree = TreeOf(6);
  const std::vector<HashOut> path5 = *tree.InclusionProof(0, 5);
  const HashOut leaf0 = *tree.LeafHashAt(0);
  EXPECT_TRUE(VerifyInclusion(leaf0, 0, 5, path5, *tree.Root(5)).ok());
  EXPECT_TRUE(VerifyInclusion(leaf0, 0, 6, path5, *tree.Root(5)).ok());
  EXPECT_FALSE(VerifyInclusion(leaf0, 0, 6, path5, *tree.Root(6)).ok());
}

TEST(ConsistencyTest, EveryPairOfSizesUpTo64Verifies) {
  const std::vector<HashOut> leaves = FirstLeafHashes(64);
  const BulletinTree tree = TreeOf(64);
  size_t checked = 0;
  for (uint64_t n = 1; n <= 64; ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      const StatusOr<std::vector<HashOut>> proof = tree.ConsistencyProof(m, n);
      ASSERT_TRUE(proof.ok()) << proof.status().ToString();
      EXPECT_EQ(*proof, NaiveSubproof(m, std::span(leaves).subspan(0, n), true)) << m << "->" << n;
      const Status s = VerifyConsistency(m, n, *tree.Root(m), *tree.Root(n), *proof);
      EXPECT_TRUE(s.ok()) << m << "->" << n << ": " << s.ToString();
      ++checked;
    }
  }
  EXPECT_EQ(checked, 64u * 65u / 2u);
}

TEST(ConsistencyTest, EveryTamperIsRefused) {
  const BulletinTree tree = TreeOf(66);
  std::vector<HashOut> roots;
  for (uint64_t n = 0; n <= 66; ++n) roots.push_back(*tree.Root(n));
  size_t refused = 0;
  for (uint64_t n = 1; n <= 64; ++n) {
    for (uint64_t m = 1; m <= n; ++m) {
      const std::vector<HashOut> proof = *tree.ConsistencyProof(m, n);
      auto expect_refused = [&](uint64_t old_size, uint64_t new_size, const HashOut& old_root,
                                const HashOut& new_root, const std::vector<HashOut>& p,
                                const char* what) {
        const Status s = VerifyConsistency(old_size, new_size, old_root, new_root, p);
        EXPECT_FALSE(s.ok()) << what << ": " << m << "->" << n;
        if (!s.ok()) {
          EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
        }
        ++refused;
      };
      for (const std::vector<HashOut>& t : Tampers(proof, m + n)) {
        expect_refused(m, n, roots[m], roots[n], t, "tampered proof");
      }
      const size_t lane = (m + n) % 4;
      expect_refused(m, n, Flip(roots[m], lane), roots[n], proof, "wrong old root");
      expect_refused(m, n, roots[m], Flip(roots[n], lane), proof, "wrong new root");
      if (m != n) {
        expect_refused(m, n, roots[n], roots[m], proof, "swapped roots");
        expect_refused(n, m, roots[n], roots[m], proof, "swapped sizes");
      }
      // Other sizes, each with its own root.
      for (const uint64_t m2 : Near(m, 1, n)) {
        expect_refused(m2, n, roots[m2], roots[n], proof, "wrong old size");
      }
      for (const uint64_t n2 : Near(n, m, 66)) {
        expect_refused(m, n2, roots[m], roots[n2], proof, "wrong new size");
      }
    }
  }
  std::printf("consistency tampers refused: %zu\n", refused);
}

TEST(VerifyTest, DegenerateInputIsRefusedWithAReason) {
  const BulletinTree tree = TreeOf(8);
  const HashOut root = tree.Root();
  const HashOut leaf = *tree.LeafHashAt(3);
  const std::vector<HashOut> path = *tree.InclusionProof(3, 8);
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

  EXPECT_FALSE(VerifyInclusion(leaf, 0, 0, {}, EmptyRoot()).ok());  // size 0
  EXPECT_FALSE(VerifyInclusion(leaf, 8, 8, path, root).ok());       // index == size
  EXPECT_FALSE(VerifyInclusion(leaf, kMax, 8, path, root).ok());
  EXPECT_FALSE(VerifyInclusion(leaf, 3, kMax, path, root).ok());
  EXPECT_FALSE(VerifyInclusion(leaf, kMax - 1, kMax, path, root).ok());
  EXPECT_FALSE(VerifyInclusion(leaf, 3, 8, {}, root).ok());
  const std::vector<HashOut> long_path(1000, leaf);
  EXPECT_FALSE(VerifyInclusion(leaf, 3, 8, long_path, root).ok());
  EXPECT_FALSE(VerifyInclusion(leaf, 0, kMax, long_path, root).ok());
  // A single-leaf tree: the leaf hash is the root and the path is empty.
  EXPECT_TRUE(VerifyInclusion(leaf, 0, 1, {}, leaf).ok());
  EXPECT_FALSE(VerifyInclusion(leaf, 0, 1, path, leaf).ok());

  const std::vector<HashOut> proof = *tree.ConsistencyProof(3, 8);
  const HashOut root3 = *tree.Root(3);
  EXPECT_TRUE(VerifyConsistency(3, 8, root3, root, proof).ok());
  EXPECT_FALSE(VerifyConsistency(0, 8, EmptyRoot(), root, {}).ok());
  EXPECT_FALSE(VerifyConsistency(0, 0, EmptyRoot(), EmptyRoot(), {}).ok());
  EXPECT_FALSE(VerifyConsistency(8, 3, root, root3, proof).ok());
  EXPECT_FALSE(VerifyConsistency(3, 8, root3, root, {}).ok());
  EXPECT_FALSE(VerifyConsistency(3, kMax, root3, root, proof).ok());
  EXPECT_FALSE(VerifyConsistency(kMax, kMax, root, root, proof).ok());
  EXPECT_TRUE(VerifyConsistency(kMax, kMax, root, root, {}).ok());  // equal heads, nothing to prove
  EXPECT_FALSE(VerifyConsistency(8, 8, root, root3, {}).ok());
  EXPECT_FALSE(VerifyConsistency(8, 8, root, root, proof).ok());
  EXPECT_FALSE(VerifyConsistency(3, 8, root3, root, long_path).ok());
  EXPECT_FALSE(VerifyConsistency(1, kMax, root3, root, long_path).ok());
  const Status s = VerifyConsistency(3, 8, root3, root, {});
  EXPECT_NE(s.message().find("empty"), std::string::npos) << s.ToString();
}

TEST(BulletinRandomTest, LargeTreesUpTo65536Leaves) {
  std::mt19937_64 rng(TestSeed());
  constexpr uint64_t kMaxSize = uint64_t{1} << 16;
  const std::vector<HashOut> leaves = FirstLeafHashes(kMaxSize);
  BulletinTree tree;
  tree.Reserve(kMaxSize);
  for (const HashOut& leaf : leaves) tree.AppendLeafHash(leaf);
  std::uniform_int_distribution<uint64_t> size_dist(1, kMaxSize);
  // Roots of random sizes (and the full one) against the naive definition.
  for (int round = 0; round < 4; ++round) {
    const uint64_t n = round == 0 ? kMaxSize : size_dist(rng);
    EXPECT_EQ(*tree.Root(n), NaiveMth(std::span(leaves).subspan(0, n))) << "size " << n;
  }
  for (int round = 0; round < 300; ++round) {
    const uint64_t n = size_dist(rng);
    const uint64_t i = std::uniform_int_distribution<uint64_t>(0, n - 1)(rng);
    const uint64_t m = std::uniform_int_distribution<uint64_t>(1, n)(rng);
    const HashOut root_n = *tree.Root(n);
    const std::vector<HashOut> path = *tree.InclusionProof(i, n);
    EXPECT_TRUE(VerifyInclusion(leaves[i], i, n, path, root_n).ok()) << i << " of " << n;
    const std::vector<HashOut> proof = *tree.ConsistencyProof(m, n);
    EXPECT_TRUE(VerifyConsistency(m, n, *tree.Root(m), root_n, proof).ok()) << m << "->" << n;
    // One random tamper of each.
    if (!path.empty()) {
      std::vector<HashOut> t = path;
      const size_t at = rng() % t.size();
      t[at] = Flip(t[at], rng() % 4);
      EXPECT_FALSE(VerifyInclusion(leaves[i], i, n, t, root_n).ok()) << i << " of " << n;
    }
    if (!proof.empty()) {
      std::vector<HashOut> t = proof;
      const size_t at = rng() % t.size();
      t[at] = Flip(t[at], rng() % 4);
      EXPECT_FALSE(VerifyConsistency(m, n, *tree.Root(m), root_n, t).ok()) << m << "->" << n;
    }
  }
}

TEST(HashListTest, ParsesFormatsAndRefuses) {
  const BulletinTree tree = TreeOf(20);
  const std::vector<HashOut> path = *tree.InclusionProof(13, 20);
  const std::vector<std::string> text = FormatHashList(path);
  ASSERT_EQ(text.size(), path.size());
  const StatusOr<std::vector<HashOut>> back = ParseHashList(text);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, path);
  EXPECT_TRUE(ParseHashList({}).ok());

  std::vector<std::string> bad = text;
  bad[1] = std::string(64, 'f');  // every element >= p
  const StatusOr<std::vector<HashOut>> refused = ParseHashList(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("proof element 1"), std::string::npos);
  const std::vector<std::string> too_long(kMaxProofHashes + 1, text[0]);
  EXPECT_FALSE(ParseHashList(too_long).ok());
}

}  // namespace
}  // namespace vp::ballot
