// Unix sockets and whole-frame I/O.
#include "vp/ipc/socket.h"

#include "vp/base/secure.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vp::ipc {
namespace {

std::string Errno(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

StatusOr<sockaddr_un> Address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) return InvalidArgumentError("socket path empty or too long: " + path);
  std::memcpy(addr.sun_path, path.data(), path.size());
  return addr;
}

}  // namespace

StatusOr<int> ListenUnix(const std::string& path, unsigned mode, int backlog) {
  ASSIGN_OR_RETURN(sockaddr_un addr, Address(path));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError(Errno("socket"));
  ::unlink(path.c_str());
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::chmod(path.c_str(), static_cast<mode_t>(mode)) != 0 || ::listen(fd, backlog) != 0) {
    Status s = UnavailableError(Errno("listen on " + path));
    ::close(fd);
    return s;
  }
  return fd;
}

StatusOr<int> ConnectUnix(const std::string& path) {
  ASSIGN_OR_RETURN(sockaddr_un addr, Address(path));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return UnavailableError(Errno("socket"));
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    Status s = UnavailableError(Errno("connect to " + path));
    ::close(fd);
    return s;
  }
  return fd;
}

StatusOr<PeerCredentials> GetPeerCredentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return UnavailableError(Errno("SO_PEERCRED"));
  return PeerCredentials{cred.pid, cred.uid, cred.gid};
}

Connection::~Connection() { Close(); }

Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    Close();
    fd_ = o.fd_;
    broken_ = o.broken_.load();
    buf_ = std::move(o.buf_);
    start_ = o.start_;
    rcv_timeout_ms_ = o.rcv_timeout_ms_;
    snd_timeout_ms_ = o.snd_timeout_ms_;
    o.fd_ = -1;
  }
  return *this;
}

void Connection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  // Frames may carry secrets (the launcher's init, sealed imports): no copy outlives us.
  if (!buf_.empty()) SecureWipe(buf_.data(), buf_.size());
  buf_.clear();
  start_ = 0;
}

Status Connection::SetTimeout(int option, int timeout_ms, int& current) {
  if (timeout_ms == current) return OkStatus();
  timeval tv{};
  if (timeout_ms > 0) {
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = static_cast<suseconds_t>((timeout_ms % 1000) * 1000);
  } else if (timeout_ms == 0) {
    tv.tv_usec = 1;  // zero would mean "forever"
  }
  if (::setsockopt(fd_, SOL_SOCKET, option, &tv, sizeof(tv)) != 0) return UnavailableError(Errno("setsockopt"));
  current = timeout_ms;
  return OkStatus();
}

bool Connection::HasBufferedFrame() const {
  const size_t avail = buf_.size() - start_;
  if (avail < 4) return false;
  const uint8_t* p = buf_.data() + start_;
  const uint32_t length = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  // A bad length is "buffered" too: ReadFrame reports it without blocking.
  return !CheckFrameLength(length).ok() || avail >= 4 + size_t{length};
}

Status Connection::WriteFrame(const Frame& frame, int timeout_ms) { return WriteFrames({frame}, timeout_ms); }

Status Connection::WriteFrames(const std::vector<Frame>& frames, int timeout_ms) {
  if (fd_ < 0) return UnavailableError("connection closed");
  RETURN_IF_ERROR(SetTimeout(SO_SNDTIMEO, timeout_ms, snd_timeout_ms_));
  Bytes data;
  for (const Frame& f : frames) Append(data, EncodeFrame(f));
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    broken_ = true;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return UnavailableError("timed out");
    return UnavailableError(Errno("send"));
  }
  return OkStatus();
}

Status Connection::Fill(size_t need, int timeout_ms, bool at_frame_start) {
  RETURN_IF_ERROR(SetTimeout(SO_RCVTIMEO, timeout_ms, rcv_timeout_ms_));
  while (buf_.size() - start_ < need) {
    if (start_ > 0 && start_ == buf_.size()) {
      SecureWipe(buf_.data(), buf_.size());
      buf_.clear();
      start_ = 0;
    }
    const size_t have = buf_.size();
    const size_t want = std::max<size_t>(need - (have - start_), 16384);
    buf_.resize(have + want);
    const ssize_t r = ::recv(fd_, buf_.data() + have, want, 0);
    buf_.resize(have + (r > 0 ? static_cast<size_t>(r) : 0));
    if (r > 0) continue;
    if (r == 0) {
      broken_ = true;
      return UnavailableError(at_frame_start && buf_.size() == start_ ? "connection closed by peer"
                                                                      : "connection closed mid-frame");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      // Idle between frames is not an error of the stream; a half-read frame is.
      if (!at_frame_start || buf_.size() > start_) broken_ = true;
      return UnavailableError("timed out");
    }
    broken_ = true;
    return UnavailableError(Errno("recv"));
  }
  return OkStatus();
}

StatusOr<Frame> Connection::ReadFrame(int timeout_ms) {
  if (fd_ < 0) return UnavailableError("connection closed");
  RETURN_IF_ERROR(Fill(4, timeout_ms, true));
  const uint8_t* p = buf_.data() + start_;
  const uint32_t length = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  if (Status s = CheckFrameLength(length); !s.ok()) {
    broken_ = true;
    return s;
  }
  RETURN_IF_ERROR(Fill(4 + size_t{length}, timeout_ms, false));
  ByteSpan frame(buf_.data() + start_ + 4, length);
  StatusOr<Frame> out = DecodeFrame(frame);
  start_ += 4 + size_t{length};
  return out;
}

}  // namespace vp::ipc
