// BLAKE3 compression, chunk chaining and the binary tree of chunk chaining values, following
// the reference description in the BLAKE3 paper (section 5).
#include "vp/stark/blake3.h"

#include <algorithm>
#include <cstring>

namespace vp::stark {
namespace {

constexpr std::array<uint32_t, 8> kIv = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                         0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};
constexpr uint32_t kChunkStart = 1, kChunkEnd = 2, kParent = 4, kRoot = 8, kKeyedHash = 16;
constexpr size_t kChunkLen = 1024;
constexpr std::array<uint8_t, 16> kPerm = {2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8};

inline uint32_t Rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

inline void G(uint32_t* s, size_t a, size_t b, size_t c, size_t d, uint32_t mx, uint32_t my) {
  s[a] = s[a] + s[b] + mx;
  s[d] = Rotr(s[d] ^ s[a], 16);
  s[c] = s[c] + s[d];
  s[b] = Rotr(s[b] ^ s[c], 12);
  s[a] = s[a] + s[b] + my;
  s[d] = Rotr(s[d] ^ s[a], 8);
  s[c] = s[c] + s[d];
  s[b] = Rotr(s[b] ^ s[c], 7);
}

std::array<uint32_t, 16> Compress(const std::array<uint32_t, 8>& cv,
                                  const std::array<uint32_t, 16>& block, uint64_t counter,
                                  uint32_t block_len, uint32_t flags) {
  uint32_t s[16] = {cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
                    kIv[0], kIv[1], kIv[2], kIv[3],
                    static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32),
                    block_len, flags};
  std::array<uint32_t, 16> m = block;
  for (int round = 0; round < 7; ++round) {
    G(s, 0, 4, 8, 12, m[0], m[1]);
    G(s, 1, 5, 9, 13, m[2], m[3]);
    G(s, 2, 6, 10, 14, m[4], m[5]);
    G(s, 3, 7, 11, 15, m[6], m[7]);
    G(s, 0, 5, 10, 15, m[8], m[9]);
    G(s, 1, 6, 11, 12, m[10], m[11]);
    G(s, 2, 7, 8, 13, m[12], m[13]);
    G(s, 3, 4, 9, 14, m[14], m[15]);
    if (round < 6) {
      std::array<uint32_t, 16> p;
      for (size_t i = 0; i < 16; ++i) p[i] = m[kPerm[i]];
      m = p;
    }
  }
  std::array<uint32_t, 16> out;
  for (size_t i = 0; i < 8; ++i) {
    out[i] = s[i] ^ s[i + 8];
    out[i + 8] = s[i + 8] ^ cv[i];
  }
  return out;
}

std::array<uint32_t, 16> LoadBlock(const uint8_t* p) {
  std::array<uint32_t, 16> w;
  for (size_t i = 0; i < 16; ++i) {
    w[i] = static_cast<uint32_t>(p[4 * i]) | (static_cast<uint32_t>(p[4 * i + 1]) << 8) |
           (static_cast<uint32_t>(p[4 * i + 2]) << 16) | (static_cast<uint32_t>(p[4 * i + 3]) << 24);
  }
  return w;
}

std::array<uint32_t, 8> First8(const std::array<uint32_t, 16>& w) {
  std::array<uint32_t, 8> r;
  for (size_t i = 0; i < 8; ++i) r[i] = w[i];
  return r;
}

Digest ToDigest(const std::array<uint32_t, 16>& w) {
  Digest d;
  for (size_t i = 0; i < 8; ++i) {
    d[4 * i] = static_cast<uint8_t>(w[i]);
    d[4 * i + 1] = static_cast<uint8_t>(w[i] >> 8);
    d[4 * i + 2] = static_cast<uint8_t>(w[i] >> 16);
    d[4 * i + 3] = static_cast<uint8_t>(w[i] >> 24);
  }
  return d;
}

std::array<uint32_t, 8> KeyWords(const Digest& key) {
  std::array<uint32_t, 8> k;
  for (size_t i = 0; i < 8; ++i) {
    k[i] = static_cast<uint32_t>(key[4 * i]) | (static_cast<uint32_t>(key[4 * i + 1]) << 8) |
           (static_cast<uint32_t>(key[4 * i + 2]) << 16) | (static_cast<uint32_t>(key[4 * i + 3]) << 24);
  }
  return k;
}

}  // namespace

Blake3Hasher::Blake3Hasher() : key_(kIv), base_flags_(0), chunk_cv_(kIv) {}
Blake3Hasher::Blake3Hasher(const Digest& key)
    : key_(KeyWords(key)), base_flags_(kKeyedHash), chunk_cv_(KeyWords(key)) {}

void Blake3Hasher::PushCv(std::array<uint32_t, 8> cv, uint64_t total_chunks) {
  // Merge completed subtrees: one merge per trailing zero bit of the chunk count.
  while ((total_chunks & 1) == 0) {
    std::array<uint32_t, 16> block;
    for (size_t i = 0; i < 8; ++i) {
      block[i] = stack_[stack_len_ - 1][i];
      block[i + 8] = cv[i];
    }
    --stack_len_;
    cv = First8(Compress(key_, block, 0, 64, base_flags_ | kParent));
    total_chunks >>= 1;
  }
  stack_[stack_len_++] = cv;
}

void Blake3Hasher::Update(std::span<const uint8_t> data) {
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t chunk_used = blocks_compressed_ * 64 + buf_len_;
    if (chunk_used == kChunkLen) {
      // The chunk is complete and more input follows: finish it and start the next.
      const Output o = ChunkOutput();
      const auto cv = First8(Compress(o.cv, o.block, o.counter, o.block_len, o.flags));
      ++chunk_counter_;
      PushCv(cv, chunk_counter_);
      chunk_cv_ = key_;
      blocks_compressed_ = 0;
      buf_len_ = 0;
      continue;
    }
    if (buf_len_ == 64) {
      // A full block with more input after it is never the chunk's last block.
      const uint32_t flags = base_flags_ | (blocks_compressed_ == 0 ? kChunkStart : 0);
      chunk_cv_ = First8(Compress(chunk_cv_, LoadBlock(buf_.data()), chunk_counter_, 64, flags));
      ++blocks_compressed_;
      buf_len_ = 0;
    }
    const size_t take = std::min(64 - buf_len_, data.size() - pos);
    std::memcpy(buf_.data() + buf_len_, data.data() + pos, take);
    buf_len_ += take;
    pos += take;
  }
}

Blake3Hasher::Output Blake3Hasher::ChunkOutput() const {
  std::array<uint8_t, 64> padded{};
  std::memcpy(padded.data(), buf_.data(), buf_len_);
  Output o;
  o.cv = chunk_cv_;
  o.block = LoadBlock(padded.data());
  o.counter = chunk_counter_;
  o.block_len = static_cast<uint32_t>(buf_len_);
  o.flags = base_flags_ | kChunkEnd | (blocks_compressed_ == 0 ? kChunkStart : 0);
  return o;
}

Digest Blake3Hasher::Finalize() const {
  Output o = ChunkOutput();
  // Fold the stack from the top: the current chunk is the rightmost leaf.
  for (size_t i = stack_len_; i-- > 0;) {
    const auto right = First8(Compress(o.cv, o.block, o.counter, o.block_len, o.flags));
    std::array<uint32_t, 16> block;
    for (size_t j = 0; j < 8; ++j) {
      block[j] = stack_[i][j];
      block[j + 8] = right[j];
    }
    o.cv = key_;
    o.block = block;
    o.counter = 0;
    o.block_len = 64;
    o.flags = base_flags_ | kParent;
  }
  return ToDigest(Compress(o.cv, o.block, o.counter, o.block_len, o.flags | kRoot));
}

Digest Blake3(std::span<const uint8_t> data) {
  Blake3Hasher h;
  h.Update(data);
  return h.Finalize();
}

Digest Blake3Keyed(const Digest& key, std::span<const uint8_t> data) {
  Blake3Hasher h(key);
  h.Update(data);
  return h.Finalize();
}

namespace {

typedef uint32_t V8 __attribute__((vector_size(32)));

// Macros rather than functions: the batch function may be compiled for several instruction
// sets (below), and helpers taking vector arguments would need one copy per target.
#define VP_ROTR8(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define VP_G8(s, a, b, c, d, mx, my)        \
  do {                                      \
    s[a] = s[a] + s[b] + (mx);              \
    s[d] = VP_ROTR8(s[d] ^ s[a], 16);       \
    s[c] = s[c] + s[d];                     \
    s[b] = VP_ROTR8(s[b] ^ s[c], 12);       \
    s[a] = s[a] + s[b] + (my);              \
    s[d] = VP_ROTR8(s[d] ^ s[a], 8);        \
    s[c] = s[c] + s[d];                     \
    s[b] = VP_ROTR8(s[b] ^ s[c], 7);        \
  } while (0)

// out[j][i] = r[i][j] for an 8x8 matrix of 32-bit words (unpack 32, unpack 64, swap 128).
__attribute__((always_inline)) inline void Transpose8(const V8* r, V8* out) {
  V8 t[8], u[8];
  for (size_t i = 0; i < 8; i += 2) {
    t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (size_t i = 0; i < 8; i += 4) {
    u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (size_t j = 0; j < 4; ++j) {
    out[j] = __builtin_shufflevector(u[j], u[j + 4], 0, 1, 2, 3, 8, 9, 10, 11);
    out[j + 4] = __builtin_shufflevector(u[j], u[j + 4], 4, 5, 6, 7, 12, 13, 14, 15);
  }
}

// Message word order of each round: round r uses word kSchedule[r][i] where round 0 uses
// word i (kPerm applied r times).
struct MessageSchedule {
  uint8_t at[7][16];
};
constexpr MessageSchedule MakeSchedule() {
  MessageSchedule s{};
  for (size_t i = 0; i < 16; ++i) s.at[0][i] = static_cast<uint8_t>(i);
  for (size_t r = 1; r < 7; ++r) {
    for (size_t i = 0; i < 16; ++i) s.at[r][i] = s.at[r - 1][kPerm[i]];
  }
  return s;
}
constexpr MessageSchedule kSchedule = MakeSchedule();

// One 8-lane compression: cv = first 8 words of compress(cv, m, counter, block_len, flags).
// Always inlined, so each instruction-set clone below gets its own copy; the rounds are
// unrolled so that the schedule is fixed register choices rather than copies.
__attribute__((always_inline)) inline void Compress8(V8* cv, const V8* msg, uint64_t counter,
                                                     uint32_t block_len, uint32_t flags) {
  const V8 zero = {};
  V8 st[16] = {cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7],
               zero + kIv[0], zero + kIv[1], zero + kIv[2], zero + kIv[3],
               zero + static_cast<uint32_t>(counter), zero + static_cast<uint32_t>(counter >> 32),
               zero + block_len, zero + flags};
#pragma GCC unroll 7
  for (int round = 0; round < 7; ++round) {
    const uint8_t* w = kSchedule.at[round];
    VP_G8(st, 0, 4, 8, 12, msg[w[0]], msg[w[1]]);
    VP_G8(st, 1, 5, 9, 13, msg[w[2]], msg[w[3]]);
    VP_G8(st, 2, 6, 10, 14, msg[w[4]], msg[w[5]]);
    VP_G8(st, 3, 7, 11, 15, msg[w[6]], msg[w[7]]);
    VP_G8(st, 0, 5, 10, 15, msg[w[8]], msg[w[9]]);
    VP_G8(st, 1, 6, 11, 12, msg[w[10]], msg[w[11]]);
    VP_G8(st, 2, 7, 8, 13, msg[w[12]], msg[w[13]]);
    VP_G8(st, 3, 4, 9, 14, msg[w[14]], msg[w[15]]);
  }
  for (size_t i = 0; i < 8; ++i) cv[i] = st[i] ^ st[i + 8];
}

// The 8-lane tree over inputs of len bytes each, whose 64-byte blocks load(off, block_len, m)
// writes as message words (m[w][lane], zero past the end). The 8 inputs have the same length,
// hence the same tree: chunks are compressed lane-wise, and their chaining values merged
// exactly as Blake3Hasher does (PushCv / Finalize). Always inlined into each clone below.
template <class Load>
__attribute__((always_inline)) inline void Hash8(const Load& load, size_t len, const Digest* key,
                                                 Digest out[8]) {
  const std::array<uint32_t, 8> init = key != nullptr ? KeyWords(*key) : kIv;
  const uint32_t base_flags = key != nullptr ? kKeyedHash : 0;
  V8 key_v[8];
  for (size_t i = 0; i < 8; ++i) key_v[i] = V8{} + init[i];
  const size_t nchunks = len == 0 ? 1 : (len + kChunkLen - 1) / kChunkLen;
  V8 stack[54][8];
  size_t stack_len = 0;
  V8 cv[8];
  for (size_t chunk = 0; chunk < nchunks; ++chunk) {
    const size_t chunk_off = chunk * kChunkLen;
    const size_t chunk_len = std::min(kChunkLen, len - chunk_off);
    const bool root_chunk = nchunks == 1;
    for (size_t i = 0; i < 8; ++i) cv[i] = key_v[i];
    const size_t nblocks = chunk_len == 0 ? 1 : (chunk_len + 63) / 64;
    for (size_t blk = 0; blk < nblocks; ++blk) {
      const size_t off = chunk_off + blk * 64;
      const size_t block_len = std::min<size_t>(64, len - std::min(len, off));
      V8 m[16];
      load(off, block_len, m);
      const bool last = blk + 1 == nblocks;
      const uint32_t flags = base_flags | (blk == 0 ? kChunkStart : 0) |
                             (last ? kChunkEnd : 0) | (last && root_chunk ? kRoot : 0);
      Compress8(cv, m, chunk, static_cast<uint32_t>(block_len), flags);
    }
    if (chunk + 1 == nchunks) break;
    // A completed chunk with more input after it: merge one level per trailing zero bit.
    uint64_t total = chunk + 1;
    while ((total & 1) == 0) {
      V8 m[16];
      for (size_t i = 0; i < 8; ++i) {
        m[i] = stack[stack_len - 1][i];
        m[i + 8] = cv[i];
      }
      --stack_len;
      for (size_t i = 0; i < 8; ++i) cv[i] = key_v[i];
      Compress8(cv, m, 0, 64, base_flags | kParent);
      total >>= 1;
    }
    for (size_t i = 0; i < 8; ++i) stack[stack_len][i] = cv[i];
    ++stack_len;
  }
  // The last chunk is the rightmost leaf: fold the stack from the top; the final parent is
  // the root.
  for (size_t s = stack_len; s-- > 0;) {
    V8 m[16];
    for (size_t i = 0; i < 8; ++i) {
      m[i] = stack[s][i];
      m[i + 8] = cv[i];
    }
    for (size_t i = 0; i < 8; ++i) cv[i] = key_v[i];
    Compress8(cv, m, 0, 64, base_flags | kParent | (s == 0 ? kRoot : 0));
  }
  for (size_t lane = 0; lane < 8; ++lane) {
    for (size_t i = 0; i < 8; ++i) {
      const uint32_t w = cv[i][lane];
      out[lane][4 * i] = static_cast<uint8_t>(w);
      out[lane][4 * i + 1] = static_cast<uint8_t>(w >> 8);
      out[lane][4 * i + 2] = static_cast<uint8_t>(w >> 16);
      out[lane][4 * i + 3] = static_cast<uint8_t>(w >> 24);
    }
  }
}

// Message words of eight byte strings: m[w][lane] is little-endian word w of lane's block.
__attribute__((always_inline)) inline void LoadBytes8(const uint8_t* const inputs[8], size_t off,
                                                      size_t block_len, V8 m[16]) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  // Each lane's block is two vector loads; two 8x8 transposes then give word w of every lane
  // in m[w].
  V8 rows[2][8];
  for (size_t lane = 0; lane < 8; ++lane) {
    if (block_len == 64) {
      std::memcpy(&rows[0][lane], inputs[lane] + off, 32);
      std::memcpy(&rows[1][lane], inputs[lane] + off + 32, 32);
    } else {
      uint8_t padded[64] = {};
      if (block_len != 0) std::memcpy(padded, inputs[lane] + off, block_len);
      std::memcpy(&rows[0][lane], padded, 32);
      std::memcpy(&rows[1][lane], padded + 32, 32);
    }
  }
  for (size_t half = 0; half < 2; ++half) Transpose8(rows[half], m + 8 * half);
#else
  for (size_t lane = 0; lane < 8; ++lane) {
    uint8_t buf[64] = {};
    if (block_len != 0) std::memcpy(buf, inputs[lane] + off, block_len);
    for (size_t w = 0; w < 16; ++w) {
      m[w][lane] = static_cast<uint32_t>(buf[4 * w]) | (static_cast<uint32_t>(buf[4 * w + 1]) << 8) |
                   (static_cast<uint32_t>(buf[4 * w + 2]) << 16) |
                   (static_cast<uint32_t>(buf[4 * w + 3]) << 24);
    }
  }
#endif
}

}  // namespace

// On x86-64 with GCC, an AVX-512 clone (single-instruction rotates) or an AVX2 clone is
// selected at load time when the CPU has it.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
#pragma GCC diagnostic ignored "-Wpsabi"
#define VP_BLAKE3_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define VP_BLAKE3_CLONES
#endif

VP_BLAKE3_CLONES void Blake3Batch8(const uint8_t* const inputs[8], size_t len, Digest out[8],
                                   const Digest* key) {
  Hash8([&](size_t off, size_t block_len, V8 m[16]) __attribute__((always_inline)) {
          LoadBytes8(inputs, off, block_len, m);
        },
        len, key, out);
}

VP_BLAKE3_CLONES void Blake3Batch8Columns(const uint64_t* const* columns, size_t num_columns,
                                          size_t row, const uint8_t* const prefixes[8],
                                          Digest out[8]) {
  typedef uint64_t V8x64 __attribute__((vector_size(64)));  // NOLINT: vector extension
  constexpr size_t kPrefetchRows = 32;
  const size_t prefix_words = prefixes != nullptr ? 8 : 0;
  const size_t len = 4 * prefix_words + 8 * num_columns;
  V8 prefix[8];
  if (prefixes != nullptr) {
    const uint8_t* p[8];
    for (size_t lane = 0; lane < 8; ++lane) p[lane] = prefixes[lane];
    V8 m[16];
    LoadBytes8(p, 0, 32, m);
    for (size_t w = 0; w < 8; ++w) prefix[w] = m[w];
  }
  // Word w of the input: a prefix word, or the low (even) / high (odd) half of a column
  // element; blocks hold 16 words and the prefix 8, so a column's two halves share a block.
  Hash8(
      [&](size_t off, size_t block_len, V8 m[16]) __attribute__((always_inline)) {
        const size_t first = off / 4, words = block_len / 4;
        size_t w = 0;
        for (; w < words && first + w < prefix_words; ++w) m[w] = prefix[first + w];
        for (; w < words; w += 2) {
          V8x64 v;
          const uint64_t* col = columns[(first + w - prefix_words) / 2] + row;
          // Each column is its own stream, more than hardware prefetchers follow: fetch the
          // line that the call four groups later reads (measured best of 16..256 rows ahead:
          // 86 columns x 2^19 rows hash in 142 ms instead of 252 ms on one core).
          __builtin_prefetch(col + kPrefetchRows);
          std::memcpy(&v, col, sizeof(v));
          m[w] = __builtin_convertvector(v, V8);
          m[w + 1] = __builtin_convertvector(v >> 32, V8);
        }
        for (; w < 16; ++w) m[w] = V8{};
      },
      len, nullptr, out);
}

}  // namespace vp::stark
