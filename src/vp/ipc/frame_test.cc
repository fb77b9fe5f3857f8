// Frames and fields: round trips, and every malformed shape refused with a reason.
#include "vp/ipc/frame.h"

#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <random>

#include "vp/base/test_util.h"
#include "vp/ipc/socket.h"

namespace vp::ipc {
namespace {

TEST(FrameTest, RoundTrip) {
  FieldWriter w;
  w.AddString("path").AddU8(7).Add(Bytes{});
  Frame f{.protocol = kProtocolSigner, .kind = 5, .request_id = 0x0102030405060708, .body = w.Take()};
  Bytes enc = EncodeFrame(f);
  ASSERT_EQ(enc.size(), 4 + kHeaderSize + f.body.size());
  EXPECT_EQ(enc[0], 0);
  EXPECT_EQ(enc[3], kHeaderSize + f.body.size());
  auto d = DecodeFrame(ByteSpan(enc).subspan(4));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->protocol, kProtocolSigner);
  EXPECT_EQ(d->kind, 5);
  EXPECT_EQ(d->request_id, 0x0102030405060708u);
  FieldReader r(d->body);
  EXPECT_EQ(*r.NextString("a"), "path");
  EXPECT_EQ(*r.NextU8("b"), 7);
  EXPECT_TRUE(r.Next("c")->empty());
  EXPECT_TRUE(r.Finish().ok());
}

TEST(FrameTest, RefusesBadHeaders) {
  Frame f{.protocol = kProtocolKms, .kind = 1, .body = {}};
  Bytes enc = EncodeFrame(f);
  Bytes bad = enc;
  bad[5] = 2;  // version
  EXPECT_EQ(DecodeFrame(ByteSpan(bad).subspan(4)).status().code(), StatusCode::kInvalidArgument);
  bad = enc;
  bad[7] = 1;  // flags
  EXPECT_EQ(DecodeFrame(ByteSpan(bad).subspan(4)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(DecodeFrame(ByteSpan(enc).subspan(4, 5)).ok());
  EXPECT_FALSE(CheckFrameLength(3).ok());
  EXPECT_FALSE(CheckFrameLength(static_cast<uint32_t>(kMaxFrameLength + 1)).ok());
  EXPECT_TRUE(CheckFrameLength(static_cast<uint32_t>(kMaxFrameLength)).ok());
}

TEST(FrameTest, FieldReaderRefusesMalformedFields) {
  FieldWriter w;
  w.AddString("hello");
  Bytes body = w.Take();
  for (size_t cut = 0; cut < body.size(); ++cut) {
    FieldReader r(ByteSpan(body).first(cut));
    EXPECT_FALSE(r.Next("x").ok()) << cut;
  }
  FieldReader too_long(body);
  EXPECT_NE(too_long.Next("x", 4).status().message().find("too long"), std::string::npos);
  Bytes trailing = body;
  trailing.push_back(0);
  FieldReader r(trailing);
  ASSERT_TRUE(r.Next("x").ok());
  EXPECT_FALSE(r.Finish().ok());
  // A length near 2^32 must not wrap around.
  Bytes huge = {0xff, 0xff, 0xff, 0xff, 1, 2};
  FieldReader h(huge);
  EXPECT_FALSE(h.Next("x", SIZE_MAX).ok());
}

TEST(FrameTest, Replies) {
  FieldWriter w;
  w.AddString("result");
  Bytes ok = OkReplyBody(w.Take());
  auto r = OpenReply(ok);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->NextString("x"), "result");
  auto e = OpenReply(ErrorReplyBody(PermissionDeniedError("measurement not allowed")));
  EXPECT_EQ(e.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(e.status().message(), "measurement not allowed");
  EXPECT_FALSE(OpenReply(Bytes{}).ok());
  EXPECT_EQ(OpenReply(Bytes{42}).status().code(), StatusCode::kInvalidArgument);
}

TEST(FrameTest, RandomBytesNeverCrashTheDecoders) {
  std::mt19937_64 rng(vp::testing::TestSeed());
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng() % 64);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    auto f = DecodeFrame(b);
    if (f.ok()) {
      FieldReader r(f->body);
      while (r.Next("x").ok()) {
      }
      (void)OpenReply(f->body);
    }
  }
}

TEST(ConnectionTest, OversizedLengthBreaksTheStreamButMalformedFrameDoesNot) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  Connection reader(sv[0]);
  Bytes bad_version = EncodeFrame(Frame{.protocol = kProtocolSigner, .kind = 1, .body = {}});
  bad_version[5] = 9;
  Bytes good = EncodeFrame(Frame{.protocol = kProtocolSigner, .kind = 2, .request_id = 3, .body = {}});
  ASSERT_EQ(::write(sv[1], bad_version.data(), bad_version.size()), static_cast<ssize_t>(bad_version.size()));
  ASSERT_EQ(::write(sv[1], good.data(), good.size()), static_cast<ssize_t>(good.size()));
  EXPECT_FALSE(reader.ReadFrame(1000).ok());
  EXPECT_FALSE(reader.broken());
  auto f = reader.ReadFrame(1000);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->request_id, 3u);
  const uint8_t huge[4] = {0x7f, 0xff, 0xff, 0xff};
  ASSERT_EQ(::write(sv[1], huge, 4), 4);
  EXPECT_FALSE(reader.ReadFrame(1000).ok());
  EXPECT_TRUE(reader.broken());
  ::close(sv[1]);
}

}  // namespace
}  // namespace vp::ipc
