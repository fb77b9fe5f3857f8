// Merkle tree construction, batched openings and their verification.
#include "vp/stark/merkle.h"

#include <cstring>
#include <string>

namespace vp::stark {
namespace {

const Digest& NodeKey() {
  static const Digest kKey = [] {
    Digest k{};
    const char* tag = "vaultproof.stark.merkle-node.v1";
    for (size_t i = 0; i < k.size() && tag[i] != 0; ++i) k[i] = static_cast<uint8_t>(tag[i]);
    return k;
  }();
  return kKey;
}

void PutU64(uint8_t* p, uint64_t v) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  std::memcpy(p, &v, 8);  // one store (the byte loop below is not merged by GCC)
#else
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
#endif
}

}  // namespace

Digest HashLeaf(std::span<const Fp> row, const Salt* salt) {
  Blake3Hasher h;
  if (salt != nullptr) h.Update(*salt);
  uint8_t buf[8 * 64];
  size_t i = 0;
  while (i < row.size()) {
    const size_t take = std::min<size_t>(64, row.size() - i);
    for (size_t j = 0; j < take; ++j) PutU64(buf + 8 * j, row[i + j].value());
    h.Update(std::span<const uint8_t>(buf, 8 * take));
    i += take;
  }
  return h.Finalize();
}

Digest HashNode(const Digest& left, const Digest& right) {
  uint8_t buf[64];
  std::memcpy(buf, left.data(), 32);
  std::memcpy(buf + 32, right.data(), 32);
  return Blake3Keyed(NodeKey(), std::span<const uint8_t>(buf, 64));
}

MerkleTree MerkleTree::Build(DigestVector leaves) {
  MerkleTree t;
  t.levels_.push_back(std::move(leaves));
  while (t.levels_.back().size() > 1) {
    const DigestVector& prev = t.levels_.back();
    DigestVector next(prev.size() / 2);
    if (next.size() % 8 != 0) {
      for (size_t k = 0; k < next.size(); ++k) next[k] = HashNode(prev[2 * k], prev[2 * k + 1]);
    } else {
      // Eight parents at a time: each parent's input is its two children, adjacent in prev.
      const long long groups = static_cast<long long>(next.size() / 8);
#pragma omp parallel for schedule(static) if (groups >= 128)
      for (long long gg = 0; gg < groups; ++gg) {
        const size_t base = static_cast<size_t>(gg) * 8;
        const uint8_t* ptrs[8];
        for (size_t lane = 0; lane < 8; ++lane) ptrs[lane] = prev[2 * (base + lane)].data();
        Blake3Batch8(ptrs, 64, next.data() + base, &NodeKey());
      }
    }
    t.levels_.push_back(std::move(next));
  }
  return t;
}

MerkleMultiProof MerkleTree::Open(std::span<const size_t> indices) const {
  MerkleMultiProof proof;
  std::vector<size_t> cur(indices.begin(), indices.end());
  for (size_t level = 0; level + 1 < levels_.size(); ++level) {
    std::vector<size_t> next;
    for (size_t i = 0; i < cur.size(); ++i) {
      const size_t idx = cur[i];
      const size_t sib = idx ^ 1;
      if (i + 1 < cur.size() && cur[i + 1] == sib) {
        ++i;  // both children known
      } else {
        proof.nodes.push_back(levels_[level][sib]);
      }
      next.push_back(idx >> 1);
    }
    cur = std::move(next);
  }
  return proof;
}

Status VerifyMultiProof(const Digest& root, unsigned log_leaves, std::span<const size_t> indices,
                        std::span<const Digest> leaves, const MerkleMultiProof& proof) {
  if (indices.size() != leaves.size() || indices.empty()) {
    return InvalidArgumentError("merkle: opening has no leaves or mismatched leaf count");
  }
  const size_t n = size_t{1} << log_leaves;
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= n || (i > 0 && indices[i] <= indices[i - 1])) {
      return InvalidArgumentError("merkle: leaf indices out of range or not increasing");
    }
  }
  std::vector<size_t> idx(indices.begin(), indices.end());
  std::vector<Digest> val(leaves.begin(), leaves.end());
  size_t used = 0;
  for (unsigned level = 0; level < log_leaves; ++level) {
    std::vector<size_t> nidx;
    std::vector<Digest> nval;
    for (size_t i = 0; i < idx.size(); ++i) {
      const size_t a = idx[i];
      Digest left, right;
      if ((a & 1) == 0 && i + 1 < idx.size() && idx[i + 1] == (a | 1)) {
        left = val[i];
        right = val[i + 1];
        ++i;
      } else {
        if (used >= proof.nodes.size()) {
          return InvalidArgumentError("merkle: authentication path too short");
        }
        if ((a & 1) == 0) {
          left = val[i];
          right = proof.nodes[used++];
        } else {
          left = proof.nodes[used++];
          right = val[i];
        }
      }
      nidx.push_back(a >> 1);
      nval.push_back(HashNode(left, right));
    }
    idx = std::move(nidx);
    val = std::move(nval);
  }
  if (used != proof.nodes.size()) {
    return InvalidArgumentError("merkle: authentication path has extra nodes");
  }
  if (val.size() != 1 || val[0] != root) {
    return InvalidArgumentError("merkle: root mismatch");
  }
  return OkStatus();
}

Salt DeriveSalt(const Digest& salt_key, uint64_t row) {
  uint8_t buf[8];
  PutU64(buf, row);
  return Blake3Keyed(salt_key, std::span<const uint8_t>(buf, 8));
}

DigestVector HashRows(const std::vector<const std::vector<Fp>*>& columns, size_t n,
                      const Digest* salt_key, unsigned log_cosets) {
  static_assert(sizeof(Fp) == sizeof(uint64_t), "columns are read as arrays of 64-bit values");
  DigestVector out(n);
  const size_t coset_mask = (size_t{1} << log_cosets) - 1, coset_size = n >> log_cosets;
  auto at = [&](size_t i) { return (i & coset_mask) * coset_size + (i >> log_cosets); };
  // Eight rows at a time through the vectorized BLAKE3 when eight rows are adjacent in the
  // columns (consecutive rows, or with cosets rows i, i + 2^c, ...): each column is then one
  // vector load per group, already in the lane-per-row layout BLAKE3 works in.
  const bool grouped = n % 8 == 0 && (log_cosets == 0 || coset_size % 8 == 0);
  if (!grouped) {
    const long long m = static_cast<long long>(n);
#pragma omp parallel if (n >= 2048)
    {
      std::vector<Fp> row(columns.size());
#pragma omp for schedule(static)
      for (long long ii = 0; ii < m; ++ii) {
        const auto i = static_cast<size_t>(ii);
        const size_t a = at(i);
        for (size_t c = 0; c < columns.size(); ++c) row[c] = (*columns[c])[a];
        const Salt salt = salt_key != nullptr ? DeriveSalt(*salt_key, i) : Salt{};
        out[i] = HashLeaf(row, salt_key != nullptr ? &salt : nullptr);
      }
    }
    return out;
  }
  std::vector<const uint64_t*> cols(columns.size());
  for (size_t c = 0; c < columns.size(); ++c) cols[c] = reinterpret_cast<const uint64_t*>(columns[c]->data());
  const long long groups = static_cast<long long>(n / 8);
#pragma omp parallel for schedule(static) if (n >= 2048)
  for (long long gg = 0; gg < groups; ++gg) {
    const size_t g = static_cast<size_t>(gg) * 8;
    // Element g + lane of the coset-major columns is row at^-1(g + lane).
    size_t rows[8];
    for (size_t lane = 0; lane < 8; ++lane) {
      rows[lane] = log_cosets != 0 ? (((g + lane) % coset_size) << log_cosets) | ((g + lane) / coset_size) : g + lane;
    }
    Digest salts[8], digests[8];
    const uint8_t* prefixes[8];
    if (salt_key != nullptr) {
      // salts[lane] = DeriveSalt(*salt_key, rows[lane]), eight at once.
      uint8_t index[8][8];
      const uint8_t* inputs[8];
      for (size_t lane = 0; lane < 8; ++lane) {
        PutU64(index[lane], rows[lane]);
        inputs[lane] = index[lane];
        prefixes[lane] = salts[lane].data();
      }
      Blake3Batch8(inputs, 8, salts, salt_key);
    }
    Blake3Batch8Columns(cols.data(), cols.size(), g, salt_key != nullptr ? prefixes : nullptr, digests);
    for (size_t lane = 0; lane < 8; ++lane) out[rows[lane]] = digests[lane];
  }
  return out;
}

}  // namespace vp::stark
