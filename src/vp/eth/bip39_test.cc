// BIP-39: the published vectors, the English list itself, and every malformed mnemonic
// refused with its own reason (including the files under tests/corpus/mnemonic/).
#include "vp/eth/bip39.h"

#include <gtest/gtest.h>

#include "vp/base/test_util.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <random>
#include <set>
#include <string>

#include "vp/crypto/hash.h"
#include "vp/eth/bip32.h"

namespace vp::eth {
namespace {

using vp::testing::ReadFile;
using vp::testing::TestSeed;

std::string Str(const SecureBuffer& b) { return std::string(AsString(b.view())); }

std::string Hex(const SecureBuffer& b) { return HexEncode(b.view()); }

const std::string kAbandonAbout =
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

// ---------------------------------------------------------------- the word list

TEST(Bip39WordList, IsThePublishedEnglishList) {
  const auto words = Bip39EnglishWords();
  ASSERT_EQ(words.size(), 2048u);
  EXPECT_EQ(words[0], "abandon");
  EXPECT_EQ(words[3], "about");
  EXPECT_EQ(words[2047], "zoo");
  std::string file;
  for (std::string_view w : words) {
    file += w;
    file += '\n';
  }
  // SHA-256 of the file bip-0039/english.txt as published in bitcoin/bips.
  EXPECT_EQ(HexEncode(crypto::Sha256(AsBytes(file))),
            "2f5eed53a4727b4bf8880d8f3f199efc90e58503646d9ff8eff3a2ed3b24dbda");
}

TEST(Bip39WordList, FirstFourLettersIdentifyEachWord) {
  // A property BIP-39 promises for the English list; wallets that accept abbreviations rely
  // on it (we do not accept them, see CorpusOfMalformedMnemonics).
  std::set<std::string_view> prefixes;
  for (std::string_view w : Bip39EnglishWords()) prefixes.insert(w.substr(0, 4));
  EXPECT_EQ(prefixes.size(), 2048u);
}

// ---------------------------------------------------------------- published vectors

// The English vectors of the Trezor reference implementation, trezor/python-mnemonic
// vectors.json (commit b57a5ad7, 2024-08-27): entropy, mnemonic, seed with passphrase
// "TREZOR", and the BIP-32 master xprv of that seed.
struct TrezorVector {
  const char* entropy;
  const char* mnemonic;
  const char* seed;
  const char* xprv;
};

// clang-format off
const TrezorVector kTrezorVectors[] = {
    {"00000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
     "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04",
     "xprv9s21ZrQH143K3h3fDYiay8mocZ3afhfULfb5GX8kCBdno77K4HiA15Tg23wpbeF1pLfs1c5SPmYHrEpTuuRhxMwvKDwqdKiGJS9XFKzUsAF"},
    {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank yellow",
     "2e8905819b8723fe2c1d161860e5ee1830318dbf49a83bd451cfb8440c28bd6fa457fe1296106559a3c80937a1c1069be3a3a5bd381ee6260e8d9739fce1f607",
     "xprv9s21ZrQH143K2gA81bYFHqU68xz1cX2APaSq5tt6MFSLeXnCKV1RVUJt9FWNTbrrryem4ZckN8k4Ls1H6nwdvDTvnV7zEXs2HgPezuVccsq"},
    {"80808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage above",
     "d71de856f81a8acc65e6fc851a38d4d7ec216fd0796d0a6827a3ad6ed5511a30fa280f12eb2e47ed2ac03b5c462a0358d18d69fe4f985ec81778c1b370b652a8",
     "xprv9s21ZrQH143K2shfP28KM3nr5Ap1SXjz8gc2rAqqMEynmjt6o1qboCDpxckqXavCwdnYds6yBHZGKHv7ef2eTXy461PXUjBFQg6PrwY4Gzq"},
    {"ffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo wrong",
     "ac27495480225222079d7be181583751e86f571027b0497b5b5d11218e0a8a13332572917f0f8e5a589620c6f15b11c61dee327651a14c34e18231052e48c069",
     "xprv9s21ZrQH143K2V4oox4M8Zmhi2Fjx5XK4Lf7GKRvPSgydU3mjZuKGCTg7UPiBUD7ydVPvSLtg9hjp7MQTYsW67rZHAXeccqYqrsx8LcXnyd"},
    {"000000000000000000000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon agent",
     "035895f2f481b1b0f01fcf8c289c794660b289981a78f8106447707fdd9666ca06da5a9a565181599b79f53b844d8a71dd9f439c52a3d7b3e8a79c906ac845fa",
     "xprv9s21ZrQH143K3mEDrypcZ2usWqFgzKB6jBBx9B6GfC7fu26X6hPRzVjzkqkPvDqp6g5eypdk6cyhGnBngbjeHTe4LsuLG1cCmKJka5SMkmU"},
    {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal will",
     "f2b94508732bcbacbcc020faefecfc89feafa6649a5491b8c952cede496c214a0c7b3c392d168748f2d4a612bada0753b52a1c7ac53c1e93abd5c6320b9e95dd",
     "xprv9s21ZrQH143K3Lv9MZLj16np5GzLe7tDKQfVusBni7toqJGcnKRtHSxUwbKUyUWiwpK55g1DUSsw76TF1T93VT4gz4wt5RM23pkaQLnvBh7"},
    {"808080808080808080808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter always",
     "107d7c02a5aa6f38c58083ff74f04c607c2d2c0ecc55501dadd72d025b751bc27fe913ffb796f841c49b1d33b610cf0e91d3aa239027f5e99fe4ce9e5088cd65",
     "xprv9s21ZrQH143K3VPCbxbUtpkh9pRG371UCLDz3BjceqP1jz7XZsQ5EnNkYAEkfeZp62cDNj13ZTEVG1TEro9sZ9grfRmcYWLBhCocViKEJae"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo when",
     "0cd6e5d827bb62eb8fc1e262254223817fd068a74b5b449cc2f667c3f1f985a76379b43348d952e2265b4cd129090758b3e3c2c49103b5051aac2eaeb890a528",
     "xprv9s21ZrQH143K36Ao5jHRVhFGDbLP6FCx8BEEmpru77ef3bmA928BxsqvVM27WnvvyfWywiFN8K6yToqMaGYfzS6Db1EHAXT5TuyCLBXUfdm"},
    {"0000000000000000000000000000000000000000000000000000000000000000",
     "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art",
     "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8",
     "xprv9s21ZrQH143K32qBagUJAMU2LsHg3ka7jqMcV98Y7gVeVyNStwYS3U7yVVoDZ4btbRNf4h6ibWpY22iRmXq35qgLs79f312g2kj5539ebPM"},
    {"7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f",
     "legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth useful legal winner thank year wave sausage worth title",
     "bc09fca1804f7e69da93c2f2028eb238c227f2e9dda30cd63699232578480a4021b146ad717fbb7e451ce9eb835f43620bf5c514db0f8add49f5d121449d3e87",
     "xprv9s21ZrQH143K3Y1sd2XVu9wtqxJRvybCfAetjUrMMco6r3v9qZTBeXiBZkS8JxWbcGJZyio8TrZtm6pkbzG8SYt1sxwNLh3Wx7to5pgiVFU"},
    {"8080808080808080808080808080808080808080808080808080808080808080",
     "letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic avoid letter advice cage absurd amount doctor acoustic bless",
     "c0c519bd0e91a2ed54357d9d1ebef6f5af218a153624cf4f2da911a0ed8f7a09e2ef61af0aca007096df430022f7a2b6fb91661a9589097069720d015e4e982f",
     "xprv9s21ZrQH143K3CSnQNYC3MqAAqHwxeTLhDbhF43A4ss4ciWNmCY9zQGvAKUSqVUf2vPHBTSE1rB2pg4avopqSiLVzXEU8KziNnVPauTqLRo"},
    {"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo vote",
     "dd48c104698c30cfe2b6142103248622fb7bb0ff692eebb00089b32d22484e1613912f0a5b694407be899ffd31ed3992c456cdf60f5d4564b8ba3f05a69890ad",
     "xprv9s21ZrQH143K2WFF16X85T2QCpndrGwx6GueB72Zf3AHwHJaknRXNF37ZmDrtHrrLSHvbuRejXcnYxoZKvRquTPyp2JiNG3XcjQyzSEgqCB"},
    {"9e885d952ad362caeb4efe34a8e91bd2",
     "ozone drill grab fiber curtain grace pudding thank cruise elder eight picnic",
     "274ddc525802f7c828d8ef7ddbcdc5304e87ac3535913611fbbfa986d0c9e5476c91689f9c8a54fd55bd38606aa6a8595ad213d4c9c9f9aca3fb217069a41028",
     "xprv9s21ZrQH143K2oZ9stBYpoaZ2ktHj7jLz7iMqpgg1En8kKFTXJHsjxry1JbKH19YrDTicVwKPehFKTbmaxgVEc5TpHdS1aYhB2s9aFJBeJH"},
    {"6610b25967cdcca9d59875f5cb50b0ea75433311869e930b",
     "gravity machine north sort system female filter attitude volume fold club stay feature office ecology stable narrow fog",
     "628c3827a8823298ee685db84f55caa34b5cc195a778e52d45f59bcf75aba68e4d7590e101dc414bc1bbd5737666fbbef35d1f1903953b66624f910feef245ac",
     "xprv9s21ZrQH143K3uT8eQowUjsxrmsA9YUuQQK1RLqFufzybxD6DH6gPY7NjJ5G3EPHjsWDrs9iivSbmvjc9DQJbJGatfa9pv4MZ3wjr8qWPAK"},
    {"68a79eaca2324873eacc50cb9c6eca8cc68ea5d936f98787c60c7ebc74e6ce7c",
     "hamster diagram private dutch cause delay private meat slide toddler razor book happy fancy gospel tennis maple dilemma loan word shrug inflict delay length",
     "64c87cde7e12ecf6704ab95bb1408bef047c22db4cc7491c4271d170a1b213d20b385bc1588d9c7b38f1b39d415665b8a9030c9ec653d75e65f847d8fc1fc440",
     "xprv9s21ZrQH143K2XTAhys3pMNcGn261Fi5Ta2Pw8PwaVPhg3D8DWkzWQwjTJfskj8ofb81i9NP2cUNKxwjueJHHMQAnxtivTA75uUFqPFeWzk"},
    {"c0ba5a8e914111210f2bd131f3d5e08d",
     "scheme spot photo card baby mountain device kick cradle pact join borrow",
     "ea725895aaae8d4c1cf682c1bfd2d358d52ed9f0f0591131b559e2724bb234fca05aa9c02c57407e04ee9dc3b454aa63fbff483a8b11de949624b9f1831a9612",
     "xprv9s21ZrQH143K3FperxDp8vFsFycKCRcJGAFmcV7umQmcnMZaLtZRt13QJDsoS5F6oYT6BB4sS6zmTmyQAEkJKxJ7yByDNtRe5asP2jFGhT6"},
    {"6d9be1ee6ebd27a258115aad99b7317b9c8d28b6d76431c3",
     "horn tenant knee talent sponsor spell gate clip pulse soap slush warm silver nephew swap uncle crack brave",
     "fd579828af3da1d32544ce4db5c73d53fc8acc4ddb1e3b251a31179cdb71e853c56d2fcb11aed39898ce6c34b10b5382772db8796e52837b54468aeb312cfc3d",
     "xprv9s21ZrQH143K3R1SfVZZLtVbXEB9ryVxmVtVMsMwmEyEvgXN6Q84LKkLRmf4ST6QrLeBm3jQsb9gx1uo23TS7vo3vAkZGZz71uuLCcywUkt"},
    {"9f6a2878b2520799a44ef18bc7df394e7061a224d2c33cd015b157d746869863",
     "panda eyebrow bullet gorilla call smoke muffin taste mesh discover soft ostrich alcohol speed nation flash devote level hobby quick inner drive ghost inside",
     "72be8e052fc4919d2adf28d5306b5474b0069df35b02303de8c1729c9538dbb6fc2d731d5f832193cd9fb6aeecbc469594a70e3dd50811b5067f3b88b28c3e8d",
     "xprv9s21ZrQH143K2WNnKmssvZYM96VAr47iHUQUTUyUXH3sAGNjhJANddnhw3i3y3pBbRAVk5M5qUGFr4rHbEWwXgX4qrvrceifCYQJbbFDems"},
    {"23db8160a31d3e0dca3688ed941adbf3",
     "cat swing flag economy stadium alone churn speed unique patch report train",
     "deb5f45449e615feff5640f2e49f933ff51895de3b4381832b3139941c57b59205a42480c52175b6efcffaa58a2503887c1e8b363a707256bdd2b587b46541f5",
     "xprv9s21ZrQH143K4G28omGMogEoYgDQuigBo8AFHAGDaJdqQ99QKMQ5J6fYTMfANTJy6xBmhvsNZ1CJzRZ64PWbnTFUn6CDV2FxoMDLXdk95DQ"},
    {"8197a4a47f0425faeaa69deebc05ca29c0a5b5cc76ceacc0",
     "light rule cinnamon wrap drastic word pride squirrel upgrade then income fatal apart sustain crack supply proud access",
     "4cbdff1ca2db800fd61cae72a57475fdc6bab03e441fd63f96dabd1f183ef5b782925f00105f318309a7e9c3ea6967c7801e46c8a58082674c860a37b93eda02",
     "xprv9s21ZrQH143K3wtsvY8L2aZyxkiWULZH4vyQE5XkHTXkmx8gHo6RUEfH3Jyr6NwkJhvano7Xb2o6UqFKWHVo5scE31SGDCAUsgVhiUuUDyh"},
    {"066dca1a2bb7e8a1db2832148ce9933eea0f3ac9548d793112d9a95c9407efad",
     "all hour make first leader extend hole alien behind guard gospel lava path output census museum junior mass reopen famous sing advance salt reform",
     "26e975ec644423f4a4c4f4215ef09b4bd7ef924e85d1d17c4cf3f136c2863cf6df0a475045652c57eb5fb41513ca2a2d67722b77e954b4b3fc11f7590449191d",
     "xprv9s21ZrQH143K3rEfqSM4QZRVmiMuSWY9wugscmaCjYja3SbUD3KPEB1a7QXJoajyR2T1SiXU7rFVRXMV9XdYVSZe7JoUXdP4SRHTxsT1nzm"},
    {"f30f8c1da665478f49b001d94c5fc452",
     "vessel ladder alter error federal sibling chat ability sun glass valve picture",
     "2aaa9242daafcee6aa9d7269f17d4efe271e1b9a529178d7dc139cd18747090bf9d60295d0ce74309a78852a9caadf0af48aae1c6253839624076224374bc63f",
     "xprv9s21ZrQH143K2QWV9Wn8Vvs6jbqfF1YbTCdURQW9dLFKDovpKaKrqS3SEWsXCu6ZNky9PSAENg6c9AQYHcg4PjopRGGKmdD313ZHszymnps"},
    {"c10ec20dc3cd9f652c7fac2f1230f7a3c828389a14392f05",
     "scissors invite lock maple supreme raw rapid void congress muscle digital elegant little brisk hair mango congress clump",
     "7b4a10be9d98e6cba265566db7f136718e1398c71cb581e1b2f464cac1ceedf4f3e274dc270003c670ad8d02c4558b2f8e39edea2775c9e232c7cb798b069e88",
     "xprv9s21ZrQH143K4aERa2bq7559eMCCEs2QmmqVjUuzfy5eAeDX4mqZffkYwpzGQRE2YEEeLVRoH4CSHxianrFaVnMN2RYaPUZJhJx8S5j6puX"},
    {"f585c11aec520db57dd353c69554b21a89b20fb0650966fa0a9d6f74fd989d8f",
     "void come effort suffer camp survey warrior heavy shoot primary clutch crush open amazing screen patrol group space point ten exist slush involve unfold",
     "01f5bced59dec48e362f2c45b5de68b9fd6c92c6634f44d6d40aab69056506f0e35524a518034ddc1192e1dacd32c1ed3eaa3c3b131c88ed8e7e54c49a5d0998",
     "xprv9s21ZrQH143K39rnQJknpH1WEPFJrzmAqqasiDcVrNuk926oizzJDDQkdiTvNPr2FYDYzWgiMiC63YmfPAa2oPyNB23r2g7d1yiK6WpqaQS"},
};
// clang-format on

TEST(Bip39, TrezorVectorsAllTwentyFourEnglish) {
  ASSERT_EQ(std::size(kTrezorVectors), 24u);
  for (const TrezorVector& v : kTrezorVectors) {
    SCOPED_TRACE(v.mnemonic);
    const Bytes entropy = *HexDecode(v.entropy);

    auto mnemonic = EntropyToMnemonic(entropy);
    ASSERT_TRUE(mnemonic.ok()) << mnemonic.status().ToString();
    EXPECT_EQ(Str(*mnemonic), v.mnemonic);

    auto back = MnemonicToEntropy(v.mnemonic);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(HexEncode(back->view()), v.entropy);
    EXPECT_TRUE(ValidateMnemonic(v.mnemonic).ok());

    auto seed = MnemonicToSeed(v.mnemonic, "TREZOR");
    ASSERT_TRUE(seed.ok()) << seed.status().ToString();
    EXPECT_EQ(Hex(*seed), v.seed);

    auto master = ExtendedKey::FromSeed(seed->view());
    ASSERT_TRUE(master.ok()) << master.status().ToString();
    auto xprv = master->ToXprv();
    ASSERT_TRUE(xprv.ok());
    EXPECT_EQ(Str(*xprv), v.xprv);
  }
}

TEST(Bip39, EveryEntropySizeGivesItsWordCount) {
  for (size_t bytes : {16u, 20u, 24u, 28u, 32u}) {
    const Bytes entropy(bytes, 0xa5);
    auto m = EntropyToMnemonic(entropy);
    ASSERT_TRUE(m.ok());
    const std::string text = Str(*m);
    const size_t words = static_cast<size_t>(std::count(text.begin(), text.end(), ' ')) + 1;
    EXPECT_EQ(words, bytes * 3 / 4);
    EXPECT_EQ(HexEncode(MnemonicToEntropy(text)->view()), HexEncode(entropy));
  }
}

// ---------------------------------------------------------------- seeds and passphrases

TEST(Bip39, PassphraseChangesTheSeed) {
  const std::string with_empty = Hex(*MnemonicToSeed(kAbandonAbout, ""));
  const std::string with_trezor = Hex(*MnemonicToSeed(kAbandonAbout, "TREZOR"));
  EXPECT_NE(with_empty, with_trezor);
  EXPECT_EQ(with_trezor, kTrezorVectors[0].seed);
  EXPECT_EQ(MnemonicToSeed(kAbandonAbout, "")->size(), kBip39SeedSize);
}

TEST(Bip39, PassphraseIsNfkdNormalised) {
  // BIP-39: the salt is "mnemonic" + NFKD(passphrase). "é" precomposed (U+00E9) and
  // decomposed ("e" + U+0301) therefore give one seed: PBKDF2 over the decomposed bytes.
  // Compatibility forms fold too: NFKD("\xef\xac\x81") (the "fi" ligature U+FB01) is "fi".
  const std::string composed = "caf\xc3\xa9";
  const std::string decomposed = "cafe\xcc\x81";
  auto a = MnemonicToSeed(kAbandonAbout, composed);
  auto b = MnemonicToSeed(kAbandonAbout, decomposed);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Hex(*a), Hex(*b));
  const std::string salt = "mnemonic" + decomposed;
  auto direct = crypto::Pbkdf2HmacSha512(AsBytes(kAbandonAbout), AsBytes(salt), 2048, 64);
  ASSERT_TRUE(direct.ok());
  EXPECT_EQ(Hex(*a), Hex(*direct));
  EXPECT_EQ(Hex(*MnemonicToSeed(kAbandonAbout, "\xef\xac\x81")), Hex(*MnemonicToSeed(kAbandonAbout, "fi")));
}

TEST(Bip39, PassphraseMustBeUtf8) {
  EXPECT_EQ(MnemonicToSeed(kAbandonAbout, "\xff\xfe").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MnemonicToSeed(kAbandonAbout, "caf\xc3").status().code(), StatusCode::kInvalidArgument);
}

TEST(Bip39, SeedRefusesAnInvalidMnemonic) {
  auto s = MnemonicToSeed("abandon abandon abandon abandon abandon abandon abandon abandon "
                          "abandon abandon abandon abandon",
                          "");
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.status().message(), "bip39: checksum mismatch");
}

// ---------------------------------------------------------------- generation

TEST(Bip39, GenerateGivesValidMnemonicsOfEachLength) {
  for (size_t words : {12u, 15u, 18u, 21u, 24u}) {
    auto m = GenerateMnemonic(words);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    const std::string text = Str(*m);
    EXPECT_EQ(static_cast<size_t>(std::count(text.begin(), text.end(), ' ')) + 1, words);
    EXPECT_TRUE(ValidateMnemonic(text).ok()) << ValidateMnemonic(text).ToString();
  }
  EXPECT_NE(Str(*GenerateMnemonic()), Str(*GenerateMnemonic()));
  EXPECT_EQ(Str(*GenerateMnemonic()).empty(), false);
}

TEST(Bip39, GenerateRefusesOtherWordCounts) {
  for (size_t words : {0u, 3u, 11u, 13u, 25u, 27u}) {
    EXPECT_EQ(GenerateMnemonic(words).status().code(), StatusCode::kInvalidArgument) << words;
  }
}

// ---------------------------------------------------------------- round trips

TEST(Bip39, RandomEntropyRoundTrips) {
  std::mt19937_64 rng(TestSeed());
  for (int iteration = 0; iteration < 500; ++iteration) {
    const size_t bytes = 16 + 4 * static_cast<size_t>(rng() % 5);
    Bytes entropy(bytes);
    for (auto& b : entropy) b = static_cast<uint8_t>(rng());
    auto m = EntropyToMnemonic(entropy);
    ASSERT_TRUE(m.ok());
    auto back = MnemonicToEntropy(Str(*m));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(HexEncode(back->view()), HexEncode(entropy));
  }
}

// ---------------------------------------------------------------- refusals

TEST(Bip39, EntropyOfOtherSizesIsRefused) {
  for (size_t bytes : {0u, 1u, 12u, 15u, 17u, 30u, 33u, 64u}) {
    auto m = EntropyToMnemonic(Bytes(bytes, 1));
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << bytes;
  }
  EXPECT_EQ(EntropyToMnemonic(Bytes(15, 1)).status().message(),
            "bip39: entropy must be 16, 20, 24, 28 or 32 bytes, got 15");
}

struct Refusal {
  std::string mnemonic;
  std::string message;
};

TEST(Bip39, EachMalformedMnemonicIsRefusedWithItsOwnMessage) {
  std::string eleven = kAbandonAbout.substr(0, kAbandonAbout.rfind(' '));
  std::string upper = kAbandonAbout;
  upper[0] = 'A';
  std::string tab = kAbandonAbout;
  tab[7] = '\t';
  std::string twenty_five;
  for (int i = 0; i < 25; ++i) twenty_five += i == 0 ? "abandon" : " abandon";
  const Refusal refusals[] = {
      {"", "bip39: mnemonic is empty"},
      {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
       "abandon",
       "bip39: checksum mismatch"},
      {"abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon "
       "abandonn",
       "bip39: word 12 is not in the BIP-39 English word list"},
      {"aban aban aban aban aban aban aban aban aban aban aban abou",
       "bip39: word 1 is not in the BIP-39 English word list"},
      {eleven, "bip39: 11 words; expected 12, 15, 18, 21 or 24"},
      {kAbandonAbout + " abandon", "bip39: 13 words; expected 12, 15, 18, 21 or 24"},
      {twenty_five, "bip39: 25 words; expected 12, 15, 18, 21 or 24"},
      {"abandon  " + kAbandonAbout.substr(8), "bip39: empty word 2 (leading, trailing or repeated space)"},
      {" " + kAbandonAbout, "bip39: empty word 1 (leading, trailing or repeated space)"},
      {kAbandonAbout + " ", "bip39: empty word 13 (leading, trailing or repeated space)"},
      {kAbandonAbout + "\n",
       "bip39: whitespace other than a single space after word 12; words are separated by one "
       "space"},
      {tab,
       "bip39: whitespace other than a single space after word 1; words are separated by one "
       "space"},
      {upper, "bip39: upper-case letter in word 1; mnemonic words are lower case"},
      {"abandon ab\xc3\xa1ndon " + kAbandonAbout.substr(16),
       "bip39: non-ASCII byte in word 2; only the English word list is supported"},
      {"abandon, " + kAbandonAbout.substr(8), "bip39: character other than a-z in word 1"},
      {std::string("abandon\0", 8) + kAbandonAbout.substr(8),
       "bip39: character other than a-z in word 1"},
  };
  for (const Refusal& r : refusals) {
    auto e = MnemonicToEntropy(r.mnemonic);
    EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << r.mnemonic;
    EXPECT_EQ(e.status().message(), r.message) << r.mnemonic;
    EXPECT_EQ(ValidateMnemonic(r.mnemonic), e.status());
  }
}

TEST(Bip39, ErrorsNeverQuoteTheWords) {
  // A mnemonic is a secret and error messages reach logs.
  for (std::string_view bad : {"secretword abandon abandon abandon abandon abandon abandon "
                               "abandon abandon abandon abandon about",
                               "zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo zoo"}) {
    const std::string message = MnemonicToEntropy(bad).status().message();
    EXPECT_EQ(message.find("secretword"), std::string::npos);
    EXPECT_EQ(message.find("zoo"), std::string::npos);
  }
}

// Every file under tests/corpus/mnemonic/ is a mnemonic that must be refused, named for the
// reason. As a CLI reading --mnemonic-file does, one final "\n" is stripped first; nothing
// else is.
TEST(Bip39, CorpusOfMalformedMnemonics) {
  const char* root = std::getenv("VP_SOURCE_DIR");
  ASSERT_NE(root, nullptr) << "VP_SOURCE_DIR must name the repository root";
  const std::filesystem::path dir = std::filesystem::path(root) / "tests/corpus/mnemonic";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::string text = ReadFile(entry.path());
    if (!text.empty() && text.back() == '\n') text.pop_back();
    auto result = MnemonicToEntropy(text);
    EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument) << entry.path().filename();
    EXPECT_EQ(MnemonicToSeed(text, "").status().code(), StatusCode::kInvalidArgument)
        << entry.path().filename();
    ++files;
  }
  EXPECT_GE(files, 25u);
}

}  // namespace
}  // namespace vp::eth
