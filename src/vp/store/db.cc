// Value and Rows accessors, and OpenDb's choice of backend by URL.
#include "vp/store/db.h"

#include <chrono>
#include <filesystem>
#include <system_error>

#include "vp/store/internal/backends.h"

namespace vp::store {
namespace {

const std::string& EmptyText() {
  static const std::string* empty = new std::string();
  return *empty;
}
const Bytes& EmptyBlob() {
  static const Bytes* empty = new Bytes();
  return *empty;
}
const Value& NullValue() {
  static const Value* null = new Value();
  return *null;
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

const std::string& Value::as_text() const { return is_text() ? std::get<std::string>(v_) : EmptyText(); }
const Bytes& Value::as_blob() const { return is_blob() ? std::get<Bytes>(v_) : EmptyBlob(); }

const Value& Rows::At(size_t row, size_t col) const {
  if (row >= rows_.size() || col >= rows_[row].size()) return NullValue();
  return rows_[row][col];
}

StatusOr<std::unique_ptr<Db>> OpenDb(std::string_view url, const DbOptions& options) {
  if (options.pool_size == 0) return InvalidArgumentError("store: pool_size must be at least 1");
  std::unique_ptr<Db> db;
  if (StartsWith(url, "postgres://") || StartsWith(url, "postgresql://")) {
    ASSIGN_OR_RETURN(db, internal::OpenPostgres(std::string(url), options));
  } else {
    std::string_view path = StartsWith(url, "sqlite:") ? url.substr(7) : url;
    if (path.empty()) return InvalidArgumentError("store: empty database path");
    if (path != ":memory:") {
      // The data directory may not exist yet on a first start.
      std::error_code ec;
      auto parent = std::filesystem::path(path).parent_path();
      if (!parent.empty()) std::filesystem::create_directories(parent, ec);
      if (ec) return UnavailableError("store: cannot create " + parent.string() + ": " + ec.message());
    }
    ASSIGN_OR_RETURN(db, internal::OpenSqlite(std::string(path), options));
  }
  RETURN_IF_ERROR(db->Migrate());
  return db;
}

namespace internal {
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}
}  // namespace internal

}  // namespace vp::store
