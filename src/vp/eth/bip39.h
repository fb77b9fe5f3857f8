// BIP-39 mnemonics with the English word list: entropy <-> mnemonic sentence, sentence (+
// optional passphrase) -> 64-byte seed for BIP-32, and fresh mnemonics from the OS CSPRNG.
// Entropy, seeds and mnemonic text are returned in SecureBuffer.
//
//   ASSIGN_OR_RETURN(SecureBuffer words, vp::eth::GenerateMnemonic(24));
//   ASSIGN_OR_RETURN(SecureBuffer seed, vp::eth::MnemonicToSeed(AsString(words.view()), ""));
//
// Accepted text is exactly the canonical sentence: lower-case English words from the list,
// separated by single ASCII spaces, with no leading or trailing whitespace (a file's final
// newline is the caller's to strip). Upper case, tabs, newlines, repeated spaces,
// abbreviated words and any non-ASCII byte are refused rather than normalised, because
// implementations disagree on how to normalise (some hash the text as typed, some rebuild it
// first), and a silently different seed is worse than an error. For ASCII input NFKD is the
// identity, so the seed matches every conforming implementation.
//
// Passphrases are UTF-8 and are NFKD-normalised as BIP-39 requires (through libunistring's
// u8_normalize), so "é" typed as U+00E9 or as e + U+0301 gives the same seed, as in ethers
// and every conforming wallet. A passphrase that is not valid UTF-8 is refused.
//
// Error messages name positions, never words: a mnemonic is a secret and errors reach logs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "vp/base/bytes.h"
#include "vp/base/secure.h"

namespace vp::eth {

inline constexpr size_t kBip39WordCount = 2048;
inline constexpr size_t kBip39MaxWordLength = 8;
inline constexpr size_t kBip39SeedSize = 64;
inline constexpr uint32_t kBip39Pbkdf2Iterations = 2048;

// The English list, sorted, index = 11-bit value (bip39_wordlist.cc).
std::span<const std::string_view, kBip39WordCount> Bip39EnglishWords();

// 16, 20, 24, 28 or 32 bytes of entropy -> 12, 15, 18, 21 or 24 words separated by single
// spaces. Any other length is kInvalidArgument.
StatusOr<SecureBuffer> EntropyToMnemonic(ByteSpan entropy);

// Parses and checks a mnemonic (see the accepted form above) and returns its entropy.
// kInvalidArgument, each with its own message: empty text; a non-ASCII byte; an upper-case
// letter; a character other than a-z and space; an empty word (leading, trailing or
// repeated space); a word count other than 12/15/18/21/24; a word not in the list (by
// position); a checksum mismatch.
StatusOr<SecureBuffer> MnemonicToEntropy(std::string_view mnemonic);

// OK when MnemonicToEntropy would succeed, else its error.
Status ValidateMnemonic(std::string_view mnemonic);

// PBKDF2-HMAC-SHA512(password = mnemonic, salt = "mnemonic" + passphrase, 2048 rounds,
// 64 bytes). The mnemonic must pass ValidateMnemonic (its error is returned otherwise);
// the passphrase may be empty and is NFKD-normalised first (see above).
StatusOr<SecureBuffer> MnemonicToSeed(std::string_view mnemonic, std::string_view passphrase);

// A new mnemonic of 12, 15, 18, 21 or 24 words from vp::crypto::RandomSecret.
// kInvalidArgument for another word count; kUnavailable if the CSPRNG fails.
StatusOr<SecureBuffer> GenerateMnemonic(size_t word_count = 24);

}  // namespace vp::eth
