// The digest signing key file: created once with mode 0600, shared by concurrent starts,
// refused when exposed or malformed.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "vp/audit/audit.h"

namespace vp::audit {
namespace {

class SigningKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    dir_ = std::filesystem::temp_directory_path() /
           ("vp-audit-key-" + std::to_string(getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  std::string dir() const { return dir_.string(); }
  std::string path() const { return (dir_ / std::string(FileDigestSigner::kFileName)).string(); }
  void Write(const std::string& text, mode_t mode) {
    std::ofstream(path(), std::ios::binary | std::ios::trunc) << text;
    ASSERT_EQ(::chmod(path().c_str(), mode), 0);
  }

  std::filesystem::path dir_;
};

TEST_F(SigningKeyTest, CreatesAPrivateHexKeyFileOnFirstStart) {
  auto signer = FileDigestSigner::LoadOrCreate(dir());
  ASSERT_TRUE(signer.ok()) << signer.status().ToString();
  struct stat st {};
  ASSERT_EQ(::stat(path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path());
  std::string text;
  std::getline(in, text, '\0');  // the whole file: it holds no NUL
  ASSERT_EQ(text.size(), 65u);
  EXPECT_EQ(text.back(), '\n');
  EXPECT_TRUE(HexDecode(text.substr(0, 64), HexPrefix::kForbidden).ok());
  // No temporary file is left behind.
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++files;
  EXPECT_EQ(files, 1u);
}

TEST_F(SigningKeyTest, LaterStartsLoadTheSameKey) {
  auto a = FileDigestSigner::LoadOrCreate(dir());
  auto b = FileDigestSigner::LoadOrCreate(dir());
  auto c = FileDigestSigner::Load(dir());
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ((*a)->public_key(), (*b)->public_key());
  EXPECT_EQ((*a)->public_key(), (*c)->public_key());
}

TEST_F(SigningKeyTest, ConcurrentStartsAgreeOnOneKey) {
  std::vector<std::thread> threads;
  std::vector<crypto::Ed25519Public> keys(8);
  std::vector<Status> statuses(8);
  for (size_t i = 0; i < keys.size(); ++i) {
    threads.emplace_back([&, i] {
      auto s = FileDigestSigner::LoadOrCreate(dir());
      statuses[i] = s.status();
      if (s.ok()) keys[i] = (*s)->public_key();
    });
  }
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(statuses[i].ok()) << statuses[i].ToString();
    EXPECT_EQ(keys[i], keys[0]);
  }
}

TEST_F(SigningKeyTest, LoadNeverCreates) {
  auto s = FileDigestSigner::Load(dir());
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path()));
}

TEST_F(SigningKeyTest, CreatesTheDataDirectoryWhenMissing) {
  const std::string sub = dir() + "/data";
  auto s = FileDigestSigner::LoadOrCreate(sub);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(sub + "/" + std::string(FileDigestSigner::kFileName)));
}

TEST_F(SigningKeyTest, KnownSeedGivesTheRfc8032PublicKey) {
  // RFC 8032, section 7.1, TEST 1.
  Write("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n", 0600);
  auto s = FileDigestSigner::Load(dir());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(HexEncode((*s)->public_key()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
}

TEST_F(SigningKeyTest, RefusesAKeyFileOthersCanRead) {
  Write("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60\n", 0644);
  EXPECT_EQ(FileDigestSigner::Load(dir()).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(FileDigestSigner::LoadOrCreate(dir()).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(::chmod(path().c_str(), 0620), 0);
  EXPECT_EQ(FileDigestSigner::Load(dir()).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(SigningKeyTest, RefusesMalformedKeyFiles) {
  for (const std::string& bad : {std::string(""), std::string("abcd\n"),
                                std::string(64, 'z') + "\n",
                                std::string(66, 'a') + "\n",
                                std::string(300, 'a')}) {
    Write(bad, 0600);
    auto s = FileDigestSigner::Load(dir());
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << bad;
    // The message never echoes key material.
    EXPECT_EQ(s.status().message().find("zzzz"), std::string::npos);
  }
}

TEST_F(SigningKeyTest, SignaturesVerifyUnderThePublicKeyOnly) {
  auto a = FileDigestSigner::LoadOrCreate(dir());
  ASSERT_TRUE(a.ok());
  const Bytes msg = {1, 2, 3};
  auto sig = (*a)->Sign(msg);
  ASSERT_TRUE(sig.ok());
  EXPECT_TRUE(crypto::Ed25519Verify((*a)->public_key(), msg, *sig));
  const Bytes other = {1, 2, 4};
  EXPECT_FALSE(crypto::Ed25519Verify((*a)->public_key(), other, *sig));
}

TEST(FileDigestSigner, FromSeedRefusesWrongLengths) {
  EXPECT_EQ(FileDigestSigner::FromSeed(Bytes(31)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FileDigestSigner::FromSeed(Bytes(33)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(FileDigestSigner::FromSeed(Bytes(32, 1)).ok());
}

}  // namespace
}  // namespace vp::audit
