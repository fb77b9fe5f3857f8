// Frames and fields, docs/signer_protocol.md.
#include "vp/ipc/frame.h"

#include <limits>

namespace vp::ipc {
namespace {

uint64_t ReadBe(ByteSpan b) {
  uint64_t v = 0;
  for (uint8_t x : b) v = (v << 8) | x;
  return v;
}

}  // namespace

Bytes EncodeFrame(const Frame& frame) {
  Bytes out;
  out.reserve(4 + kHeaderSize + frame.body.size());
  AppendBigEndian(out, kHeaderSize + frame.body.size(), 4);
  out.push_back(frame.protocol);
  out.push_back(frame.version);
  out.push_back(frame.kind);
  out.push_back(frame.flags);
  AppendBigEndian(out, frame.request_id, 8);
  Append(out, frame.body);
  return out;
}

Bytes MacHeader(const Frame& frame) {
  Bytes out{frame.kind};
  AppendBigEndian(out, frame.request_id, 8);
  return out;
}

Status CheckFrameLength(uint32_t length) {
  if (length < kHeaderSize) return InvalidArgumentError("frame shorter than its header");
  if (length > kMaxFrameLength) return InvalidArgumentError("frame larger than 1 MiB");
  return OkStatus();
}

StatusOr<Frame> DecodeFrame(ByteSpan data) {
  if (data.size() > std::numeric_limits<uint32_t>::max()) return InvalidArgumentError("frame larger than 1 MiB");
  RETURN_IF_ERROR(CheckFrameLength(static_cast<uint32_t>(data.size())));
  Frame f;
  f.protocol = data[0];
  f.version = data[1];
  f.kind = data[2];
  f.flags = data[3];
  if (f.version != kWireVersion) return InvalidArgumentError("unsupported protocol version " + std::to_string(f.version));
  if (f.flags != 0) return InvalidArgumentError("unknown frame flags");
  f.request_id = ReadBe(data.subspan(4, 8));
  f.body.assign(data.begin() + static_cast<std::ptrdiff_t>(kHeaderSize), data.end());
  return f;
}

FieldWriter& FieldWriter::Add(ByteSpan field) {
  AppendBigEndian(out_, field.size(), 4);
  Append(out_, field);
  return *this;
}

FieldWriter& FieldWriter::AddRaw(ByteSpan raw) {
  Append(out_, raw);
  return *this;
}

StatusOr<ByteSpan> FieldReader::Next(std::string_view name, size_t max_len) {
  if (rest_.size() < 4) return InvalidArgumentError("missing field: " + std::string(name));
  const uint64_t len = ReadBe(rest_.first(4));
  if (len > max_len) return InvalidArgumentError("field too long: " + std::string(name));
  if (len > rest_.size() - 4) return InvalidArgumentError("truncated field: " + std::string(name));
  ByteSpan field = rest_.subspan(4, static_cast<size_t>(len));
  rest_ = rest_.subspan(4 + static_cast<size_t>(len));
  return field;
}

StatusOr<std::string> FieldReader::NextString(std::string_view name, size_t max_len) {
  ASSIGN_OR_RETURN(ByteSpan f, Next(name, max_len));
  return std::string(AsString(f));
}

StatusOr<uint8_t> FieldReader::NextU8(std::string_view name) {
  ASSIGN_OR_RETURN(ByteSpan f, Next(name, 1));
  if (f.size() != 1) return InvalidArgumentError("field must be one byte: " + std::string(name));
  return f[0];
}

StatusOr<ByteSpan> FieldReader::Raw(std::string_view name, size_t n) {
  if (rest_.size() < n) return InvalidArgumentError("missing " + std::string(name));
  ByteSpan out = rest_.first(n);
  rest_ = rest_.subspan(n);
  return out;
}

Status FieldReader::Finish() const {
  if (!rest_.empty()) return InvalidArgumentError("unexpected bytes after the last field");
  return OkStatus();
}

Bytes ErrorReplyBody(const Status& status) {
  Bytes out{static_cast<uint8_t>(status.code())};
  if (status.ok()) out[0] = static_cast<uint8_t>(StatusCode::kInternal);
  FieldWriter w;
  w.AddString(status.message().substr(0, 4096));
  Append(out, w.Take());
  return out;
}

Bytes OkReplyBody(ByteSpan fields) {
  Bytes out{0};
  Append(out, fields);
  return out;
}

StatusOr<FieldReader> OpenReply(ByteSpan body) {
  if (body.empty()) return InvalidArgumentError("empty reply");
  const uint8_t code = body[0];
  if (code == 0) return FieldReader(body.subspan(1));
  if (code > static_cast<uint8_t>(StatusCode::kInternal)) return InvalidArgumentError("reply with an unknown status code");
  FieldReader r(body.subspan(1));
  ASSIGN_OR_RETURN(std::string message, r.NextString("message", 4096));
  RETURN_IF_ERROR(r.Finish());
  return Status(static_cast<StatusCode>(code), std::move(message));
}

}  // namespace vp::ipc
