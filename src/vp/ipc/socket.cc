// Unix sockets and whole-frame I/O.
#include "vp/ipc/socket.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

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

// Waits for `events` on fd; kUnavailable on timeout.
Status WaitFor(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int r = ::poll(&p, 1, timeout_ms);
    if (r > 0) return OkStatus();
    if (r == 0) return UnavailableError("timed out");
    if (errno != EINTR) return UnavailableError(Errno("poll"));
  }
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
    broken_ = o.broken_;
    o.fd_ = -1;
  }
  return *this;
}

void Connection::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Status Connection::WriteFrame(const Frame& frame, int timeout_ms) {
  if (fd_ < 0) return UnavailableError("connection closed");
  const Bytes data = EncodeFrame(frame);
  size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      RETURN_IF_ERROR(WaitFor(fd_, POLLOUT, timeout_ms));
      continue;
    }
    broken_ = true;
    return UnavailableError(Errno("send"));
  }
  return OkStatus();
}

Status Connection::ReadExact(uint8_t* p, size_t n, int timeout_ms, bool at_frame_start) {
  size_t off = 0;
  while (off < n) {
    const ssize_t r = ::recv(fd_, p + off, n - off, MSG_DONTWAIT);
    if (r > 0) {
      off += static_cast<size_t>(r);
      continue;
    }
    if (r == 0) {
      broken_ = true;
      return UnavailableError(at_frame_start && off == 0 ? "connection closed by peer" : "connection closed mid-frame");
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      Status s = WaitFor(fd_, POLLIN, timeout_ms);
      if (!s.ok()) {
        if (off > 0 || !at_frame_start) broken_ = true;
        return s;
      }
      continue;
    }
    broken_ = true;
    return UnavailableError(Errno("recv"));
  }
  return OkStatus();
}

StatusOr<Frame> Connection::ReadFrame(int timeout_ms) {
  if (fd_ < 0) return UnavailableError("connection closed");
  uint8_t len_bytes[4];
  RETURN_IF_ERROR(ReadExact(len_bytes, 4, timeout_ms, true));
  const uint32_t length = (uint32_t{len_bytes[0]} << 24) | (uint32_t{len_bytes[1]} << 16) |
                          (uint32_t{len_bytes[2]} << 8) | uint32_t{len_bytes[3]};
  if (Status s = CheckFrameLength(length); !s.ok()) {
    broken_ = true;
    return s;
  }
  Bytes data(length);
  RETURN_IF_ERROR(ReadExact(data.data(), length, timeout_ms, false));
  return DecodeFrame(data);
}

}  // namespace vp::ipc
