// The kms core as a specification: the wrapped-key encoding, the sealed master-key file
// backend (format, wrong passphrase, truncation, flipped bytes, rotation, concurrency), the
// key policy parser and attestation documents (every refusal reason, every tampered byte).
// Formats: docs/kms.md.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "vp/base/test_util.h"
#include "vp/crypto/ed25519.h"
#include "vp/crypto/hash.h"
#include "vp/kms/attestation.h"
#include "vp/kms/file_backend.h"
#include "vp/kms/master_key.h"
#include "vp/kms/policy.h"

namespace vp::kms {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Fast parameters for tests (the lowest Scrypt accepts); production uses the defaults.
const crypto::ScryptParams kFast{1024, 8, 1};

Bytes ReadAll(const std::string& path) {
  const std::string s = vp::testing::ReadFile(path);
  return Bytes(s.begin(), s.end());
}

void WriteAll(const std::string& path, ByteSpan data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

SecureBuffer Pass(std::string_view s) { return SecureBuffer::CopyOf(AsBytes(s)); }

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "vp-kms-test-XXXXXX").string();
    const char* made = ::mkdtemp(tmpl.data());
    EXPECT_NE(made, nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ---- wrapped-key encoding --------------------------------------------------------------

WrappedKey SampleWrapped() {
  WrappedKey w;
  w.master_key_id = "mk-12";
  w.nonce = Bytes(12, 0xaa);
  w.ciphertext = Bytes(48, 0x55);
  return w;
}

TEST(WrappedKey, EncodesTheDocumentedLayout) {
  const Bytes enc = EncodeWrappedKey(SampleWrapped());
  ASSERT_EQ(enc.size(), 1 + 1 + 5 + 12 + 4 + 48u);
  EXPECT_EQ(HexEncode(ByteSpan(enc).first(7)), "01056d6b2d3132");  // version, len, "mk-12"
  EXPECT_EQ(HexEncode(ByteSpan(enc).subspan(19, 4)), "00000030");  // u32be ciphertext length
  auto dec = DecodeWrappedKey(enc);
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(dec->master_key_id, "mk-12");
  EXPECT_EQ(dec->nonce, Bytes(12, 0xaa));
  EXPECT_EQ(dec->ciphertext, Bytes(48, 0x55));
}

TEST(WrappedKey, DecoderIsStrict) {
  const Bytes enc = EncodeWrappedKey(SampleWrapped());
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_EQ(DecodeWrappedKey(ByteSpan(enc).first(n)).status().code(), StatusCode::kInvalidArgument) << n;
  }
  Bytes longer = enc;
  longer.push_back(0);
  EXPECT_EQ(DecodeWrappedKey(longer).status().code(), StatusCode::kInvalidArgument);
  Bytes v2 = enc;
  v2[0] = 2;
  EXPECT_EQ(DecodeWrappedKey(v2).status().code(), StatusCode::kInvalidArgument);

  auto code_for = [](WrappedKey w) { return DecodeWrappedKey(EncodeWrappedKey(w)).status().code(); };
  for (std::string id : {std::string("MK-1"), std::string("mk_1"), std::string("mk 1"), std::string(65, 'a')}) {
    WrappedKey w = SampleWrapped();
    w.master_key_id = id;
    EXPECT_EQ(code_for(w), StatusCode::kInvalidArgument) << id;
  }
  WrappedKey empty_id = SampleWrapped();
  empty_id.master_key_id.clear();
  EXPECT_EQ(code_for(empty_id), StatusCode::kInvalidArgument);
  WrappedKey long_id = SampleWrapped();
  long_id.master_key_id = std::string(64, 'z');
  EXPECT_TRUE(DecodeWrappedKey(EncodeWrappedKey(long_id)).ok());
  WrappedKey short_ct = SampleWrapped();
  short_ct.ciphertext = Bytes(16);
  EXPECT_EQ(code_for(short_ct), StatusCode::kInvalidArgument);
  short_ct.ciphertext = Bytes(17);
  EXPECT_TRUE(DecodeWrappedKey(EncodeWrappedKey(short_ct)).ok());
  WrappedKey long_ct = SampleWrapped();
  long_ct.ciphertext = Bytes(1025);
  EXPECT_EQ(code_for(long_ct), StatusCode::kInvalidArgument);
  long_ct.ciphertext = Bytes(1024);
  EXPECT_TRUE(DecodeWrappedKey(EncodeWrappedKey(long_ct)).ok());
  // A length field that disagrees with the bytes present, either way.
  Bytes lying = enc;
  lying[22] = 0x31;
  EXPECT_EQ(DecodeWrappedKey(lying).status().code(), StatusCode::kInvalidArgument);
  lying[22] = 0x2f;
  EXPECT_EQ(DecodeWrappedKey(lying).status().code(), StatusCode::kInvalidArgument);
}

// ---- sealed master-key file ------------------------------------------------------------

class FileBackendTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = dir_.File("master.key");
    ASSERT_TRUE(CreateSealedMasterKeyFile(path_, AsBytes("correct horse"), kFast).ok());
  }
  std::unique_ptr<MasterKeyBackend> Open(std::string_view pass = "correct horse") {
    auto b = OpenFileBackend(path_, Pass(pass));
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return b.ok() ? std::move(b).value() : nullptr;
  }
  StatusCode OpenCode(std::string_view pass = "correct horse") {
    return OpenFileBackend(path_, Pass(pass)).status().code();
  }

  TempDir dir_;
  std::string path_;
};

TEST_F(FileBackendTest, CreatesA0600FileInTheDocumentedLayout) {
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const Bytes file = ReadAll(path_);
  // header(53) || keyring(count 1 + len 1 + "mk-1" 4 + state 1 + key 32) || tag(16)
  ASSERT_EQ(file.size(), 53 + 39 + 16u);
  EXPECT_EQ(AsString(ByteSpan(file).first(4)), "VPMK");
  EXPECT_EQ(file[4], 1);
  EXPECT_EQ(HexEncode(ByteSpan(file).subspan(5, 16)), "00000000000004000000000800000001");  // n, r, p
  EXPECT_EQ(HexEncode(ByteSpan(file).subspan(49, 4)), "00000037");                          // 39 + 16
  // Nothing but the file itself is left in the directory (no temp files).
  size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_.path())) ++entries;
  EXPECT_EQ(entries, 1u);
}

TEST_F(FileBackendTest, RefusesToOverwriteOrCreateWithBadInput) {
  EXPECT_EQ(CreateSealedMasterKeyFile(path_, AsBytes("other"), kFast).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(CreateSealedMasterKeyFile(dir_.File("b.key"), {}, kFast).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateSealedMasterKeyFile(dir_.File("c.key"), AsBytes("p"), {512, 8, 1}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(CreateSealedMasterKeyFile(dir_.File("no/such/dir.key"), AsBytes("p"), kFast).code(),
            StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(dir_.File("b.key")));
  EXPECT_FALSE(fs::exists(dir_.File("c.key")));
}

TEST_F(FileBackendTest, WrapsAndUnwraps) {
  auto b = Open();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->Kind(), "file");
  EXPECT_EQ(b->ActiveKeyId(), "mk-1");
  EXPECT_EQ(b->KeyIds(), std::vector<std::string>{"mk-1"});
  const Bytes dek(32, 7);
  auto w = b->Wrap(dek, AsBytes("wallet-1|0xabc|v1"));
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->master_key_id, "mk-1");
  EXPECT_EQ(w->nonce.size(), 12u);
  EXPECT_EQ(w->ciphertext.size(), 48u);
  // Through the public encoding and back.
  auto decoded = DecodeWrappedKey(EncodeWrappedKey(*w));
  ASSERT_TRUE(decoded.ok());
  auto plain = b->Unwrap(*decoded, AsBytes("wallet-1|0xabc|v1"));
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(HexEncode(plain->view()), HexEncode(dek));
  // Same plaintext twice: fresh nonces, different ciphertexts.
  auto w2 = b->Wrap(dek, AsBytes("wallet-1|0xabc|v1"));
  ASSERT_TRUE(w2.ok());
  EXPECT_NE(w2->nonce, w->nonce);
  EXPECT_NE(w2->ciphertext, w->ciphertext);
  // A reopened backend (same file, same passphrase) unwraps it too.
  b.reset();
  auto again = Open();
  ASSERT_NE(again, nullptr);
  EXPECT_TRUE(again->Unwrap(*w, AsBytes("wallet-1|0xabc|v1")).ok());
}

TEST_F(FileBackendTest, UnwrapRefusesWrongContextTamperingAndUnknownKeys) {
  auto b = Open();
  ASSERT_NE(b, nullptr);
  const Bytes aad = {'c', 't', 'x'};
  auto w = *b->Wrap(Bytes(32, 1), aad);
  EXPECT_EQ(b->Unwrap(w, AsBytes("cty")).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(b->Unwrap(w, {}).status().code(), StatusCode::kUnauthenticated);
  for (size_t i = 0; i < w.ciphertext.size(); ++i) {
    WrappedKey bad = w;
    bad.ciphertext[i] ^= 0x01;
    EXPECT_EQ(b->Unwrap(bad, aad).status().code(), StatusCode::kUnauthenticated) << i;
  }
  for (size_t i = 0; i < w.nonce.size(); ++i) {
    WrappedKey bad = w;
    bad.nonce[i] ^= 0x80;
    EXPECT_EQ(b->Unwrap(bad, aad).status().code(), StatusCode::kUnauthenticated) << i;
  }
  WrappedKey unknown = w;
  unknown.master_key_id = "mk-2";
  EXPECT_EQ(b->Unwrap(unknown, aad).status().code(), StatusCode::kNotFound);
  WrappedKey malformed = w;
  malformed.nonce.pop_back();
  EXPECT_EQ(b->Unwrap(malformed, aad).status().code(), StatusCode::kInvalidArgument);
  malformed = w;
  malformed.master_key_id = "MK-1";
  EXPECT_EQ(b->Unwrap(malformed, aad).status().code(), StatusCode::kInvalidArgument);
  malformed = w;
  malformed.ciphertext.resize(16);
  EXPECT_EQ(b->Unwrap(malformed, aad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b->Wrap({}, aad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(b->Wrap(Bytes(kWrapMaxPlaintext + 1), aad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(b->Wrap(Bytes(kWrapMaxPlaintext), aad).ok());
}

TEST_F(FileBackendTest, AnotherFileWithTheSameKeyIdCannotUnwrap) {
  const std::string other = dir_.File("other.key");
  ASSERT_TRUE(CreateSealedMasterKeyFile(other, AsBytes("correct horse"), kFast).ok());
  auto a = Open();
  auto b = OpenFileBackend(other, Pass("correct horse"));
  ASSERT_TRUE(a != nullptr && b.ok());
  auto w = *a->Wrap(Bytes(32, 3), {});
  EXPECT_EQ((*b)->ActiveKeyId(), "mk-1");
  EXPECT_EQ((*b)->Unwrap(w, {}).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(FileBackendTest, WrongPassphraseIsUnauthenticatedWithoutDetail) {
  auto r = OpenFileBackend(path_, Pass("correct hors"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(r.status().message(), HasSubstr("wrong passphrase or corrupted file"));
  EXPECT_EQ(OpenCode("correct horse\n"), StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenCode(""), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenFileBackend(dir_.File("missing.key"), Pass("x")).status().code(), StatusCode::kNotFound);
}

TEST_F(FileBackendTest, RefusesTruncatedAndExtendedFiles) {
  const Bytes good = ReadAll(path_);
  for (size_t n = 0; n < good.size(); ++n) {
    WriteAll(path_, ByteSpan(good).first(n));
    EXPECT_EQ(OpenCode(), StatusCode::kInvalidArgument) << "length " << n;
  }
  Bytes longer = good;
  longer.push_back(0);
  WriteAll(path_, longer);
  EXPECT_EQ(OpenCode(), StatusCode::kInvalidArgument);
  WriteAll(path_, good);
  EXPECT_NE(Open(), nullptr);
}

TEST_F(FileBackendTest, RefusesAFlippedBitAnywhere) {
  const Bytes good = ReadAll(path_);
  for (size_t i = 0; i < good.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}}) {
      Bytes bad = good;
      bad[i] = static_cast<uint8_t>(bad[i] ^ flip);
      WriteAll(path_, bad);
      auto r = OpenFileBackend(path_, Pass("correct horse"));
      ASSERT_FALSE(r.ok()) << "byte " << i << " flip " << int{flip};
      // The header's framing is checked before decryption; everything else fails authentication.
      if (i < 5 || (i >= 49 && i < 53)) {
        EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << i;
      } else {
        EXPECT_TRUE(r.status().code() == StatusCode::kInvalidArgument ||
                    r.status().code() == StatusCode::kUnauthenticated)
            << i << " " << r.status().ToString();
      }
    }
  }
}

TEST_F(FileBackendTest, RefusesOtherVersionsAndMagic) {
  const Bytes good = ReadAll(path_);
  for (uint8_t v : {uint8_t{0}, uint8_t{2}, uint8_t{255}}) {
    Bytes bad = good;
    bad[4] = v;
    WriteAll(path_, bad);
    auto r = OpenFileBackend(path_, Pass("correct horse"));
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr("version"));
  }
  Bytes bad = good;
  bad[0] = 'X';
  WriteAll(path_, bad);
  EXPECT_THAT(OpenFileBackend(path_, Pass("correct horse")).status().message(), HasSubstr("magic"));
}

TEST_F(FileBackendTest, RefusesScryptParametersOutOfBoundsBeforeDeriving) {
  const Bytes good = ReadAll(path_);
  Bytes huge_n = good;
  for (size_t i = 5; i < 13; ++i) huge_n[i] = 0;
  huge_n[10] = 0x80;  // n = 2^23, a power of two above the bound
  WriteAll(path_, huge_n);
  EXPECT_EQ(OpenCode(), StatusCode::kInvalidArgument);
  Bytes big_r = good;
  big_r[16] = 0x41;  // r = 65
  WriteAll(path_, big_r);
  EXPECT_EQ(OpenCode(), StatusCode::kInvalidArgument);
}

TEST_F(FileBackendTest, RotationKeepsOldKeysUntilFinished) {
  auto b = Open();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->FinishRotation().code(), StatusCode::kFailedPrecondition);
  auto old = *b->Wrap(Bytes(32, 1), AsBytes("a"));
  EXPECT_EQ(old.master_key_id, "mk-1");

  ASSERT_TRUE(b->BeginRotation().ok());
  EXPECT_EQ(b->ActiveKeyId(), "mk-2");
  EXPECT_EQ(b->KeyIds(), (std::vector<std::string>{"mk-2", "mk-1"}));
  EXPECT_EQ(b->BeginRotation().code(), StatusCode::kFailedPrecondition);
  auto fresh = *b->Wrap(Bytes(32, 2), AsBytes("a"));
  EXPECT_EQ(fresh.master_key_id, "mk-2");
  EXPECT_TRUE(b->Unwrap(old, AsBytes("a")).ok());
  EXPECT_TRUE(b->Unwrap(fresh, AsBytes("a")).ok());

  // The rotation is durable: a restarted kms sees both keys.
  b.reset();
  b = Open();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->KeyIds(), (std::vector<std::string>{"mk-2", "mk-1"}));
  EXPECT_TRUE(b->Unwrap(old, AsBytes("a")).ok());
  EXPECT_EQ(OpenCode("wrong"), StatusCode::kUnauthenticated);  // same passphrase still required

  ASSERT_TRUE(b->FinishRotation().ok());
  EXPECT_EQ(b->KeyIds(), std::vector<std::string>{"mk-2"});
  EXPECT_EQ(b->Unwrap(old, AsBytes("a")).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(b->Unwrap(fresh, AsBytes("a")).ok());
  EXPECT_EQ(b->FinishRotation().code(), StatusCode::kFailedPrecondition);

  b.reset();
  b = Open();
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->KeyIds(), std::vector<std::string>{"mk-2"});
  EXPECT_EQ(b->Unwrap(old, AsBytes("a")).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(b->BeginRotation().ok());
  EXPECT_EQ(b->ActiveKeyId(), "mk-3");
  struct stat st;
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(FileBackendTest, ConcurrentWrapAndUnwrapAcrossARotation) {
  auto b = Open();
  ASSERT_NE(b, nullptr);
  const uint64_t seed = vp::testing::TestSeed();
  std::atomic<int> failures{0};
  std::atomic<int> done{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(seed + static_cast<uint64_t>(t));
      for (int i = 0; i < 300; ++i) {
        Bytes dek(32);
        for (auto& x : dek) x = static_cast<uint8_t>(rng());
        const std::string ctx = "thread-" + std::to_string(t) + "-" + std::to_string(i);
        auto w = b->Wrap(dek, AsBytes(ctx));
        if (!w.ok()) {
          ++failures;
          continue;
        }
        auto p = b->Unwrap(*w, AsBytes(ctx));
        if (!p.ok() || HexEncode(p->view()) != HexEncode(dek)) ++failures;
        if (i == 100) ++done;
      }
    });
  }
  while (done.load() < 2) std::this_thread::yield();
  const Status rotated = b->BeginRotation();
  for (auto& th : threads) th.join();
  EXPECT_TRUE(rotated.ok()) << rotated.ToString();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(b->ActiveKeyId(), "mk-2");
}

// ---- passphrases -----------------------------------------------------------------------

TEST(Passphrase, ReadFromFileStripsOneTrailingNewline) {
  TempDir dir;
  auto read = [&](std::string_view content) {
    WriteAll(dir.File("p"), AsBytes(content));
    return ReadPassphraseFile(dir.File("p"));
  };
  EXPECT_EQ(AsString(read("hunter2\n")->view()), "hunter2");
  EXPECT_EQ(AsString(read("hunter2\r\n")->view()), "hunter2");
  EXPECT_EQ(AsString(read("hunter2")->view()), "hunter2");
  EXPECT_EQ(AsString(read("hunter2\n\n")->view()), "hunter2\n");
  EXPECT_EQ(AsString(read(" spaces kept ")->view()), " spaces kept ");
  EXPECT_EQ(read("").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read("\n").status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(read(std::string(4096, 'x')).ok());
  EXPECT_TRUE(read(std::string(4096, 'x') + "\r\n").ok());
  EXPECT_EQ(read(std::string(4097, 'x')).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read(std::string(4097, 'x') + "\n").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(read(std::string(100000, 'x')).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadPassphraseFile(dir.File("missing")).status().code(), StatusCode::kNotFound);
}

TEST(Passphrase, ReadFromAnInheritedDescriptor) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const std::string_view text = "from a pipe\n";
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  auto p = ReadPassphraseFd(fds[0]);
  ::close(fds[0]);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(AsString(p->view()), "from a pipe");
  EXPECT_EQ(ReadPassphraseFd(-1).status().code(), StatusCode::kInvalidArgument);
}

// ---- key policy ------------------------------------------------------------------------

const std::string kLauncherHex(64, 'a');
const std::string kMeasurementHex(96, 'b');

std::string PolicyJson(std::string_view extra = "", std::string_view version = "1") {
  return std::string(R"({"version": )") + std::string(version) + R"(, "launcherPublicKeys": [")" + kLauncherHex +
         R"("], "signerMeasurements": [")" + kMeasurementHex +
         R"("], "generateDataKeyUids": [1000], "adminUids": [0])" + std::string(extra) + "}";
}

TEST(KeyPolicy, ParsesAFullPolicy) {
  auto p = ParseKeyPolicy(PolicyJson(R"(, "allowDebug": true, "maxAttestationAgeSeconds": 60)"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->version, 1);
  ASSERT_EQ(p->launcher_keys.size(), 1u);
  EXPECT_EQ(HexEncode(p->launcher_keys[0]), kLauncherHex);
  ASSERT_EQ(p->signer_measurements.size(), 1u);
  EXPECT_EQ(HexEncode(p->signer_measurements[0]), kMeasurementHex);
  EXPECT_TRUE(p->allow_debug);
  EXPECT_EQ(p->max_attestation_age_s, 60);
  EXPECT_EQ(p->generate_data_key_uids, std::vector<uint32_t>{1000});
  EXPECT_EQ(p->admin_uids, std::vector<uint32_t>{0});
  EXPECT_TRUE(PolicyAllowsGenerateDataKey(*p, 1000));
  EXPECT_FALSE(PolicyAllowsGenerateDataKey(*p, 0));
  EXPECT_TRUE(PolicyAllowsAdmin(*p, 0));
  EXPECT_FALSE(PolicyAllowsAdmin(*p, 1000));
}

TEST(KeyPolicy, OptionalFieldsHaveSafeDefaults) {
  auto p = ParseKeyPolicy(PolicyJson());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_FALSE(p->allow_debug);
  EXPECT_EQ(p->max_attestation_age_s, 600);
  auto empty = ParseKeyPolicy(
      R"({"version":1,"launcherPublicKeys":[],"signerMeasurements":[],"generateDataKeyUids":[],"adminUids":[]})");
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
}

TEST(KeyPolicy, SerializesToWhatItParses) {
  KeyPolicy p;
  p.launcher_keys.push_back(*HexDecodeFixed<32>(kLauncherHex));
  p.signer_measurements.push_back(*HexDecodeFixed<48>(kMeasurementHex));
  p.signer_measurements.push_back(*HexDecodeFixed<48>(std::string(96, 'c')));
  p.allow_debug = true;
  p.max_attestation_age_s = 120;
  p.generate_data_key_uids = {1000, 1001};
  p.admin_uids = {0};
  const std::string text = SerializeKeyPolicy(p);
  EXPECT_THAT(text, HasSubstr("\"launcherPublicKeys\""));
  EXPECT_LT(text.find("\"version\""), text.find("\"adminUids\""));  // documented order
  auto back = ParseKeyPolicy(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->launcher_keys, p.launcher_keys);
  EXPECT_EQ(back->signer_measurements, p.signer_measurements);
  EXPECT_EQ(back->allow_debug, p.allow_debug);
  EXPECT_EQ(back->max_attestation_age_s, p.max_attestation_age_s);
  EXPECT_EQ(back->generate_data_key_uids, p.generate_data_key_uids);
  EXPECT_EQ(back->admin_uids, p.admin_uids);
  EXPECT_EQ(SerializeKeyPolicy(*back), text);
}

TEST(KeyPolicy, RefusesMalformedPolicies) {
  const std::string lk = R"("launcherPublicKeys": [")" + kLauncherHex + R"("])";
  const std::string sm = R"("signerMeasurements": [")" + kMeasurementHex + R"("])";
  const std::string rest = R"("generateDataKeyUids": [1000], "adminUids": [0])";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "{"},
      {"not an object", "[1]"},
      {"unknown field", PolicyJson(R"(, "allowdebug": true)")},
      {"duplicate key", PolicyJson(R"(, "version": 1)")},
      {"version 2", PolicyJson("", "2")},
      {"version 0", PolicyJson("", "0")},
      {"version string", PolicyJson("", "\"1\"")},
      {"version float", PolicyJson("", "1.0")},
      {"missing version", "{" + lk + ", " + sm + ", " + rest + "}"},
      {"missing launchers", R"({"version": 1, )" + sm + ", " + rest + "}"},
      {"missing measurements", R"({"version": 1, )" + lk + ", " + rest + "}"},
      {"missing uids", R"({"version": 1, )" + lk + ", " + sm + R"(, "adminUids": []})"},
      {"missing admins", R"({"version": 1, )" + lk + ", " + sm + R"(, "generateDataKeyUids": []})"},
      {"upper-case hex", R"({"version": 1, "launcherPublicKeys": [")" + std::string(64, 'A') + R"("], )" + sm +
                             ", " + rest + "}"},
      {"0x prefix", R"({"version": 1, "launcherPublicKeys": ["0x)" + std::string(64, 'a') + R"("], )" + sm + ", " +
                        rest + "}"},
      {"short key", R"({"version": 1, "launcherPublicKeys": [")" + std::string(62, 'a') + R"("], )" + sm + ", " +
                        rest + "}"},
      {"short measurement", R"({"version": 1, )" + lk + R"(, "signerMeasurements": [")" + std::string(64, 'b') +
                                R"("], )" + rest + "}"},
      {"non-hex", R"({"version": 1, "launcherPublicKeys": [")" + std::string(63, 'a') + R"(g"], )" + sm + ", " +
                      rest + "}"},
      {"duplicate launcher", R"({"version": 1, "launcherPublicKeys": [")" + kLauncherHex + R"(", ")" +
                                 kLauncherHex + R"("], )" + sm + ", " + rest + "}"},
      {"zero measurement", R"({"version": 1, )" + lk + R"(, "signerMeasurements": [")" + std::string(96, '0') +
                               R"("], )" + rest + "}"},
      {"launchers not array", R"({"version": 1, "launcherPublicKeys": ")" + kLauncherHex + R"(", )" + sm + ", " +
                                  rest + "}"},
      {"number in hex list", R"({"version": 1, "launcherPublicKeys": [1], )" + sm + ", " + rest + "}"},
      {"allowDebug string", PolicyJson(R"(, "allowDebug": "true")")},
      {"allowDebug number", PolicyJson(R"(, "allowDebug": 1)")},
      {"max age zero", PolicyJson(R"(, "maxAttestationAgeSeconds": 0)")},
      {"max age negative", PolicyJson(R"(, "maxAttestationAgeSeconds": -5)")},
      {"max age too large", PolicyJson(R"(, "maxAttestationAgeSeconds": 86401)")},
      {"max age float", PolicyJson(R"(, "maxAttestationAgeSeconds": 1.5)")},
      {"negative uid", R"({"version": 1, )" + lk + ", " + sm + R"(, "generateDataKeyUids": [-1], "adminUids": []})"},
      {"uid -1 as u32", R"({"version": 1, )" + lk + ", " + sm +
                            R"(, "generateDataKeyUids": [4294967295], "adminUids": []})"},
      {"uid too large", R"({"version": 1, )" + lk + ", " + sm +
                            R"(, "generateDataKeyUids": [99999999999], "adminUids": []})"},
      {"uid string", R"({"version": 1, )" + lk + ", " + sm + R"(, "generateDataKeyUids": ["1000"], "adminUids": []})"},
      {"uid float", R"({"version": 1, )" + lk + ", " + sm + R"(, "generateDataKeyUids": [1000.0], "adminUids": []})"},
      {"duplicate uid", R"({"version": 1, )" + lk + ", " + sm + R"(, "generateDataKeyUids": [], "adminUids": [0, 0]})"},
      {"uids not array", R"({"version": 1, )" + lk + ", " + sm + R"(, "generateDataKeyUids": 1000, "adminUids": []})"},
  };
  for (const auto& [name, text] : cases) {
    auto p = ParseKeyPolicy(text);
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument) << name << ": " << text;
  }
}

TEST(KeyPolicy, LoadsFromAFile) {
  TempDir dir;
  WriteAll(dir.File("policy.json"), AsBytes(PolicyJson()));
  auto p = LoadKeyPolicy(dir.File("policy.json"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->admin_uids, std::vector<uint32_t>{0});
  EXPECT_EQ(LoadKeyPolicy(dir.File("missing.json")).status().code(), StatusCode::kNotFound);
  WriteAll(dir.File("bad.json"), AsBytes(PolicyJson("", "2")));
  auto bad = LoadKeyPolicy(dir.File("bad.json"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("bad.json"));
}

// ---- attestation -----------------------------------------------------------------------

constexpr int64_t kNow = 1'760'000'000'000;

struct AttestationFixture {
  SecureBuffer launcher_seed = *crypto::Ed25519GenerateSeed();
  ByteArray<48> measurement = crypto::Sha384(AsBytes("signer image bytes"));
  crypto::X25519Public signer_pub = crypto::X25519Generate()->public_key;
  KeyPolicy policy;

  AttestationFixture() {
    policy.launcher_keys.push_back(*crypto::Ed25519PublicKey(launcher_seed.view()));
    policy.signer_measurements.push_back(measurement);
    policy.max_attestation_age_s = 600;
  }
  AttestationDoc Sign(int64_t ts = kNow) const {
    return *SignAttestation(launcher_seed.view(), measurement, signer_pub, ts);
  }
};

TEST(Attestation, SignedBytesAndEncodingFollowTheDocumentedLayout) {
  AttestationDoc doc;
  for (size_t i = 0; i < 48; ++i) doc.measurement[i] = 0x11;
  for (size_t i = 0; i < 32; ++i) doc.signer_public_key[i] = 0x22;
  for (size_t i = 0; i < 16; ++i) doc.nonce[i] = 0x33;
  doc.timestamp_ms = 0x0102030405060708;
  for (size_t i = 0; i < 32; ++i) doc.launcher_key[i] = 0x44;
  for (size_t i = 0; i < 64; ++i) doc.signature[i] = 0x55;
  const Bytes signed_bytes = AttestationSignedBytes(doc);
  EXPECT_EQ(HexEncode(signed_bytes), HexEncode(AsBytes("vp-attest-v1")) + std::string(96, '1') +
                                         std::string(64, '2') + std::string(32, '3') + "0102030405060708");
  const Bytes enc = EncodeAttestation(doc);
  ASSERT_EQ(enc.size(), kAttestationSize);
  EXPECT_EQ(HexEncode(enc), "01" + std::string(96, '1') + std::string(64, '2') + std::string(32, '3') +
                                "0102030405060708" + std::string(64, '4') + std::string(128, '5'));
  auto back = DecodeAttestation(enc);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(EncodeAttestation(*back), enc);
}

TEST(Attestation, SignEncodeDecodeVerify) {
  AttestationFixture f;
  const AttestationDoc doc = f.Sign();
  EXPECT_EQ(doc.launcher_key, f.policy.launcher_keys[0]);
  EXPECT_EQ(doc.timestamp_ms, kNow);
  auto back = DecodeAttestation(EncodeAttestation(doc));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->measurement, f.measurement);
  EXPECT_EQ(back->signer_public_key, f.signer_pub);
  EXPECT_EQ(back->nonce, doc.nonce);
  EXPECT_TRUE(VerifyAttestation(*back, f.policy, kNow).ok());
  EXPECT_NE(f.Sign().nonce, doc.nonce);  // fresh nonce each time
  EXPECT_EQ(SignAttestation(Bytes(31), f.measurement, f.signer_pub, kNow).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Attestation, EachRefusalHasItsReason) {
  AttestationFixture f;
  auto expect_denied = [](const Status& s, std::string_view reason) {
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << s.ToString();
    EXPECT_EQ(s.message(), reason);
  };
  const AttestationDoc doc = f.Sign();

  KeyPolicy other_launcher = f.policy;
  other_launcher.launcher_keys = {*crypto::Ed25519PublicKey(crypto::Ed25519GenerateSeed()->view())};
  expect_denied(VerifyAttestation(doc, other_launcher, kNow), "launcher key not pinned by policy");

  AttestationDoc forged = doc;
  forged.signer_public_key[0] ^= 1;  // swap in another recipient key, keep the signature
  expect_denied(VerifyAttestation(forged, f.policy, kNow), "attestation signature invalid");
  // A document signed by an unpinned launcher but claiming a pinned key.
  auto rogue_seed = *crypto::Ed25519GenerateSeed();
  AttestationDoc rogue = *SignAttestation(rogue_seed.view(), f.measurement, f.signer_pub, kNow);
  rogue.launcher_key = f.policy.launcher_keys[0];
  expect_denied(VerifyAttestation(rogue, f.policy, kNow), "attestation signature invalid");

  // Age: exactly the maximum is accepted, one millisecond more is not.
  EXPECT_TRUE(VerifyAttestation(doc, f.policy, kNow + 600'000).ok());
  expect_denied(VerifyAttestation(doc, f.policy, kNow + 600'001), "attestation expired");
  EXPECT_TRUE(VerifyAttestation(doc, f.policy, kNow - 30'000).ok());
  expect_denied(VerifyAttestation(doc, f.policy, kNow - 30'001), "attestation timestamp in the future");
  KeyPolicy strict_age = f.policy;
  strict_age.max_attestation_age_s = 1;
  expect_denied(VerifyAttestation(doc, strict_age, kNow + 1'001), "attestation expired");
  KeyPolicy absurd_age = f.policy;
  absurd_age.max_attestation_age_s = INT64_MAX;  // a hand-built policy must not overflow
  EXPECT_TRUE(VerifyAttestation(doc, absurd_age, INT64_MAX).ok());
  expect_denied(VerifyAttestation(doc, f.policy, INT64_MIN), "attestation timestamp in the future");

  KeyPolicy other_measurement = f.policy;
  other_measurement.signer_measurements = {crypto::Sha384(AsBytes("another image"))};
  expect_denied(VerifyAttestation(doc, other_measurement, kNow), "measurement not allowed by policy");
  KeyPolicy none = f.policy;
  none.signer_measurements.clear();
  expect_denied(VerifyAttestation(doc, none, kNow), "measurement not allowed by policy");
}

TEST(Attestation, DebugMeasurementOnlyWithAllowDebug) {
  AttestationFixture f;
  const ByteArray<48> zero{};
  const AttestationDoc debug = *SignAttestation(f.launcher_seed.view(), zero, f.signer_pub, kNow);
  auto s = VerifyAttestation(debug, f.policy, kNow);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.message(), "debug measurement refused by policy");
  // Listing the zero measurement does not stand in for allow_debug.
  KeyPolicy listed = f.policy;
  listed.signer_measurements.push_back(zero);
  EXPECT_EQ(VerifyAttestation(debug, listed, kNow).message(), "debug measurement refused by policy");
  KeyPolicy allow = f.policy;
  allow.allow_debug = true;
  EXPECT_TRUE(VerifyAttestation(debug, allow, kNow).ok());
  // allow_debug does not open the door to other measurements.
  AttestationDoc other = *SignAttestation(f.launcher_seed.view(), crypto::Sha384(AsBytes("x")), f.signer_pub, kNow);
  EXPECT_EQ(VerifyAttestation(other, allow, kNow).message(), "measurement not allowed by policy");
}

TEST(Attestation, DecoderRefusesTruncatedExtendedAndOtherVersions) {
  AttestationFixture f;
  const Bytes enc = EncodeAttestation(f.Sign());
  for (size_t n = 0; n < enc.size(); ++n) {
    EXPECT_EQ(DecodeAttestation(ByteSpan(enc).first(n)).status().code(), StatusCode::kInvalidArgument) << n;
  }
  Bytes longer = enc;
  longer.push_back(0);
  EXPECT_EQ(DecodeAttestation(longer).status().code(), StatusCode::kInvalidArgument);
  for (uint8_t v : {uint8_t{0}, uint8_t{2}, uint8_t{0xff}}) {
    Bytes bad = enc;
    bad[0] = v;
    EXPECT_EQ(DecodeAttestation(bad).status().code(), StatusCode::kInvalidArgument);
  }
  Bytes negative = enc;
  negative[1 + 48 + 32 + 16] |= 0x80;
  EXPECT_EQ(DecodeAttestation(negative).status().code(), StatusCode::kInvalidArgument);
}

TEST(Attestation, NoTamperedByteIsEverAccepted) {
  AttestationFixture f;
  KeyPolicy lenient = f.policy;
  lenient.allow_debug = true;
  const Bytes enc = EncodeAttestation(f.Sign());
  ASSERT_TRUE(VerifyAttestation(*DecodeAttestation(enc), lenient, kNow).ok());
  for (size_t i = 0; i < enc.size(); ++i) {
    for (uint8_t flip : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xff}}) {
      Bytes bad = enc;
      bad[i] = static_cast<uint8_t>(bad[i] ^ flip);
      auto doc = DecodeAttestation(bad);
      if (!doc.ok()) {
        EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
        continue;
      }
      const Status s = VerifyAttestation(*doc, lenient, kNow);
      EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << "byte " << i << " flip " << int{flip};
    }
  }
}

}  // namespace
}  // namespace vp::kms
