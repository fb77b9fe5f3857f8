// BIP-39 (https://github.com/bitcoin/bips/blob/master/bip-0039.mediawiki): mnemonic
// encoding of entropy with a SHA-256 checksum, and PBKDF2 seed derivation.
#include "vp/eth/bip39.h"

#include <unistr.h>
#include <uninorm.h>

#include <cstdlib>

#include <algorithm>
#include <array>
#include <string>

#include "vp/crypto/hash.h"
#include "vp/crypto/random.h"

namespace vp::eth {
namespace {

constexpr size_t kBitsPerWord = 11;
constexpr size_t kMaxWords = 24;
constexpr std::string_view kSaltPrefix = "mnemonic";

bool IsValidWordCount(size_t words) {
  return words >= 12 && words <= kMaxWords && words % 3 == 0;
}

// Entropy bytes for a word count: ENT = words * 11 * 32 / 33 bits.
size_t EntropyBytesForWords(size_t words) { return words * 4 / 3; }

// Index of 'word' in the list, scanning every entry with the same work whatever the word,
// so the lookup time does not reveal which secret word it was (best effort in C++: no
// data-dependent branches or indexing in the loop). Returns kBip39WordCount if absent.
size_t FindWord(std::string_view word) {
  if (word.size() > kBip39MaxWordLength) return kBip39WordCount;
  std::array<uint8_t, kBip39MaxWordLength> padded{};
  for (size_t i = 0; i < word.size(); ++i) padded[i] = static_cast<uint8_t>(word[i]);
  const auto words = Bip39EnglishWords();
  uint32_t found = 0;
  uint32_t index = 0;
  for (size_t i = 0; i < kBip39WordCount; ++i) {
    const std::string_view candidate = words[i];
    uint32_t diff = static_cast<uint32_t>(candidate.size() ^ word.size());
    for (size_t k = 0; k < kBip39MaxWordLength; ++k) {
      const uint8_t c = k < candidate.size() ? static_cast<uint8_t>(candidate[k]) : 0;
      diff |= static_cast<uint32_t>(c ^ padded[k]);
    }
    // equal = 1 iff diff == 0 (diff < 2^31 here).
    const uint32_t equal = ((diff | (0u - diff)) >> 31) ^ 1u;
    const uint32_t mask = 0u - equal;
    index |= static_cast<uint32_t>(i) & mask;
    found |= equal;
  }
  SecureWipe(padded.data(), padded.size());
  return found != 0 ? index : kBip39WordCount;
}

// Reads 11 bits starting at bit 'pos' (big-endian bit order) from 'bits'.
uint32_t ReadElevenBits(ByteSpan bits, size_t pos) {
  uint32_t v = 0;
  for (size_t b = 0; b < kBitsPerWord; ++b, ++pos) {
    v = (v << 1) | ((static_cast<uint32_t>(bits[pos / 8]) >> (7 - pos % 8)) & 1u);
  }
  return v;
}

void WriteElevenBits(std::span<uint8_t> bits, size_t pos, uint32_t v) {
  for (size_t b = 0; b < kBitsPerWord; ++b, ++pos) {
    const uint32_t bit = (v >> (kBitsPerWord - 1 - b)) & 1u;
    bits[pos / 8] = static_cast<uint8_t>(bits[pos / 8] | (bit << (7 - pos % 8)));
  }
}

std::string WordPosition(size_t index) { return "word " + std::to_string(index + 1); }

}  // namespace

StatusOr<SecureBuffer> EntropyToMnemonic(ByteSpan entropy) {
  const size_t n = entropy.size();
  if (n < 16 || n > 32 || n % 4 != 0) {
    return InvalidArgumentError("bip39: entropy must be 16, 20, 24, 28 or 32 bytes, got " +
                                std::to_string(n));
  }
  const size_t checksum_bits = n / 4;
  const size_t word_count = (n * 8 + checksum_bits) / kBitsPerWord;

  // entropy || first checksum byte (only its top checksum_bits bits are read).
  SecureBuffer bits(n + 1);
  for (size_t i = 0; i < n; ++i) bits.data()[i] = entropy[i];
  auto digest = crypto::Sha256(entropy);
  bits.data()[n] = digest[0];
  SecureWipe(digest.data(), digest.size());

  const auto words = Bip39EnglishWords();
  std::array<uint32_t, kMaxWords> indices{};
  size_t length = word_count - 1;  // separating spaces
  for (size_t w = 0; w < word_count; ++w) {
    indices[w] = ReadElevenBits(bits.view(), w * kBitsPerWord);
    length += words[indices[w]].size();
  }
  SecureBuffer out(length);
  size_t at = 0;
  for (size_t w = 0; w < word_count; ++w) {
    if (w > 0) out.data()[at++] = ' ';
    for (char c : words[indices[w]]) out.data()[at++] = static_cast<uint8_t>(c);
  }
  SecureWipe(indices.data(), sizeof(indices));
  return out;
}

StatusOr<SecureBuffer> MnemonicToEntropy(std::string_view mnemonic) {
  if (mnemonic.empty()) return InvalidArgumentError("bip39: mnemonic is empty");

  // Characters first, so that a wrong script or case is reported as such rather than as
  // an unknown word.
  size_t word = 0;
  for (char ch : mnemonic) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == ' ') {
      ++word;
    } else if (c >= 0x80) {
      return InvalidArgumentError("bip39: non-ASCII byte in " + WordPosition(word) +
                                  "; only the English word list is supported");
    } else if (c >= 'A' && c <= 'Z') {
      return InvalidArgumentError("bip39: upper-case letter in " + WordPosition(word) +
                                  "; mnemonic words are lower case");
    } else if (c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      return InvalidArgumentError("bip39: whitespace other than a single space after " +
                                  WordPosition(word) + "; words are separated by one space");
    } else if (c < 'a' || c > 'z') {
      return InvalidArgumentError("bip39: character other than a-z in " + WordPosition(word));
    }
  }

  std::array<std::string_view, kMaxWords> parts{};
  size_t count = 0;
  size_t start = 0;
  while (true) {
    const size_t end = std::min(mnemonic.find(' ', start), mnemonic.size());
    if (end == start) {
      return InvalidArgumentError("bip39: empty " + WordPosition(count) +
                                  " (leading, trailing or repeated space)");
    }
    if (count < kMaxWords) parts[count] = mnemonic.substr(start, end - start);
    ++count;
    if (end == mnemonic.size()) break;
    start = end + 1;
  }
  if (!IsValidWordCount(count)) {
    return InvalidArgumentError("bip39: " + std::to_string(count) +
                                " words; expected 12, 15, 18, 21 or 24");
  }

  const size_t total_bits = count * kBitsPerWord;
  SecureBuffer bits((total_bits + 7) / 8);
  for (size_t w = 0; w < count; ++w) {
    const size_t index = FindWord(parts[w]);
    if (index == kBip39WordCount) {
      return InvalidArgumentError("bip39: " + WordPosition(w) +
                                  " is not in the BIP-39 English word list");
    }
    WriteElevenBits(bits.span(), w * kBitsPerWord, static_cast<uint32_t>(index));
  }

  const size_t entropy_bytes = EntropyBytesForWords(count);
  const size_t checksum_bits = count / 3;
  SecureBuffer entropy = SecureBuffer::CopyOf(bits.view().first(entropy_bytes));
  auto digest = crypto::Sha256(entropy.view());
  const unsigned shift = static_cast<unsigned>(8 - checksum_bits);
  const bool checksum_ok = (digest[0] >> shift) == (bits.data()[entropy_bytes] >> shift);
  SecureWipe(digest.data(), digest.size());
  if (!checksum_ok) return InvalidArgumentError("bip39: checksum mismatch");
  return entropy;
}

Status ValidateMnemonic(std::string_view mnemonic) {
  auto entropy = MnemonicToEntropy(mnemonic);
  if (!entropy.ok()) return entropy.status();
  return OkStatus();
}

namespace {

// NFKD through libunistring. The passphrase is a secret: the normalised copy lives in a
// SecureBuffer and libunistring's heap result is wiped before it is freed.
StatusOr<SecureBuffer> NormalizeNfkd(std::string_view text) {
  if (text.empty()) return SecureBuffer();
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  if (u8_check(in, text.size()) != nullptr) return InvalidArgumentError("bip39: passphrase is not valid UTF-8");
  size_t out_len = 0;
  uint8_t* out = u8_normalize(UNINORM_NFKD, in, text.size(), nullptr, &out_len);
  if (out == nullptr) return InternalError("bip39: passphrase normalisation failed");
  SecureBuffer result = SecureBuffer::CopyOf(ByteSpan(out, out_len));
  SecureWipe(out, out_len);
  std::free(out);
  return result;
}

}  // namespace

StatusOr<SecureBuffer> MnemonicToSeed(std::string_view mnemonic, std::string_view passphrase) {
  RETURN_IF_ERROR(ValidateMnemonic(mnemonic));
  ASSIGN_OR_RETURN(SecureBuffer normalized, NormalizeNfkd(passphrase));
  SecureBuffer salt(kSaltPrefix.size() + normalized.size());
  size_t at = 0;
  for (char c : kSaltPrefix) salt.data()[at++] = static_cast<uint8_t>(c);
  for (uint8_t c : normalized.view()) salt.data()[at++] = c;
  auto seed = crypto::Pbkdf2HmacSha512(AsBytes(mnemonic), salt.view(), kBip39Pbkdf2Iterations,
                                       kBip39SeedSize);
  if (!seed.ok()) return seed.status().Annotate("bip39");
  return seed;
}

StatusOr<SecureBuffer> GenerateMnemonic(size_t word_count) {
  if (!IsValidWordCount(word_count)) {
    return InvalidArgumentError("bip39: word count must be 12, 15, 18, 21 or 24, got " +
                                std::to_string(word_count));
  }
  auto entropy = crypto::RandomSecret(EntropyBytesForWords(word_count));
  if (!entropy.ok()) return entropy.status().Annotate("bip39");
  return EntropyToMnemonic(entropy->view());
}

}  // namespace vp::eth
