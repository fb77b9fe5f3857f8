// bundle.zip (docs/bundle_format.md section 3): the five files round-trip into the same
// bytes every time, and the reader refuses every archive that is not exactly a bundle —
// garbage, truncations, extra, missing or repeated names, directories, encryption, other
// compression, zip bombs by declared and by actual size — without crashing on any of them.
#include "vp/ballot/bundle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <zip.h>

#include <cstdlib>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace vp::ballot {
namespace {

using ::testing::HasSubstr;

BundleFiles SampleFiles() {
  BundleFiles f;
  for (int i = 0; i < 3000; ++i) f.proof.push_back(static_cast<uint8_t>(i * 7919 >> 3));
  f.public_input = "{\"counted\":1}";
  f.manifest = "{\"formatVersion\":1}";
  f.close_statement = "{\"treeSize\":64}";
  f.journal = "{\"tally\":{\"A\":64}}";
  return f;
}

struct ZipEntry {
  std::string name;
  Bytes data;
  int32_t method = ZIP_CM_DEFLATE;
  uint16_t encryption = ZIP_EM_NONE;
  bool directory = false;
};

// An archive built with libzip directly, so a test can make what WriteBundleZip never would.
// Entries whose method or encryption this libzip cannot write come back as nullopt.
std::optional<Bytes> BuildZip(const std::vector<ZipEntry>& entries) {
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* out = zip_source_buffer_create(nullptr, 0, 0, &error);
  zip_t* za = zip_open_from_source(out, ZIP_TRUNCATE, &error);
  zip_error_fini(&error);
  if (za == nullptr) return std::nullopt;
  zip_source_keep(out);
  bool ok = true;
  for (const ZipEntry& e : entries) {
    if (e.directory) {
      ok = ok && zip_dir_add(za, e.name.c_str(), ZIP_FL_ENC_UTF_8) >= 0;
      continue;
    }
    zip_source_t* src = zip_source_buffer(za, e.data.data(), e.data.size(), 0);
    const zip_int64_t i = zip_file_add(za, e.name.c_str(), src, ZIP_FL_ENC_UTF_8);
    if (i < 0) {
      zip_source_free(src);
      ok = false;
      continue;
    }
    const auto index = static_cast<zip_uint64_t>(i);
    ok = ok && zip_set_file_compression(za, index, e.method, 0) == 0;
    if (e.encryption != ZIP_EM_NONE) {
      ok = ok && zip_file_set_encryption(za, index, e.encryption, "secret") == 0;
    }
  }
  if (!ok || zip_close(za) != 0) {
    zip_discard(za);
    zip_source_free(out);
    return std::nullopt;
  }
  zip_stat_t st;
  zip_stat_init(&st);
  Bytes bytes;
  if (zip_source_stat(out, &st) == 0 && zip_source_open(out) == 0) {
    bytes.resize(static_cast<size_t>(st.size));
    const zip_int64_t got = zip_source_read(out, bytes.data(), bytes.size());
    zip_source_close(out);
    if (got != static_cast<zip_int64_t>(bytes.size())) bytes.clear();
  }
  zip_source_free(out);
  if (bytes.empty()) return std::nullopt;
  return bytes;
}

std::vector<ZipEntry> EntriesOf(const BundleFiles& f) {
  auto b = [](std::string_view s) { return Bytes(s.begin(), s.end()); };
  return {{"proof.bin", f.proof},
          {"public-input.json", b(f.public_input)},
          {"election-manifest.json", b(f.manifest)},
          {"close-statement.json", b(f.close_statement)},
          {"journal.json", b(f.journal)}};
}

// Replaces every occurrence of `from` by `to` (same length) in the archive: a name sits in
// its local header and its central-directory record.
void ReplaceAll(Bytes& zip, std::string_view from, std::string_view to) {
  ASSERT_EQ(from.size(), to.size());
  for (size_t i = 0; i + from.size() <= zip.size(); ++i) {
    if (std::equal(from.begin(), from.end(), zip.begin() + static_cast<long>(i))) {
      std::copy(to.begin(), to.end(), zip.begin() + static_cast<long>(i));
    }
  }
}

uint32_t Le32(const Bytes& b, size_t at) {
  return uint32_t{b[at]} | uint32_t{b[at + 1]} << 8 | uint32_t{b[at + 2]} << 16 |
         uint32_t{b[at + 3]} << 24;
}
void PutLe32(Bytes& b, size_t at, uint32_t v) {
  for (size_t i = 0; i < 4; ++i) b[at + i] = static_cast<uint8_t>(v >> (8 * i));
}

// Sets the declared uncompressed size of `name` in its local header (offset 22) and its
// central-directory record (offset 24), as a forger would (APPNOTE 4.3.7 and 4.3.12).
void SetDeclaredSize(Bytes& zip, std::string_view name, uint32_t size) {
  for (size_t i = 0; i + 46 < zip.size(); ++i) {
    const uint32_t sig = Le32(zip, i);
    if (sig == 0x04034b50 && i + 30 + name.size() <= zip.size() &&
        std::string_view(reinterpret_cast<const char*>(zip.data() + i + 30), name.size()) == name) {
      PutLe32(zip, i + 22, size);
    }
    if (sig == 0x02014b50 && i + 46 + name.size() <= zip.size() &&
        std::string_view(reinterpret_cast<const char*>(zip.data() + i + 46), name.size()) == name) {
      PutLe32(zip, i + 24, size);
    }
  }
}

std::string ReadError(ByteSpan zip) {
  const StatusOr<BundleFiles> f = ReadBundleZip(zip);
  return f.ok() ? std::string("(read fine)") : f.status().message();
}

TEST(BundleZipTest, RoundTripsAndIsDeterministic) {
  const BundleFiles f = SampleFiles();
  const StatusOr<Bytes> zip = WriteBundleZip(f);
  ASSERT_TRUE(zip.ok()) << zip.status().message();
  const StatusOr<BundleFiles> back = ReadBundleZip(*zip);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, f);
  const StatusOr<Bytes> again = WriteBundleZip(f);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *zip);  // no clock, no host in the archive
}

TEST(BundleZipTest, ReadsAnyEntryOrderAndEmptyFiles) {
  BundleFiles f = SampleFiles();
  f.journal.clear();
  std::vector<ZipEntry> entries = EntriesOf(f);
  std::reverse(entries.begin(), entries.end());
  entries[0].method = ZIP_CM_STORE;
  const std::optional<Bytes> zip = BuildZip(entries);
  ASSERT_TRUE(zip.has_value());
  const StatusOr<BundleFiles> back = ReadBundleZip(*zip);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, f);
}

TEST(BundleZipTest, WriterRefusesOversizedFiles) {
  BundleFiles f = SampleFiles();
  f.journal.assign(kMaxJsonFileBytes + 1, ' ');
  const StatusOr<Bytes> zip = WriteBundleZip(f);
  ASSERT_FALSE(zip.ok());
  EXPECT_THAT(zip.status().message(), HasSubstr("journal.json is larger than its cap"));
}

TEST(BundleZipTest, RefusesWhatIsNotAZip) {
  EXPECT_THAT(ReadError({}), HasSubstr("empty file"));
  const std::string garbage = "this is not a zip archive, just some text of some length....";
  EXPECT_THAT(ReadError(AsBytes(garbage)), HasSubstr("not a readable zip archive"));
  const Bytes zeros(4096, 0);
  EXPECT_THAT(ReadError(zeros), HasSubstr("not a readable zip archive"));
}

TEST(BundleZipTest, RefusesEveryTruncation) {
  const Bytes zip = *WriteBundleZip(SampleFiles());
  for (size_t len = 0; len < zip.size(); ++len) {
    const StatusOr<BundleFiles> f = ReadBundleZip(ByteSpan(zip).first(len));
    EXPECT_FALSE(f.ok()) << "prefix of " << len << " bytes was read";
  }
}

TEST(BundleZipTest, RefusesOtherSetsOfNames) {
  const BundleFiles f = SampleFiles();
  std::vector<ZipEntry> extra = EntriesOf(f);
  extra.push_back({"input.json", Bytes{'{', '}'}});
  EXPECT_THAT(ReadError(*BuildZip(extra)), HasSubstr("holds 6 entries; a bundle holds exactly 5"));

  std::vector<ZipEntry> missing = EntriesOf(f);
  missing.pop_back();
  EXPECT_THAT(ReadError(*BuildZip(missing)), HasSubstr("journal.json is missing"));

  for (const std::string name : {"./proof.bin", "PROOF.BIN", "proof.bin/", "sub/journal.json"}) {
    std::vector<ZipEntry> renamed = EntriesOf(f);
    renamed[0].name = name;
    const std::optional<Bytes> zip = BuildZip(renamed);
    ASSERT_TRUE(zip.has_value()) << name;
    EXPECT_THAT(ReadError(*zip), HasSubstr("unexpected entry")) << name;
  }

  std::vector<ZipEntry> with_dir = EntriesOf(f);
  with_dir[4] = ZipEntry{"journal.json/", {}, ZIP_CM_STORE, ZIP_EM_NONE, /*directory=*/true};
  EXPECT_THAT(ReadError(*BuildZip(with_dir)), HasSubstr("unexpected entry \"journal.json/\""));
}

TEST(BundleZipTest, RefusesARepeatedName) {
  // libzip will not write two equal names; write two others and rename one in place.
  std::vector<ZipEntry> entries = EntriesOf(SampleFiles());
  entries[3] = ZipEntry{"journal.jsoX", Bytes{'[', ']'}};  // in place of close-statement.json
  Bytes zip = *BuildZip(entries);
  ReplaceAll(zip, "journal.jsoX", "journal.json");
  const std::string why = ReadError(zip);
  EXPECT_TRUE(why.find("appears twice") != std::string::npos ||
              why.find("not a readable zip") != std::string::npos)
      << why;
}

TEST(BundleZipTest, RefusesEncryptionAndOtherCompression) {
  std::vector<ZipEntry> enc = EntriesOf(SampleFiles());
  enc[1].encryption = ZIP_EM_TRAD_PKWARE;
  if (std::optional<Bytes> zip = BuildZip(enc)) {
    EXPECT_THAT(ReadError(*zip), HasSubstr("is encrypted"));
  }
  enc[1].encryption = ZIP_EM_AES_256;
  if (std::optional<Bytes> zip = BuildZip(enc)) {
    EXPECT_THAT(ReadError(*zip), HasSubstr("is encrypted"));
  }
  std::vector<ZipEntry> other = EntriesOf(SampleFiles());
  for (int32_t method : {ZIP_CM_BZIP2, ZIP_CM_XZ}) {
    if (zip_compression_method_supported(method, 1) == 0) continue;
    other[2].method = method;
    if (std::optional<Bytes> zip = BuildZip(other)) {
      EXPECT_THAT(ReadError(*zip), HasSubstr("uses compression method"));
    }
  }
}

TEST(BundleZipTest, RefusesZipBombsBeforeInflating) {
  // A real bomb: 17 MiB of zeros deflate to a few KiB, but declare more than the JSON cap.
  std::vector<ZipEntry> bomb = EntriesOf(SampleFiles());
  bomb[4].data.assign(kMaxJsonFileBytes + 1, '0');
  const std::optional<Bytes> zip = BuildZip(bomb);
  ASSERT_TRUE(zip.has_value());
  EXPECT_LT(zip->size(), size_t{1} << 20);
  EXPECT_THAT(ReadError(*zip), HasSubstr("declares 16777217 bytes, more than its cap"));

  // A forged declared size of 4 GiB - 1 in both headers.
  Bytes forged = *WriteBundleZip(SampleFiles());
  SetDeclaredSize(forged, "journal.json", 0xffffffffu);
  EXPECT_FALSE(ReadBundleZip(forged).ok());

  // A lie the other way: 1 MiB of zeros declared as 100 bytes is never read past 101.
  std::vector<ZipEntry> liar = EntriesOf(SampleFiles());
  liar[3].data.assign(size_t{1} << 20, '0');
  Bytes small = *BuildZip(liar);
  SetDeclaredSize(small, "close-statement.json", 100);
  EXPECT_FALSE(ReadBundleZip(small).ok());
}

TEST(BundleZipTest, RefusesAnArchiveOverTheCap) {
  const Bytes huge(kMaxBundleBytes + 1, 0);
  const StatusOr<BundleFiles> f = ReadBundleZip(huge);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.status().code(), StatusCode::kResourceExhausted);
}

TEST(BundleZipTest, RefusesAnEntryWithABadChecksum) {
  // Stored entries keep their bytes in the clear: flip one and the CRC-32 must catch it.
  std::vector<ZipEntry> stored = EntriesOf(SampleFiles());
  for (ZipEntry& e : stored) e.method = ZIP_CM_STORE;
  Bytes zip = *BuildZip(stored);
  ReplaceAll(zip, "{\"tally\":{\"A\":64}}", "{\"tally\":{\"A\":65}}");
  EXPECT_FALSE(ReadBundleZip(zip).ok());
}

uint64_t TestSeed() {
  if (const char* s = std::getenv("VP_TEST_SEED")) return std::strtoull(s, nullptr, 10);
  return 20240607;
}

TEST(BundleZipTest, RandomCorruptionNeverCrashes) {
  const uint64_t seed = TestSeed();
  std::cout << "seed " << seed << " (override with VP_TEST_SEED)\n";
  std::mt19937_64 rng(seed);
  const Bytes zip = *WriteBundleZip(SampleFiles());
  int read_fine = 0;
  for (int round = 0; round < 2000; ++round) {
    Bytes bad = zip;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < flips; ++i) {
      bad[static_cast<size_t>(rng() % bad.size())] ^= static_cast<uint8_t>(1 + rng() % 255);
    }
    const StatusOr<BundleFiles> f = ReadBundleZip(bad);
    if (f.ok()) ++read_fine;  // a flip in an ignored header field (a date, say)
  }
  std::cout << read_fine << " of 2000 corrupted archives still read\n";
}

TEST(BundleZipTest, VerifyingAnUnreadableArchiveReportsTheReason) {
  const VerificationReport r = VerifyBundleZip(AsBytes(std::string_view("PK\x03\x04 nope")),
                                               std::nullopt);
  EXPECT_FALSE(r.valid);
  EXPECT_THAT(r.error, HasSubstr("not a readable zip archive"));
  EXPECT_TRUE(r.checks.empty());
  const nlohmann::json j = ReportToJson(r);
  EXPECT_EQ(j["valid"], false);
  EXPECT_TRUE(j["tally"].is_null());
}

}  // namespace
}  // namespace vp::ballot
