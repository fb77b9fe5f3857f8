// Fiat-Shamir channel.
#include "vp/stark/channel.h"

#include <algorithm>
#include <cstring>

namespace vp::stark {
namespace {

uint64_t Le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

uint64_t PowValue(const Digest& state, uint64_t nonce) {
  uint8_t buf[40];
  std::memcpy(buf, state.data(), 32);
  for (int i = 0; i < 8; ++i) buf[32 + i] = static_cast<uint8_t>(nonce >> (8 * i));
  const Digest d = Blake3(std::span<const uint8_t>(buf, 40));
  return Le64(d.data());
}

bool PowOk(uint64_t v, unsigned bits) {
  if (bits == 0) return true;
  if (bits >= 64) return v == 0;
  return (v & ((uint64_t{1} << bits) - 1)) == 0;
}

}  // namespace

Channel::Channel(std::string_view protocol_id) {
  AbsorbBytes(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(protocol_id.data()),
                                       protocol_id.size()));
  AbsorbU64(protocol_id.size());
  Flush();
}

void Channel::AbsorbBytes(std::span<const uint8_t> data) {
  pending_.insert(pending_.end(), data.begin(), data.end());
}

void Channel::AbsorbU64(uint64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; ++i) b[i] = static_cast<uint8_t>(v >> (8 * i));
  AbsorbBytes(b);
}

void Channel::Flush() {
  if (pending_.empty()) return;
  Blake3Hasher h;
  h.Update(state_);
  h.Update(pending_);
  state_ = h.Finalize();
  pending_.clear();
  counter_ = 0;
}

uint64_t Channel::DrawU64() {
  Flush();
  uint8_t buf[44];
  std::memcpy(buf, state_.data(), 32);
  std::memcpy(buf + 32, "draw", 4);
  for (int i = 0; i < 8; ++i) buf[36 + i] = static_cast<uint8_t>(counter_ >> (8 * i));
  ++counter_;
  const Digest d = Blake3(std::span<const uint8_t>(buf, 44));
  return Le64(d.data());
}

Fp Channel::DrawFp() {
  for (;;) {
    const uint64_t v = DrawU64();
    if (v < Fp::kModulus) return Fp(v);
  }
}

Fp2 Channel::DrawFp2() {
  const Fp a = DrawFp();
  return Fp2(a, DrawFp());
}

std::vector<size_t> Channel::DrawIndices(size_t count, size_t domain_size) {
  std::vector<size_t> out(count);
  for (auto& i : out) i = static_cast<size_t>(DrawU64() & (domain_size - 1));
  return out;
}

bool Channel::CheckPow(uint64_t nonce, unsigned bits) {
  Flush();
  return PowOk(PowValue(state_, nonce), bits);
}

uint64_t Channel::Grind(unsigned bits) {
  Flush();
  const Digest state = state_;
  if (bits <= 10) {
    for (uint64_t nonce = 0;; ++nonce) {
      if (PowOk(PowValue(state, nonce), bits)) return nonce;
    }
  }
  constexpr long long kBlock = 1 << 14;
  for (uint64_t base = 0;; base += kBlock) {
    uint64_t best = ~uint64_t{0};
#pragma omp parallel for schedule(static) reduction(min : best)
    for (long long i = 0; i < kBlock; ++i) {
      const uint64_t nonce = base + static_cast<uint64_t>(i);
      if (PowOk(PowValue(state, nonce), bits)) best = std::min(best, nonce);
    }
    if (best != ~uint64_t{0}) return best;
  }
}

}  // namespace vp::stark
