// Unix stream sockets for the signer and kms: listen/connect, the peer's credentials
// (SO_PEERCRED), and a Connection that reads and writes whole frames (frame.h) with a
// deadline, retrying on EINTR and short reads/writes.
//
//   ASSIGN_OR_RETURN(int fd, vp::ipc::ConnectUnix("/run/vp/kms.sock"));
//   vp::ipc::Connection conn(fd);
//   RETURN_IF_ERROR(conn.WriteFrame(request));
//   ASSIGN_OR_RETURN(vp::ipc::Frame reply, conn.ReadFrame(5000));
#pragma once

#include <sys/types.h>

#include <atomic>
#include <string>
#include <vector>

#include "vp/ipc/frame.h"

namespace vp::ipc {

// Binds and listens on `path` (an existing socket file there is replaced) with file mode
// `mode`. Close-on-exec.
StatusOr<int> ListenUnix(const std::string& path, unsigned mode, int backlog = 128);
// kUnavailable when nobody listens there.
StatusOr<int> ConnectUnix(const std::string& path);

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};
StatusOr<PeerCredentials> GetPeerCredentials(int fd);

// Owns the fd. Not thread-safe: one user at a time.
class Connection {
 public:
  Connection() = default;
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection();
  Connection(Connection&& o) noexcept
      : fd_(o.fd_), broken_(o.broken_.load()), buf_(std::move(o.buf_)), start_(o.start_),
        rcv_timeout_ms_(o.rcv_timeout_ms_), snd_timeout_ms_(o.snd_timeout_ms_) {
    o.fd_ = -1;
  }
  Connection& operator=(Connection&& o) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void Close();
  // Gives up ownership of the fd without closing it.
  int Release() {
    const int fd = fd_;
    fd_ = -1;
    return fd;
  }

  Status WriteFrame(const Frame& frame, int timeout_ms = 10000);
  // kUnavailable when the peer closed the connection (cleanly, between frames);
  // kInvalidArgument for a bad length prefix (the caller must close: the stream cannot
  // be resynchronised); kInvalidArgument for a malformed frame (the stream is intact);
  // kUnavailable "timed out" after timeout_ms (-1: wait forever).
  StatusOr<Frame> ReadFrame(int timeout_ms = 10000);
  // Set when ReadFrame failed in a way that leaves the stream unusable.
  bool broken() const { return broken_.load(); }
  // A whole frame is already buffered: ReadFrame will not block (pipelined requests).
  bool HasBufferedFrame() const;
  // Several frames in one send (the replies to pipelined requests).
  Status WriteFrames(const std::vector<Frame>& frames, int timeout_ms = 10000);

 private:
  // Blocking reads with SO_RCVTIMEO into an internal buffer: one recv per frame in the
  // common case (a poll-then-recv pattern costs three syscalls per message).
  Status Fill(size_t need, int timeout_ms, bool at_frame_start);
  Status SetTimeout(int option, int timeout_ms, int& current);
  int fd_ = -1;
  // Atomic: a multiplexed client reads on one thread while others write.
  std::atomic<bool> broken_{false};
  Bytes buf_;
  size_t start_ = 0;  // unread bytes are buf_[start_, buf_.size())
  int rcv_timeout_ms_ = -2;
  int snd_timeout_ms_ = -2;
};

}  // namespace vp::ipc
