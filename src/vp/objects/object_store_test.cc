// The object store on both backends: round trips across chunk boundaries, replacement,
// expiry and sweeping, sealed objects (wrong key, moved or altered chunks refused), corrupt
// content detected, and names that must be refused.
#include "vp/objects/object_store.h"

#include <gtest/gtest.h>

#include "vp/crypto/random.h"
#include "vp/store/store_test_util.h"

namespace vp::objects {
namespace {

using store::StoreTest;
using store::TxMode;
using store::Value;
using store::Dialect;

Bytes Pattern(size_t n, uint8_t salt) {
  Bytes b(n);
  for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 31 + salt);
  return b;
}

class ObjectStoreTest : public StoreTest {};

TEST_P(ObjectStoreTest, RoundTripsAcrossChunkBoundaries) {
  ObjectStore objects(*db_, 1000);
  for (const size_t n : {size_t{0}, size_t{1}, size_t{999}, size_t{1000}, size_t{1001}, size_t{4500}}) {
    const Bytes data = Pattern(n, static_cast<uint8_t>(n));
    const std::string key = "a/" + std::to_string(n);
    VP_ASSERT_OK(objects.Put("bundles", key, data, {.content_type = "application/zip"}));
    auto back = objects.Get("bundles", key);
    VP_ASSERT_OK(back);
    EXPECT_EQ(*back, data) << n;
    auto info = objects.Stat("bundles", key);
    VP_ASSERT_OK(info);
    EXPECT_EQ(info->size, n);
    EXPECT_EQ(info->content_type, "application/zip");
    EXPECT_FALSE(info->sealed);
  }
  auto list = objects.List("bundles", "a/");
  VP_ASSERT_OK(list);
  EXPECT_EQ(list->size(), 6u);
  EXPECT_EQ(objects.Get("bundles", "missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(objects.Get("other", "a/1").status().code(), StatusCode::kNotFound);
}

TEST_P(ObjectStoreTest, PutReplacesAndDeleteRemoves) {
  ObjectStore objects(*db_, 100);
  VP_ASSERT_OK(objects.Put("b", "k", Pattern(450, 1)));
  VP_ASSERT_OK(objects.Put("b", "k", Pattern(120, 2)));  // fewer chunks: none may linger
  auto back = objects.Get("b", "k");
  VP_ASSERT_OK(back);
  EXPECT_EQ(*back, Pattern(120, 2));
  VP_ASSERT_OK(objects.Delete("b", "k"));
  EXPECT_EQ(objects.Get("b", "k").status().code(), StatusCode::kNotFound);
  VP_EXPECT_OK(objects.Delete("b", "k"));
  VP_ASSERT_OK(db_->Transact(TxMode::kRead, [&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto rows, c.Query("SELECT COUNT(*) FROM object_chunks"));
    EXPECT_EQ(rows.Int(0, 0), 0);
    return OkStatus();
  }));
}

TEST_P(ObjectStoreTest, ExpiredObjectsAreGoneAndSwept) {
  ObjectStore objects(*db_);
  VP_ASSERT_OK(objects.Put("b", "old", Pattern(10, 1), {.expires_ms = 1000}));
  VP_ASSERT_OK(objects.Put("b", "new", Pattern(10, 2), {.expires_ms = int64_t{1} << 50}));
  VP_ASSERT_OK(objects.Put("b", "kept", Pattern(10, 3)));
  EXPECT_EQ(objects.Get("b", "old").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(objects.Stat("b", "old").status().code(), StatusCode::kNotFound);
  auto list = objects.List("b", "");
  VP_ASSERT_OK(list);
  EXPECT_EQ(list->size(), 2u);
  auto swept = objects.SweepExpired(2000);
  VP_ASSERT_OK(swept);
  EXPECT_EQ(*swept, 1u);
  VP_EXPECT_OK(objects.Get("b", "new").status());
  VP_EXPECT_OK(objects.Get("b", "kept").status());
}

TEST_P(ObjectStoreTest, SealedObjectsNeedTheirKeyAndStayInPlace) {
  ObjectStore objects(*db_, 64);
  auto key = crypto::RandomSecret(32);
  auto other = crypto::RandomSecret(32);
  VP_ASSERT_OK(key);
  VP_ASSERT_OK(other);
  const Bytes secret = Pattern(200, 7);
  VP_ASSERT_OK(objects.Put("private", "e1/input.json", secret, {.seal_key = &*key}));
  VP_ASSERT_OK(objects.Put("private", "e2/input.json", Pattern(200, 8), {.seal_key = &*key}));
  auto back = objects.Get("private", "e1/input.json", &*key);
  VP_ASSERT_OK(back);
  EXPECT_EQ(*back, secret);
  EXPECT_EQ(objects.Get("private", "e1/input.json").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(objects.Get("private", "e1/input.json", &*other).status().code(), StatusCode::kUnauthenticated);
  // The plaintext is nowhere in the table.
  VP_ASSERT_OK(db_->Transact(TxMode::kRead, [&](store::Conn& c) -> Status {
    ASSIGN_OR_RETURN(auto rows, c.Query("SELECT data FROM object_chunks WHERE bucket = 'private'"));
    for (size_t i = 0; i < rows.size(); ++i) {
      const Bytes& d = rows.Blob(i, 0);
      EXPECT_EQ(std::search(d.begin(), d.end(), secret.begin(), secret.begin() + 16), d.end());
    }
    return OkStatus();
  }));
  // Chunks swapped between positions, or moved to another object, fail to open.
  VP_ASSERT_OK(db_->Transact(TxMode::kWrite, [&](store::Conn& c) -> Status {
    RETURN_IF_ERROR(c.Exec("UPDATE object_chunks SET seq = 99 WHERE object_key = 'e1/input.json' AND seq = 0"));
    RETURN_IF_ERROR(c.Exec("UPDATE object_chunks SET seq = 0 WHERE object_key = 'e1/input.json' AND seq = 1"));
    return c.Exec("UPDATE object_chunks SET seq = 1 WHERE object_key = 'e1/input.json' AND seq = 99");
  }));
  EXPECT_EQ(objects.Get("private", "e1/input.json", &*key).status().code(), StatusCode::kUnauthenticated);
  VP_ASSERT_OK(db_->Transact(TxMode::kWrite, [&](store::Conn& c) -> Status {
    RETURN_IF_ERROR(c.Exec("DELETE FROM object_chunks WHERE object_key = 'e1/input.json'"));
    return c.Exec("INSERT INTO object_chunks (bucket, object_key, seq, data) SELECT bucket, "
                  "'e1/input.json', seq, data FROM object_chunks WHERE object_key = 'e2/input.json'");
  }));
  EXPECT_EQ(objects.Get("private", "e1/input.json", &*key).status().code(), StatusCode::kUnauthenticated);
  Bytes short_key(16);
  SecureBuffer bad(16);
  EXPECT_EQ(objects.Put("private", "x", secret, {.seal_key = &bad}).code(), StatusCode::kInvalidArgument);
}

TEST_P(ObjectStoreTest, CorruptContentIsDetected) {
  ObjectStore objects(*db_, 64);
  VP_ASSERT_OK(objects.Put("b", "k", Pattern(200, 1)));
  VP_ASSERT_OK(db_->Transact(TxMode::kWrite, [&](store::Conn& c) -> Status {
    return c.Exec("UPDATE object_chunks SET data = $1 WHERE object_key = 'k' AND seq = 1",
                  {Value(Pattern(64, 9))});
  }));
  auto r = objects.Get("b", "k");
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  VP_ASSERT_OK(db_->Transact(TxMode::kWrite, [&](store::Conn& c) -> Status {
    return c.Exec("DELETE FROM object_chunks WHERE object_key = 'k' AND seq = 2");
  }));
  EXPECT_EQ(objects.Get("b", "k").status().code(), StatusCode::kInternal);
}

TEST_P(ObjectStoreTest, BadNamesAreRefused) {
  ObjectStore objects(*db_);
  const Bytes d = {1};
  for (const auto& [bucket, key] : std::vector<std::pair<std::string, std::string>>{
           {"", "k"}, {"B", "k"}, {"a_b", "k"}, {std::string(64, 'a'), "k"}, {"b", ""},
           {"b", "/abs"}, {"b", "a/../b"}, {"b", "sp ace"}, {"b", "back\\slash"},
           {"b", std::string(513, 'k')}, {"b", std::string("nul\0x", 5)}, {"b", "\x80"}}) {
    EXPECT_EQ(objects.Put(bucket, key, d).code(), StatusCode::kInvalidArgument) << bucket << " " << key;
    EXPECT_EQ(objects.Get(bucket, key).status().code(), StatusCode::kInvalidArgument);
  }
}

VP_STORE_INSTANTIATE(ObjectStoreTest);

}  // namespace
}  // namespace vp::objects
