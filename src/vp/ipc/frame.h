// Frames and fields of the signer/kms wire protocol, version 1 (docs/signer_protocol.md):
// u32 length || protocol || version || kind || flags || u64 request_id || body, where a
// body is a run of u32-length-prefixed fields. Decoders are strict and never crash.
//
//   FieldWriter w; w.Add(blob); w.AddString(path);
//   Frame f{.protocol = kProtocolSigner, .kind = 0x05, .request_id = 7, .body = w.Take()};
//   RETURN_IF_ERROR(conn.WriteFrame(f));
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "vp/base/bytes.h"
#include "vp/base/status.h"

namespace vp::ipc {

inline constexpr uint8_t kProtocolSigner = 'S';
inline constexpr uint8_t kProtocolKms = 'K';
inline constexpr uint8_t kProtocolLauncher = 'L';
inline constexpr uint8_t kWireVersion = 1;
inline constexpr uint8_t kKindHello = 0x7F;
inline constexpr uint8_t kReplyBit = 0x80;
inline constexpr size_t kHeaderSize = 12;  // protocol, version, kind, flags, request_id
inline constexpr size_t kMaxBody = size_t{1} << 20;
inline constexpr size_t kMaxFrameLength = kHeaderSize + kMaxBody;

struct Frame {
  uint8_t protocol = 0;
  uint8_t version = kWireVersion;
  uint8_t kind = 0;
  uint8_t flags = 0;
  uint64_t request_id = 0;
  Bytes body;
};

// With the length prefix.
Bytes EncodeFrame(const Frame& frame);
// Header bytes as the signer's mac covers them: kind || u64 request_id.
Bytes MacHeader(const Frame& frame);
// Checks a length prefix: kInvalidArgument outside [kHeaderSize, kMaxFrameLength].
Status CheckFrameLength(uint32_t length);
// Decodes what follows the length prefix. Refuses a wrong version or non-zero flags
// (kInvalidArgument); the protocol and kind are checked by the caller.
StatusOr<Frame> DecodeFrame(ByteSpan data);

class FieldWriter {
 public:
  FieldWriter& Add(ByteSpan field);
  FieldWriter& AddString(std::string_view s) { return Add(AsBytes(s)); }
  FieldWriter& AddU8(uint8_t v) { return Add(ByteSpan(&v, 1)); }
  // Raw bytes with no length prefix (the signer's mac, a reply's status byte).
  FieldWriter& AddRaw(ByteSpan raw);
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

// Reads fields in order; every accessor says which field was wrong.
class FieldReader {
 public:
  explicit FieldReader(ByteSpan body) : rest_(body) {}
  // The next field, at most max_len bytes. `name` goes into the error message.
  StatusOr<ByteSpan> Next(std::string_view name, size_t max_len = kMaxBody);
  StatusOr<std::string> NextString(std::string_view name, size_t max_len = kMaxBody);
  StatusOr<uint8_t> NextU8(std::string_view name);
  // Exactly n raw bytes (no length prefix).
  StatusOr<ByteSpan> Raw(std::string_view name, size_t n);
  // kInvalidArgument if anything is left.
  Status Finish() const;
  size_t remaining() const { return rest_.size(); }

 private:
  ByteSpan rest_;
};

// Reply bodies: status byte, then the message (error) or the result fields (OK).
Bytes ErrorReplyBody(const Status& status);
Bytes OkReplyBody(ByteSpan fields);
// Splits a reply body: the error it carries, or a reader over the result fields.
StatusOr<FieldReader> OpenReply(ByteSpan body);

}  // namespace vp::ipc
