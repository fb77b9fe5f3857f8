// BIP-32: the published test vectors 1-4 (every chain, xpub and xprv, by private and by
// public derivation) and 5 (every invalid extended key refused for its reason), path
// parsing (including tests/corpus/bip32_path/), and the BIP-44 Ethereum derivation of
// Hardhat's well-known accounts.
#include "vp/eth/bip32.h"

#include <gtest/gtest.h>

#include "vp/base/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "vp/eth/bip39.h"

namespace vp::eth {
namespace {

using vp::testing::ReadFile;
using vp::testing::TestSeed;

std::string Str(const SecureBuffer& b) { return std::string(AsString(b.view())); }

// ---------------------------------------------------------------- vectors 1-4

struct Chain {
  const char* path;
  const char* xpub;
  const char* xprv;
};

struct Vector {
  int number;
  const char* seed;
  std::vector<Chain> chains;
};

// BIP-32 "Test Vectors" 1-4, bitcoin/bips bip-0032.mediawiki (<sub>H</sub> written as ').
// clang-format off
const Vector kVectors[] = {
    {1, "000102030405060708090a0b0c0d0e0f", {
        {"m",
         "xpub661MyMwAqRbcFtXgS5sYJABqqG9YLmC4Q1Rdap9gSE8NqtwybGhePY2gZ29ESFjqJoCu1Rupje8YtGqsefD265TMg7usUDFdp6W1EGMcet8",
         "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi"},
        {"m/0'",
         "xpub68Gmy5EdvgibQVfPdqkBBCHxA5htiqg55crXYuXoQRKfDBFA1WEjWgP6LHhwBZeNK1VTsfTFUHCdrfp1bgwQ9xv5ski8PX9rL2dZXvgGDnw",
         "xprv9uHRZZhk6KAJC1avXpDAp4MDc3sQKNxDiPvvkX8Br5ngLNv1TxvUxt4cV1rGL5hj6KCesnDYUhd7oWgT11eZG7XnxHrnYeSvkzY7d2bhkJ7"},
        {"m/0'/1",
         "xpub6ASuArnXKPbfEwhqN6e3mwBcDTgzisQN1wXN9BJcM47sSikHjJf3UFHKkNAWbWMiGj7Wf5uMash7SyYq527Hqck2AxYysAA7xmALppuCkwQ",
         "xprv9wTYmMFdV23N2TdNG573QoEsfRrWKQgWeibmLntzniatZvR9BmLnvSxqu53Kw1UmYPxLgboyZQaXwTCg8MSY3H2EU4pWcQDnRnrVA1xe8fs"},
        {"m/0'/1/2'",
         "xpub6D4BDPcP2GT577Vvch3R8wDkScZWzQzMMUm3PWbmWvVJrZwQY4VUNgqFJPMM3No2dFDFGTsxxpG5uJh7n7epu4trkrX7x7DogT5Uv6fcLW5",
         "xprv9z4pot5VBttmtdRTWfWQmoH1taj2axGVzFqSb8C9xaxKymcFzXBDptWmT7FwuEzG3ryjH4ktypQSAewRiNMjANTtpgP4mLTj34bhnZX7UiM"},
        {"m/0'/1/2'/2",
         "xpub6FHa3pjLCk84BayeJxFW2SP4XRrFd1JYnxeLeU8EqN3vDfZmbqBqaGJAyiLjTAwm6ZLRQUMv1ZACTj37sR62cfN7fe5JnJ7dh8zL4fiyLHV",
         "xprvA2JDeKCSNNZky6uBCviVfJSKyQ1mDYahRjijr5idH2WwLsEd4Hsb2Tyh8RfQMuPh7f7RtyzTtdrbdqqsunu5Mm3wDvUAKRHSC34sJ7in334"},
        {"m/0'/1/2'/2/1000000000",
         "xpub6H1LXWLaKsWFhvm6RVpEL9P4KfRZSW7abD2ttkWP3SSQvnyA8FSVqNTEcYFgJS2UaFcxupHiYkro49S8yGasTvXEYBVPamhGW6cFJodrTHy",
         "xprvA41z7zogVVwxVSgdKUHDy1SKmdb533PjDz7J6N6mV6uS3ze1ai8FHa8kmHScGpWmj4WggLyQjgPie1rFSruoUihUZREPSL39UNdE3BBDu76"},
    }},
    {2, "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542", {
        {"m",
         "xpub661MyMwAqRbcFW31YEwpkMuc5THy2PSt5bDMsktWQcFF8syAmRUapSCGu8ED9W6oDMSgv6Zz8idoc4a6mr8BDzTJY47LJhkJ8UB7WEGuduB",
         "xprv9s21ZrQH143K31xYSDQpPDxsXRTUcvj2iNHm5NUtrGiGG5e2DtALGdso3pGz6ssrdK4PFmM8NSpSBHNqPqm55Qn3LqFtT2emdEXVYsCzC2U"},
        {"m/0",
         "xpub69H7F5d8KSRgmmdJg2KhpAK8SR3DjMwAdkxj3ZuxV27CprR9LgpeyGmXUbC6wb7ERfvrnKZjXoUmmDznezpbZb7ap6r1D3tgFxHmwMkQTPH",
         "xprv9vHkqa6EV4sPZHYqZznhT2NPtPCjKuDKGY38FBWLvgaDx45zo9WQRUT3dKYnjwih2yJD9mkrocEZXo1ex8G81dwSM1fwqWpWkeS3v86pgKt"},
        {"m/0/2147483647'",
         "xpub6ASAVgeehLbnwdqV6UKMHVzgqAG8Gr6riv3Fxxpj8ksbH9ebxaEyBLZ85ySDhKiLDBrQSARLq1uNRts8RuJiHjaDMBU4Zn9h8LZNnBC5y4a",
         "xprv9wSp6B7kry3Vj9m1zSnLvN3xH8RdsPP1Mh7fAaR7aRLcQMKTR2vidYEeEg2mUCTAwCd6vnxVrcjfy2kRgVsFawNzmjuHc2YmYRmagcEPdU9"},
        {"m/0/2147483647'/1",
         "xpub6DF8uhdarytz3FWdA8TvFSvvAh8dP3283MY7p2V4SeE2wyWmG5mg5EwVvmdMVCQcoNJxGoWaU9DCWh89LojfZ537wTfunKau47EL2dhHKon",
         "xprv9zFnWC6h2cLgpmSA46vutJzBcfJ8yaJGg8cX1e5StJh45BBciYTRXSd25UEPVuesF9yog62tGAQtHjXajPPdbRCHuWS6T8XA2ECKADdw4Ef"},
        {"m/0/2147483647'/1/2147483646'",
         "xpub6ERApfZwUNrhLCkDtcHTcxd75RbzS1ed54G1LkBUHQVHQKqhMkhgbmJbZRkrgZw4koxb5JaHWkY4ALHY2grBGRjaDMzQLcgJvLJuZZvRcEL",
         "xprvA1RpRA33e1JQ7ifknakTFpgNXPmW2YvmhqLQYMmrj4xJXXWYpDPS3xz7iAxn8L39njGVyuoseXzU6rcxFLJ8HFsTjSyQbLYnMpCqE2VbFWc"},
        {"m/0/2147483647'/1/2147483646'/2",
         "xpub6FnCn6nSzZAw5Tw7cgR9bi15UV96gLZhjDstkXXxvCLsUXBGXPdSnLFbdpq8p9HmGsApME5hQTZ3emM2rnY5agb9rXpVGyy3bdW6EEgAtqt",
         "xprvA2nrNbFZABcdryreWet9Ea4LvTJcGsqrMzxHx98MMrotbir7yrKCEXw7nadnHM8Dq38EGfSh6dqA9QWTyefMLEcBYJUuekgW4BYPJcr9E7j"},
    }},
    {3, "4b381541583be4423346c643850da4b320e46a87ae3d2a4e6da11eba819cd4acba45d239319ac14f863b8d5ab5a0d0c64d2e8a1e7d1457df2e5a3c51c73235be", {
        {"m",
         "xpub661MyMwAqRbcEZVB4dScxMAdx6d4nFc9nvyvH3v4gJL378CSRZiYmhRoP7mBy6gSPSCYk6SzXPTf3ND1cZAceL7SfJ1Z3GC8vBgp2epUt13",
         "xprv9s21ZrQH143K25QhxbucbDDuQ4naNntJRi4KUfWT7xo4EKsHt2QJDu7KXp1A3u7Bi1j8ph3EGsZ9Xvz9dGuVrtHHs7pXeTzjuxBrCmmhgC6"},
        {"m/0'",
         "xpub68NZiKmJWnxxS6aaHmn81bvJeTESw724CRDs6HbuccFQN9Ku14VQrADWgqbhhTHBaohPX4CjNLf9fq9MYo6oDaPPLPxSb7gwQN3ih19Zm4Y",
         "xprv9uPDJpEQgRQfDcW7BkF7eTya6RPxXeJCqCJGHuCJ4GiRVLzkTXBAJMu2qaMWPrS7AANYqdq6vcBcBUdJCVVFceUvJFjaPdGZ2y9WACViL4L"},
    }},
    {4, "3ddd5602285899a946114506157c7997e5444528f3003f6134712147db19b678", {
        {"m",
         "xpub661MyMwAqRbcGczjuMoRm6dXaLDEhW1u34gKenbeYqAix21mdUKJyuyu5F1rzYGVxyL6tmgBUAEPrEz92mBXjByMRiJdba9wpnN37RLLAXa",
         "xprv9s21ZrQH143K48vGoLGRPxgo2JNkJ3J3fqkirQC2zVdk5Dgd5w14S7fRDyHH4dWNHUgkvsvNDCkvAwcSHNAQwhwgNMgZhLtQC63zxwhQmRv"},
        {"m/0'",
         "xpub69AUMk3qDBi3uW1sXgjCmVjJ2G6WQoYSnNHyzkmdCHEhSZ4tBok37xfFEqHd2AddP56Tqp4o56AePAgCjYdvpW2PU2jbUPFKsav5ut6Ch1m",
         "xprv9vB7xEWwNp9kh1wQRfCCQMnZUEG21LpbR9NPCNN1dwhiZkjjeGRnaALmPXCX7SgjFTiCTT6bXes17boXtjq3xLpcDjzEuGLQBM5ohqkao9G"},
        {"m/0'/1'",
         "xpub6BJA1jSqiukeaesWfxe6sNK9CCGaujFFSJLomWHprUL9DePQ4JDkM5d88n49sMGJxrhpjazuXYWdMf17C9T5XnxkopaeS7jGk1GyyVziaMt",
         "xprv9xJocDuwtYCMNAo3Zw76WENQeAS6WGXQ55RCy7tDJ8oALr4FWkuVoHJeHVAcAqiZLE7Je3vZJHxspZdFHfnBEjHqU5hG1Jaj32dVoS6XLT1"},
    }},
};
// clang-format on

TEST(Bip32, PublishedVectorsByPrivateDerivationFromTheSeed) {
  for (const Vector& v : kVectors) {
    auto master = ExtendedKey::FromSeed(*HexDecode(v.seed));
    ASSERT_TRUE(master.ok()) << master.status().ToString();
    for (const Chain& c : v.chains) {
      SCOPED_TRACE("vector " + std::to_string(v.number) + " chain " + c.path);
      auto path = DerivationPath::Parse(c.path);
      ASSERT_TRUE(path.ok()) << path.status().ToString();
      auto node = master->Derive(*path);
      ASSERT_TRUE(node.ok()) << node.status().ToString();
      EXPECT_TRUE(node->is_private());
      EXPECT_EQ(node->depth(), path->indices().size());
      EXPECT_EQ(node->ToXpub(), c.xpub);
      EXPECT_EQ(Str(*node->ToXprv()), c.xprv);
      EXPECT_EQ(node->Neuter().ToXpub(), c.xpub);
      EXPECT_FALSE(node->Neuter().is_private());
    }
  }
}

TEST(Bip32, PublishedVectorsParseAndSerialiseBack) {
  for (const Vector& v : kVectors) {
    for (const Chain& c : v.chains) {
      SCOPED_TRACE("vector " + std::to_string(v.number) + " chain " + c.path);
      auto prv = ExtendedKey::Parse(c.xprv);
      ASSERT_TRUE(prv.ok()) << prv.status().ToString();
      EXPECT_TRUE(prv->is_private());
      EXPECT_EQ(Str(*prv->ToXprv()), c.xprv);
      EXPECT_EQ(prv->ToXpub(), c.xpub);
      auto pub = ExtendedKey::Parse(c.xpub);
      ASSERT_TRUE(pub.ok()) << pub.status().ToString();
      EXPECT_FALSE(pub->is_private());
      EXPECT_TRUE(pub->private_key().empty());
      EXPECT_EQ(pub->ToXpub(), c.xpub);
      EXPECT_EQ(pub->ToXprv().status().code(), StatusCode::kFailedPrecondition);
      EXPECT_EQ(pub->public_key(), prv->public_key());
      EXPECT_EQ(HexEncode(pub->chain_code()), HexEncode(prv->chain_code()));
      EXPECT_EQ(pub->fingerprint(), prv->fingerprint());
    }
  }
}

// Each chain from the previous one's serialised key, one DeriveChild step: private
// derivation from the xprv, and public derivation from the xpub where the step is normal.
TEST(Bip32, PublishedVectorsStepByStepAndByPublicDerivation) {
  size_t public_steps = 0;
  for (const Vector& v : kVectors) {
    for (size_t i = 1; i < v.chains.size(); ++i) {
      const Chain& parent = v.chains[i - 1];
      const Chain& child = v.chains[i];
      SCOPED_TRACE("vector " + std::to_string(v.number) + " chain " + child.path);
      const uint32_t index = DerivationPath::Parse(child.path)->indices().back();

      auto prv = ExtendedKey::Parse(parent.xprv);
      ASSERT_TRUE(prv.ok());
      auto next = prv->DeriveChild(index);
      ASSERT_TRUE(next.ok()) << next.status().ToString();
      EXPECT_EQ(Str(*next->ToXprv()), child.xprv);
      // The parent fingerprint in the published child is Hash160(parent pubkey)[0..4].
      EXPECT_EQ(next->parent_fingerprint(), prv->fingerprint());
      EXPECT_EQ(ExtendedKey::Parse(child.xpub)->parent_fingerprint(), prv->fingerprint());

      auto pub = ExtendedKey::Parse(parent.xpub);
      ASSERT_TRUE(pub.ok());
      auto pub_next = pub->DeriveChild(index);
      if (index & kHardenedBit) {
        EXPECT_EQ(pub_next.status().code(), StatusCode::kFailedPrecondition);
        EXPECT_EQ(pub_next.status().message(),
                  "bip32: hardened child of a public key cannot be derived");
      } else {
        ASSERT_TRUE(pub_next.ok()) << pub_next.status().ToString();
        EXPECT_FALSE(pub_next->is_private());
        EXPECT_EQ(pub_next->ToXpub(), child.xpub);
        ++public_steps;
      }
    }
  }
  // v1: m/0'/1, m/0'/1/2'/2, m/0'/1/2'/2/1000000000; v2: m/0, m/0/2147483647'/1, .../2
  EXPECT_EQ(public_steps, 6u);
}

TEST(Bip32, MasterFingerprintAndPositionFields) {
  auto master = ExtendedKey::FromSeed(*HexDecode("000102030405060708090a0b0c0d0e0f"));
  ASSERT_TRUE(master.ok());
  EXPECT_EQ(master->depth(), 0);
  EXPECT_EQ(master->child_number(), 0u);
  EXPECT_EQ(master->parent_fingerprint(), (ByteArray<4>{}));
  // The published m/0' of vector 1 carries the master's fingerprint as its parent.
  EXPECT_EQ(ExtendedKey::Parse(kVectors[0].chains[1].xpub)->parent_fingerprint(),
            master->fingerprint());
  auto child = master->DeriveChild(kHardenedBit | 0);
  ASSERT_TRUE(child.ok());
  EXPECT_EQ(child->child_number(), kHardenedBit);
  EXPECT_EQ(child->depth(), 1);
  EXPECT_EQ(child->parent_fingerprint(), master->fingerprint());
}

// ---------------------------------------------------------------- vector 5

struct InvalidKey {
  const char* text;
  const char* reason;  // the reason BIP-32 gives, as the substring our message contains
};

// BIP-32 "Test vector 5", bitcoin/bips bip-0032.mediawiki: every one must be refused.
const InvalidKey kVector5[] = {
    {"xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6LBpB85b3D2yc8sfvZU521AAwdZafEz7mnzBBsz4wKY5fTtTQBm",
     "invalid public key prefix 0x00"},  // pubkey version / prvkey mismatch
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGTQQD3dC4H2D5GBj7vWvSQaaBv5cxi9gafk7NF3pnBju6dwKvH",
     "private key must be prefixed with 0x00, found 0x03"},  // prvkey version / pubkey mismatch
    {"xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Txnt3siSujt9RCVYsx4qHZGc62TG4McvMGcAUjeuwZdduYEvFn",
     "invalid public key prefix 0x04"},
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFGpWnsj83BHtEy5Zt8CcDr1UiRXuWCmTQLxEK9vbz5gPstX92JQ",
     "private key must be prefixed with 0x00, found 0x04"},
    {"xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6N8ZMMXctdiCjxTNq964yKkwrkBJJwpzZS4HS2fxvyYUA4q2Xe4",
     "invalid public key prefix 0x01"},
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD9y5gkZ6Eq3Rjuahrv17fEQ3Qen6J",
     "private key must be prefixed with 0x00, found 0x01"},
    {"xprv9s2SPatNQ9Vc6GTbVMFPFo7jsaZySyzk7L8n2uqKXJen3KUmvQNTuLh3fhZMBoG3G4ZW1N2kZuHEPY53qmbZzCHshoQnNf4GvELZfqTUrcv",
     "zero depth with non-zero parent fingerprint"},
    {"xpub661no6RGEX3uJkY4bNnPcw4URcQTrSibUZ4NqJEw5eBkv7ovTwgiT91XX27VbEXGENhYRCf7hyEbWrR3FewATdCEebj6znwMfQkhRYHRLpJ",
     "zero depth with non-zero parent fingerprint"},
    {"xprv9s21ZrQH4r4TsiLvyLXqM9P7k1K3EYhA1kkD6xuquB5i39AU8KF42acDyL3qsDbU9NmZn6MsGSUYZEsuoePmjzsB3eFKSUEh3Gu1N3cqVUN",
     "zero depth with non-zero index"},
    {"xpub661MyMwAuDcm6CRQ5N4qiHKrJ39Xe1R1NyfouMKTTWcguwVcfrZJaNvhpebzGerh7gucBvzEQWRugZDuDXjNDRmXzSZe4c7mnTK97pTvGS8",
     "zero depth with non-zero index"},
    {"DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHGMQzT7ayAmfo4z3gY5KfbrZWZ6St24UVf2Qgo6oujFktLHdHY4",
     "unknown extended key version"},
    {"DMwo58pR1QLEFihHiXPVykYB6fJmsTeHvyTp7hRThAtCX8CvYzgPcn8XnmdfHPmHJiEDXkTiJTVV9rHEBUem2mwVbbNfvT2MTcAqj3nesx8uBf9",
     "unknown extended key version"},
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzF93Y5wvzdUayhgkkFoicQZcP3y52uPPxFnfoLZB21Teqt1VvEHx",
     "private key not in 1..n-1"},  // private key 0
    {"xprv9s21ZrQH143K24Mfq5zL5MhWK9hUhhGbd45hLXo2Pq2oqzMMo63oStZzFAzHGBP2UuGCqWLTAPLcMtD5SDKr24z3aiUvKr9bJpdrcLg1y3G",
     "private key not in 1..n-1"},  // private key n
    {"xpub661MyMwAqRbcEYS8w7XLSVeEsBXy79zSzH1J8vCdxAZningWLdN3zgtU6Q5JXayek4PRsn35jii4veMimro1xefsM58PgBMrvdYre8QyULY",
     "public key is not on the curve"},  // 020000...0007
    {"xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHL",
     "invalid checksum"},
};

TEST(Bip32, PublishedVector5EveryInvalidKeyRefusedForItsReason) {
  ASSERT_EQ(std::size(kVector5), 16u);
  for (const InvalidKey& k : kVector5) {
    auto key = ExtendedKey::Parse(k.text);
    ASSERT_FALSE(key.ok()) << k.text;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << k.text;
    EXPECT_NE(key.status().message().find(k.reason), std::string::npos)
        << k.text << " -> " << key.status().message();
    EXPECT_EQ(key.status().message().rfind("extended key: ", 0), 0u) << key.status().message();
  }
}

TEST(Bip32, ParseRefusesMalformedText) {
  const std::string good =
      "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi";
  struct Case {
    std::string text;
    std::string message;
  };
  const Case cases[] = {
      {"", "extended key: empty"},
      {good + good, "extended key: too long"},
      {good.substr(0, 110), "extended key: decodes to 81 bytes; expected 82"},
      {good + "1", "extended key: decodes to 83 bytes; expected 82"},
      {"0" + good.substr(1), "extended key: character at offset 0 is not Base58"},
      {good.substr(0, 50) + "O" + good.substr(51), "extended key: character at offset 50 is not Base58"},
      {good.substr(0, 50) + "I" + good.substr(51), "extended key: character at offset 50 is not Base58"},
      {good.substr(0, 50) + "l" + good.substr(51), "extended key: character at offset 50 is not Base58"},
      {good + " ", "extended key: character at offset 111 is not Base58"},
      {good.substr(0, 110) + "j", "extended key: invalid checksum"},
  };
  for (const Case& c : cases) {
    auto key = ExtendedKey::Parse(c.text);
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(key.status().message(), c.message) << c.text;
  }
  EXPECT_TRUE(ExtendedKey::Parse(good).ok());
}

// ---------------------------------------------------------------- derivation rules

TEST(Bip32, SeedMustBe16To64Bytes) {
  EXPECT_EQ(ExtendedKey::FromSeed(Bytes(15, 1)).status().message(),
            "bip32: seed must be 16 to 64 bytes, got 15");
  EXPECT_EQ(ExtendedKey::FromSeed(Bytes(65, 1)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ExtendedKey::FromSeed(Bytes()).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ExtendedKey::FromSeed(Bytes(16, 1)).ok());
  EXPECT_TRUE(ExtendedKey::FromSeed(Bytes(64, 1)).ok());
}

TEST(Bip32, PathsStartAtTheMasterKey) {
  auto master = ExtendedKey::FromSeed(Bytes(32, 7));
  ASSERT_TRUE(master.ok());
  auto child = master->DeriveChild(1);
  ASSERT_TRUE(child.ok());
  auto r = child->Derive(*DerivationPath::Parse("m/0"));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(master->Derive(DerivationPath()).ok());  // "m" is the master itself
  EXPECT_EQ(master->Derive(DerivationPath())->ToXpub(), master->ToXpub());
}

TEST(Bip32, HardenedPathFromAPublicKeyIsRefused) {
  auto master = ExtendedKey::FromSeed(Bytes(32, 7));
  ASSERT_TRUE(master.ok());
  const ExtendedKey pub = master->Neuter();
  EXPECT_TRUE(pub.Derive(*DerivationPath::Parse("m/0/1")).ok());
  EXPECT_EQ(pub.Derive(*DerivationPath::Parse("m/0/1'")).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(Bip32, DepthStopsAt255) {
  auto node = ExtendedKey::FromSeed(Bytes(32, 9));
  ASSERT_TRUE(node.ok());
  ExtendedKey key = std::move(*node);
  for (size_t i = 0; i < kMaxDerivationDepth; ++i) {
    auto next = key.DeriveChild(static_cast<uint32_t>(i));
    ASSERT_TRUE(next.ok()) << i;
    key = std::move(*next);
  }
  EXPECT_EQ(key.depth(), 255);
  auto again = ExtendedKey::Parse(Str(*key.ToXprv()));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->depth(), 255);
  EXPECT_EQ(key.DeriveChild(0).status().message(), "bip32: depth would exceed 255");
  EXPECT_EQ(key.Neuter().DeriveChild(0).status().code(), StatusCode::kInvalidArgument);
}

TEST(Bip32, CloneIsIndependentAndEqual) {
  auto master = ExtendedKey::FromSeed(Bytes(32, 3));
  ASSERT_TRUE(master.ok());
  const ExtendedKey copy = master->Clone();
  EXPECT_EQ(Str(*copy.ToXprv()), Str(*master->ToXprv()));
  EXPECT_NE(copy.private_key().data(), master->private_key().data());
}

// CKDpub(N(k), i) == N(CKDpriv(k, i)) for normal indices: public derivation agrees with
// private derivation, at random seeds and indices.
TEST(Bip32, PublicAndPrivateDerivationAgreeOnRandomKeys) {
  std::mt19937_64 rng(TestSeed());
  for (int iteration = 0; iteration < 50; ++iteration) {
    Bytes seed(16 + rng() % 49);
    for (auto& b : seed) b = static_cast<uint8_t>(rng());
    auto master = ExtendedKey::FromSeed(seed);
    ASSERT_TRUE(master.ok());
    ExtendedKey prv = master->Clone();
    ExtendedKey pub = master->Neuter();
    for (int level = 0; level < 3; ++level) {
      const uint32_t index = static_cast<uint32_t>(rng()) & ~kHardenedBit;
      auto prv_next = prv.DeriveChild(index);
      auto pub_next = pub.DeriveChild(index);
      ASSERT_TRUE(prv_next.ok());
      ASSERT_TRUE(pub_next.ok());
      ASSERT_EQ(prv_next->Neuter().ToXpub(), pub_next->ToXpub()) << "index " << index;
      prv = std::move(*prv_next);
      pub = std::move(*pub_next);
    }
    // A round trip through text keeps everything.
    ASSERT_EQ(Str(*ExtendedKey::Parse(Str(*prv.ToXprv()))->ToXprv()), Str(*prv.ToXprv()));
  }
}

// ---------------------------------------------------------------- paths

TEST(DerivationPath, ParsesWithEveryHardenedMarker) {
  const std::vector<uint32_t> expected = {44 | kHardenedBit, 60 | kHardenedBit, 0 | kHardenedBit,
                                          0, 7};
  for (std::string_view text : {"m/44'/60'/0'/0/7", "m/44h/60h/0h/0/7", "m/44H/60H/0H/0/7",
                                "m/44'/60h/0H/0/7"}) {
    auto p = DerivationPath::Parse(text);
    ASSERT_TRUE(p.ok()) << text << ": " << p.status().ToString();
    EXPECT_EQ(p->indices(), expected) << text;
    EXPECT_EQ(p->ToString(), "m/44'/60'/0'/0/7");
  }
  EXPECT_EQ(*DerivationPath::Ethereum(7), *DerivationPath::Parse("m/44'/60'/0'/0/7"));
  EXPECT_EQ(DerivationPath::Ethereum(0)->ToString(), kEthereumDefaultPath);
  EXPECT_EQ(DerivationPath::Ethereum(kHardenedBit).status().code(), StatusCode::kInvalidArgument);
}

TEST(DerivationPath, EdgesThatAreValid) {
  EXPECT_TRUE(DerivationPath::Parse("m")->indices().empty());
  EXPECT_EQ(DerivationPath::Parse("m")->ToString(), "m");
  EXPECT_EQ(DerivationPath::Parse("m/0")->indices(), std::vector<uint32_t>{0});
  EXPECT_EQ(DerivationPath::Parse("m/2147483647")->indices(), std::vector<uint32_t>{0x7fffffff});
  EXPECT_EQ(DerivationPath::Parse("m/2147483647'")->indices(), std::vector<uint32_t>{0xffffffff});
  std::string deepest = "m";
  for (int i = 0; i < 255; ++i) deepest += "/1'";
  auto p = DerivationPath::Parse(deepest);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->indices().size(), 255u);
  EXPECT_EQ(p->ToString(), deepest);
}

TEST(DerivationPath, RefusalsSayWhy) {
  struct Case {
    std::string text;
    std::string message;
  };
  std::string too_deep = "m";
  for (int i = 0; i < 256; ++i) too_deep += "/0";
  const Case cases[] = {
      {"", "bip32 path: empty"},
      {"44'/60'", "bip32 path: must start with \"m\""},
      {"M/44'", "bip32 path: must start with \"m\""},
      {"/44'", "bip32 path: must start with \"m\""},
      {"m44'", "bip32 path: expected \"/\" after \"m\""},
      {"m/", "bip32 path: level 1 is empty"},
      {"m/0//1", "bip32 path: level 2 is empty"},
      {"m/0/", "bip32 path: level 2 is empty"},
      {"m/+1", "bip32 path: level 1: sign not allowed"},
      {"m/-1", "bip32 path: level 1: sign not allowed"},
      {"m/ 1", "bip32 path: whitespace is not allowed"},
      {"m/1 ", "bip32 path: whitespace is not allowed"},
      {"m/2147483648", "bip32 path: level 1: index >= 2^31; mark hardened levels with ', h or H"},
      {"m/0/4294967295", "bip32 path: level 2: index >= 2^31; mark hardened levels with ', h or H"},
      {"m/2147483648'", "bip32 path: level 1: index >= 2^31"},
      {"m/99999999999999999999999", "bip32 path: level 1: index >= 2^31"},
      {"m/01", "bip32 path: level 1: leading zero"},
      {"m/1''", "bip32 path: level 1: only ', h or H may follow the index"},
      {"m/1p", "bip32 path: level 1: only ', h or H may follow the index"},
      {"m/0x1", "bip32 path: level 1: only ', h or H may follow the index"},
      {"m/'1", "bip32 path: level 1: expected a decimal index"},
      {too_deep, "bip32 path: more than 255 levels"},
  };
  for (const Case& c : cases) {
    auto p = DerivationPath::Parse(c.text);
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_EQ(p.status().message(), c.message) << c.text;
  }
}

// Every file under tests/corpus/bip32_path/ is a path that must be refused, named for the
// reason; one final "\n" is stripped first, as a CLI reading it from a file would.
TEST(DerivationPath, CorpusOfMalformedPaths) {
  const char* root = std::getenv("VP_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "VP_SOURCE_DIR must name the repository root";
  const std::filesystem::path dir = std::filesystem::path(root) / "tests/corpus/bip32_path";
  const Bytes seed(64, 0x42);
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string text = ReadFile(entry.path());
    if (!text.empty() && text.back() == '\n') text.pop_back();
    EXPECT_EQ(DerivationPath::Parse(text).status().code(), StatusCode::kInvalidArgument)
        << entry.path().filename();
    EXPECT_EQ(DeriveEthereumKey(seed, std::string_view(text)).status().code(),
              StatusCode::kInvalidArgument)
        << entry.path().filename();
    ++files;
  }
  EXPECT_GE(files, 25u);
}

// ---------------------------------------------------------------- BIP-44 Ethereum

// Hardhat's default accounts: mnemonic "test test ... junk", no passphrase, path
// m/44'/60'/0'/0/i; addresses and private keys as `npx hardhat node` prints them.
TEST(Bip44, HardhatAccounts) {
  const std::string mnemonic = "test test test test test test test test test test test junk";
  auto seed = MnemonicToSeed(mnemonic, "");
  ASSERT_TRUE(seed.ok()) << seed.status().ToString();

  struct Account {
    const char* path;
    const char* address;
    const char* private_key;
    // ethers 6.17.0 HDNodeWallet.fromPhrase(mnemonic, "", path).publicKey (compressed).
    const char* ethers_public_key;
  };
  const Account accounts[] = {
      {"m/44'/60'/0'/0/0", "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
       "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
       "038318535b54105d4a7aae60c08fc45f9687181b4fdfc625bd1a753fa7397fed75"},
      {"m/44'/60'/0'/0/1", "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
       "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
       "02ba5734d8f7091719471e7f7ed6b9df170dc70cc661ca05e688601ad984f068b0"},
  };
  for (const Account& a : accounts) {
    SCOPED_TRACE(a.path);
    auto key = DeriveEthereumKey(seed->view(), std::string_view(a.path));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    EXPECT_EQ(key->address.ToChecksumHex(), a.address);
    EXPECT_EQ(HexEncode(key->private_key.view()), a.private_key);
    EXPECT_EQ(HexEncode(key->public_key_compressed), a.ethers_public_key);
    // Both forms are the same point: X agrees, the prefix carries Y's parity.
    EXPECT_EQ(key->public_key[0], 0x04);
    EXPECT_EQ(HexEncode(ByteSpan(key->public_key).subspan(1, 32)),
              HexEncode(ByteSpan(key->public_key_compressed).subspan(1)));
    EXPECT_EQ(key->public_key_compressed[0], 0x02 + (key->public_key[64] & 1));
    EXPECT_EQ(Address::FromPublicKey(key->public_key), key->address);
  }
  // The same account by index and by the "h" spelling of the path.
  auto by_index = DeriveEthereumKey(seed->view(), *DerivationPath::Ethereum(1));
  auto by_h = DeriveEthereumKey(seed->view(), std::string_view("m/44h/60h/0h/0/1"));
  ASSERT_TRUE(by_index.ok());
  ASSERT_TRUE(by_h.ok());
  EXPECT_EQ(by_index->address.ToChecksumHex(), accounts[1].address);
  EXPECT_EQ(by_h->address.ToChecksumHex(), accounts[1].address);
}

TEST(Bip44, ErrorsOfTheParts) {
  EXPECT_EQ(DeriveEthereumKey(Bytes(8, 1), kEthereumDefaultPath).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(DeriveEthereumKey(Bytes(64, 1), std::string_view("m/44'/60'/0'/0/x")).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vp::eth
