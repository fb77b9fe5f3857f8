// bundle.zip through libzip, from and to memory buffers (docs/bundle_format.md, section 3).
#include "vp/ballot/bundle.h"

#include <zip.h>

#include <array>
#include <memory>
#include <set>
#include <string_view>

#include "vp/crypto/ed25519.h"

namespace vp::ballot {
namespace {

struct Entry {
  std::string_view name;
  size_t cap;
  bool deflate;
};

constexpr std::array<Entry, 5> kEntries = {{
    {kProofFileName, kMaxProofFileBytes, false},
    {kPublicInputFileName, kMaxJsonFileBytes, true},
    {kManifestFileName, kMaxJsonFileBytes, true},
    {kCloseStatementFileName, kMaxJsonFileBytes, true},
    {kJournalFileName, kMaxJsonFileBytes, true},
}};

const Entry* FindEntry(std::string_view name) {
  for (const Entry& e : kEntries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

ByteSpan FileBytes(const BundleFiles& f, std::string_view name) {
  if (name == kProofFileName) return f.proof;
  if (name == kPublicInputFileName) return AsBytes(f.public_input);
  if (name == kManifestFileName) return AsBytes(f.manifest);
  if (name == kCloseStatementFileName) return AsBytes(f.close_statement);
  return AsBytes(f.journal);
}

void StoreFile(BundleFiles& f, std::string_view name, Bytes bytes) {
  auto text = [&] { return std::string(bytes.begin(), bytes.end()); };
  if (name == kProofFileName) {
    f.proof = std::move(bytes);
  } else if (name == kPublicInputFileName) {
    f.public_input = text();
  } else if (name == kManifestFileName) {
    f.manifest = text();
  } else if (name == kCloseStatementFileName) {
    f.close_statement = text();
  } else {
    f.journal = text();
  }
}

std::string ZipErrorText(zip_error_t* error) {
  const char* s = zip_error_strerror(error);
  return s == nullptr ? "unknown libzip error" : s;
}

struct ZipDiscard {
  void operator()(zip_t* za) const { zip_discard(za); }
};
struct ZipFileClose {
  void operator()(zip_file_t* zf) const { zip_fclose(zf); }
};
struct SourceFree {
  void operator()(zip_source_t* src) const { zip_source_free(src); }
};

// The DOS date of 1980-01-01 (year - 1980 in bits 9.., month in 5..8, day in 0..4), time 0.
constexpr zip_uint16_t kDosDate1980 = (0u << 9) | (1u << 5) | 1u;
constexpr zip_uint32_t kUnixRegularFile0644 = 0100644u << 16;

}  // namespace

StatusOr<Bytes> WriteBundleZip(const BundleFiles& files) {
  for (const Entry& e : kEntries) {
    if (FileBytes(files, e.name).size() > e.cap) {
      return InvalidArgumentError("bundle: " + std::string(e.name) + " is larger than its cap of " +
                                  std::to_string(e.cap) + " bytes");
    }
  }
  zip_error_t error;
  zip_error_init(&error);
  std::unique_ptr<zip_source_t, SourceFree> out(zip_source_buffer_create(nullptr, 0, 0, &error));
  if (!out) {
    const std::string why = ZipErrorText(&error);
    zip_error_fini(&error);
    return InternalError("bundle: cannot create a zip buffer: " + why);
  }
  std::unique_ptr<zip_t, ZipDiscard> za(zip_open_from_source(out.get(), ZIP_TRUNCATE, &error));
  if (!za) {
    const std::string why = ZipErrorText(&error);
    zip_error_fini(&error);
    return InternalError("bundle: cannot open a zip for writing: " + why);
  }
  zip_error_fini(&error);
  // zip_close frees the source it was opened on; keep ours to read the archive back.
  zip_source_keep(out.get());
  for (const Entry& e : kEntries) {
    const ByteSpan data = FileBytes(files, e.name);
    zip_source_t* src = zip_source_buffer(za.get(), data.data(), data.size(), 0);
    if (src == nullptr) return InternalError("bundle: zip_source_buffer failed");
    const zip_int64_t index =
        zip_file_add(za.get(), std::string(e.name).c_str(), src, ZIP_FL_ENC_UTF_8);
    if (index < 0) {
      zip_source_free(src);
      return InternalError("bundle: cannot add " + std::string(e.name) + ": " +
                           zip_strerror(za.get()));
    }
    const auto i = static_cast<zip_uint64_t>(index);
    if (zip_set_file_compression(za.get(), i, e.deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 9) != 0 ||
        zip_file_set_dostime(za.get(), i, 0, kDosDate1980, 0) != 0 ||
        zip_file_set_external_attributes(za.get(), i, 0, ZIP_OPSYS_UNIX, kUnixRegularFile0644) !=
            0) {
      return InternalError("bundle: cannot set the attributes of " + std::string(e.name) + ": " +
                           zip_strerror(za.get()));
    }
  }
  if (zip_close(za.get()) != 0) {
    return InternalError(std::string("bundle: cannot write the zip: ") + zip_strerror(za.get()));
  }
  (void)za.release();  // zip_close freed it

  zip_stat_t st;
  zip_stat_init(&st);
  if (zip_source_stat(out.get(), &st) != 0 || (st.valid & ZIP_STAT_SIZE) == 0 ||
      zip_source_open(out.get()) != 0) {
    return InternalError("bundle: cannot read the written zip back");
  }
  Bytes zip(static_cast<size_t>(st.size));
  size_t have = 0;
  while (have < zip.size()) {
    const zip_int64_t got = zip_source_read(out.get(), zip.data() + have, zip.size() - have);
    if (got <= 0) break;
    have += static_cast<size_t>(got);
  }
  zip_source_close(out.get());
  if (have != zip.size()) return InternalError("bundle: short read of the written zip");
  return zip;
}

StatusOr<BundleFiles> ReadBundleZip(ByteSpan zip) {
  if (zip.size() > kMaxBundleBytes) {
    return ResourceExhaustedError("bundle: the archive is " + std::to_string(zip.size()) +
                                  " bytes, more than the cap of " +
                                  std::to_string(kMaxBundleBytes));
  }
  if (zip.empty()) return InvalidArgumentError("bundle: empty file, not a zip archive");
  zip_error_t error;
  zip_error_init(&error);
  zip_source_t* src = zip_source_buffer_create(zip.data(), zip.size(), 0, &error);
  if (src == nullptr) {
    const std::string why = ZipErrorText(&error);
    zip_error_fini(&error);
    return InternalError("bundle: cannot wrap the archive: " + why);
  }
  std::unique_ptr<zip_t, ZipDiscard> za(
      zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &error));
  if (!za) {
    zip_source_free(src);  // still ours when the open failed
    const std::string why = ZipErrorText(&error);
    zip_error_fini(&error);
    return InvalidArgumentError("bundle: not a readable zip archive: " + why);
  }
  zip_error_fini(&error);

  const zip_int64_t count = zip_get_num_entries(za.get(), 0);
  if (count < 0) return InvalidArgumentError("bundle: cannot count the archive's entries");
  if (static_cast<size_t>(count) > kEntries.size()) {
    return InvalidArgumentError("bundle: the archive holds " + std::to_string(count) +
                                " entries; a bundle holds exactly " +
                                std::to_string(kEntries.size()));
  }
  // Every entry is judged by its central-directory record before a byte is inflated.
  std::set<std::string> seen;
  std::array<zip_uint64_t, kEntries.size()> declared{};
  std::array<std::string, kEntries.size()> names;
  zip_uint64_t total = 0;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat_index(za.get(), i, ZIP_FL_ENC_RAW, &st) != 0 || st.name == nullptr) {
      return InvalidArgumentError("bundle: entry " + std::to_string(i) + " is unreadable: " +
                                  zip_strerror(za.get()));
    }
    const std::string name = st.name;
    const Entry* entry = FindEntry(name);
    const std::string quoted = "\"" + name.substr(0, 64) + "\"";
    if (entry == nullptr) {
      return InvalidArgumentError("bundle: unexpected entry " + quoted +
                                  " (a bundle holds exactly proof.bin, public-input.json, "
                                  "election-manifest.json, close-statement.json, journal.json)");
    }
    if (!seen.insert(name).second) {
      return InvalidArgumentError("bundle: entry " + quoted + " appears twice");
    }
    if ((st.valid & ZIP_STAT_SIZE) == 0 || (st.valid & ZIP_STAT_COMP_METHOD) == 0) {
      return InvalidArgumentError("bundle: entry " + quoted + " has no size or method");
    }
    if ((st.valid & ZIP_STAT_ENCRYPTION_METHOD) != 0 && st.encryption_method != ZIP_EM_NONE) {
      return InvalidArgumentError("bundle: entry " + quoted + " is encrypted");
    }
    if (st.comp_method != ZIP_CM_STORE && st.comp_method != ZIP_CM_DEFLATE) {
      return InvalidArgumentError("bundle: entry " + quoted + " uses compression method " +
                                  std::to_string(st.comp_method) + " (only store and deflate)");
    }
    if (st.size > entry->cap) {
      return InvalidArgumentError("bundle: entry " + quoted + " declares " +
                                  std::to_string(st.size) + " bytes, more than its cap of " +
                                  std::to_string(entry->cap));
    }
    total += st.size;
    if (total > kMaxBundleBytes) {
      return InvalidArgumentError("bundle: the entries declare more than " +
                                  std::to_string(kMaxBundleBytes) + " bytes in all");
    }
    declared[i] = st.size;
    names[i] = name;
  }
  for (const Entry& e : kEntries) {
    if (seen.count(std::string(e.name)) == 0) {
      return InvalidArgumentError("bundle: " + std::string(e.name) + " is missing");
    }
  }

  BundleFiles files;
  for (zip_uint64_t i = 0; i < static_cast<zip_uint64_t>(count); ++i) {
    std::unique_ptr<zip_file_t, ZipFileClose> zf(zip_fopen_index(za.get(), i, 0));
    if (!zf) {
      return InvalidArgumentError("bundle: cannot open " + names[i] + ": " +
                                  zip_strerror(za.get()));
    }
    // Read one byte past the declared size: more data than declared is refused, and the
    // buffer never grows past the cap.
    const auto want = static_cast<size_t>(declared[i]);
    Bytes data(want + 1);
    size_t have = 0;
    while (have < data.size()) {
      const zip_int64_t n = zip_fread(zf.get(), data.data() + have, data.size() - have);
      if (n < 0) {
        return InvalidArgumentError("bundle: cannot read " + names[i] + ": " +
                                    zip_file_strerror(zf.get()));
      }
      if (n == 0) break;
      have += static_cast<size_t>(n);
    }
    if (have != want) {
      return InvalidArgumentError("bundle: " + names[i] + " holds " +
                                  (have > want ? "more" : "fewer") +
                                  " bytes than its declared " + std::to_string(want));
    }
    data.resize(want);
    StoreFile(files, names[i], std::move(data));
  }
  return files;
}

VerificationReport VerifyBundleZip(ByteSpan zip, const std::optional<std::string>& receipt_json) {
  StatusOr<BundleFiles> files = ReadBundleZip(zip);
  if (!files.ok()) return UnreadableBundleReport(files.status().message());
  return VerifyBundleFiles(*files, receipt_json,
                           [](ByteSpan public_key, ByteSpan message, ByteSpan signature) {
                             return crypto::Ed25519Verify(public_key, message, signature);
                           });
}

}  // namespace vp::ballot
