// Addresses: the EIP-55 test cases, checksum refusal, malformed text, and derivation from
// keys with published addresses.
#include "vp/eth/address.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace vp::eth {
namespace {

// EIP-55 "Test Cases" (https://eips.ethereum.org/EIPS/eip-55): all caps, all lower, normal.
constexpr std::string_view kEip55AllCaps[] = {"0x52908400098527886E0F7030069857D2E4169EE7",
                                              "0x8617E340B3D01FA5F11F306F4090FD50E238070D"};
constexpr std::string_view kEip55AllLower[] = {"0xde709f2102306220921060314715629080e2fb77",
                                               "0x27b1fdb04752bbc536007a920d24acb045561c26"};
constexpr std::string_view kEip55Normal[] = {
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}
std::string Upper40(std::string_view s) {
  std::string out(s);
  for (size_t i = 2; i < out.size(); ++i) out[i] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[i])));
  return out;
}

TEST(Eip55, ChecksumsOfThePublishedCases) {
  for (const auto* group : {&kEip55AllCaps[0], &kEip55AllLower[0]}) {
    for (size_t i = 0; i < 2; ++i) {
      auto a = Address::Parse(group[i]);
      ASSERT_TRUE(a.ok()) << group[i];
      EXPECT_EQ(a->ToChecksumHex(), group[i]);
    }
  }
  for (std::string_view text : kEip55Normal) {
    auto a = Address::Parse(text);
    ASSERT_TRUE(a.ok()) << text;
    EXPECT_EQ(a->ToChecksumHex(), text);
    EXPECT_EQ(a->ToLowerHex(), Lower(text));
    // The same address written all lower or all upper carries no checksum and is accepted.
    EXPECT_EQ(*Address::Parse(Lower(text)), *a);
    EXPECT_EQ(*Address::Parse(Upper40(text)), *a);
    EXPECT_EQ(*Address::Parse(text.substr(2)), *a);  // prefix optional
  }
}

TEST(Eip55, RefusesAWrongCase) {
  for (std::string_view text : kEip55Normal) {
    // Flip the case of each letter in turn: every single flip breaks the checksum.
    for (size_t i = 2; i < text.size(); ++i) {
      if (!std::isalpha(static_cast<unsigned char>(text[i]))) continue;
      std::string bad(text);
      bad[i] = static_cast<char>(std::islower(static_cast<unsigned char>(bad[i])) ? std::toupper(bad[i])
                                                                                  : std::tolower(bad[i]));
      if (bad == Lower(text) || bad == Upper40(text)) continue;  // became uncased
      auto r = Address::Parse(bad);
      EXPECT_EQ(r.status().message(), "address: bad EIP-55 checksum") << bad;
    }
  }
}

TEST(AddressParse, RefusesMalformedText) {
  for (std::string_view bad : {"", "0x", "0x1234", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",
                               "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeg",
                               " 0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x0x5aaeb6053f3e94c9b9a09f33669435e7ef1b",
                               "vitalik.eth"}) {
    auto r = Address::Parse(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << "'" << bad << "'";
    EXPECT_EQ(r.status().message().rfind("address: ", 0), 0u) << r.status().message();
  }
}

TEST(AddressDerivation, FromPublishedKeys) {
  // Private key 1: the generator point's address.
  Bytes one(32, 0);
  one[31] = 1;
  EXPECT_EQ(Address::FromPrivateKey(one)->ToChecksumHex(), "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
  // EIP-155 example key (sender in ethereumjs-monorepo packages/tx/test/json/txs.json).
  EXPECT_EQ(Address::FromPrivateKey(Bytes(32, 0x46))->ToChecksumHex(), "0x9d8A62f656a8d1615C1294fd71e9CFb3E4855A4F");
  // web3.js documentation, web3.eth.accounts.privateKeyToAccount.
  EXPECT_EQ(Address::FromPrivateKey(*HexDecode("0x348ce564d427a3311b6536bbcff9390d69395b06ed6c486954e971d960fe8709"))
                ->ToChecksumHex(),
            "0xb8CE9ab6943e0eCED004cDe8e3bBed6568B2Fa01");
  // FromPublicKey agrees with FromPrivateKey.
  auto pub = crypto::Secp256k1PublicKey(one);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(Address::FromPublicKey(*pub), *Address::FromPrivateKey(one));
}

TEST(AddressDerivation, RefusesInvalidKeys) {
  EXPECT_EQ(Address::FromPrivateKey(Bytes(32, 0)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Address::FromPrivateKey(Bytes(31, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Address::FromPrivateKey(Bytes(32, 0xff)).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vp::eth
