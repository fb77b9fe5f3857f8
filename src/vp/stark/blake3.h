// BLAKE3 (https://github.com/BLAKE3-team/BLAKE3-specs), portable and written in-house: the
// byte hash behind Merkle commitments and the Fiat-Shamir channel. Portable code (vector
// extensions lower to scalar where there is no SIMD), so the same code runs natively and in
// WebAssembly. Only 32-byte output is provided.
//
//   Digest d = Blake3(bytes);
//   Digest n = Blake3Keyed(key, left_and_right);   // one compression for 64 bytes
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

namespace vp::stark {

using Digest = std::array<uint8_t, 32>;

Digest Blake3(std::span<const uint8_t> data);
Digest Blake3Keyed(const Digest& key, std::span<const uint8_t> data);

// Hashes 8 inputs of the same length (any length; inputs longer than one 1024-byte chunk
// go through the chunk tree lane-wise) at once with 8-lane vector arithmetic (GCC vector
// extensions: AVX-512VL/AVX2/SSE2 natively, scalar elsewhere). Same results as Blake3() (or
// Blake3Keyed() when key is given) on each input.
void Blake3Batch8(const uint8_t* const inputs[8], size_t len, Digest out[8],
                  const Digest* key = nullptr);
inline constexpr size_t kBlake3ChunkLen = 1024;

// Hashes eight rows of 64-bit values held column by column: lane l's input is
// prefixes[l][0..32) when prefixes is not null, then the 8-byte little-endian values
// columns[0][row + l], columns[1][row + l], ... Same digests as Blake3() on those bytes, but
// without gathering rows: each column is one vector load, already one row per lane.
void Blake3Batch8Columns(const uint64_t* const* columns, size_t num_columns, size_t row,
                         const uint8_t* const prefixes[8], Digest out[8]);

// Incremental hasher (same results as the one-shot functions).
class Blake3Hasher {
 public:
  Blake3Hasher();
  explicit Blake3Hasher(const Digest& key);
  void Update(std::span<const uint8_t> data);
  Digest Finalize() const;

 private:
  struct Output {
    std::array<uint32_t, 8> cv;
    std::array<uint32_t, 16> block;
    uint64_t counter;
    uint32_t block_len;
    uint32_t flags;
  };
  Output ChunkOutput() const;
  void PushCv(std::array<uint32_t, 8> cv, uint64_t total_chunks);

  std::array<uint32_t, 8> key_;
  uint32_t base_flags_;
  // current chunk
  std::array<uint32_t, 8> chunk_cv_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  size_t blocks_compressed_ = 0;
  uint64_t chunk_counter_ = 0;
  // stack of chaining values of completed subtrees
  std::array<std::array<uint32_t, 8>, 54> stack_{};
  size_t stack_len_ = 0;
};

}  // namespace vp::stark
