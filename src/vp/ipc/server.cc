// UnixServer: accept loop with a stop flag polled every poll_interval_ms (no eventfd, so
// the signer's seccomp allowlist stays small).
#include "vp/ipc/server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace vp::ipc {

UnixServer::UnixServer(int listen_fd, Handler handler, ServerOptions options)
    : listen_fd_(listen_fd), handler_(std::move(handler)), options_(options) {}

UnixServer::~UnixServer() {
  Stop();
  for (auto& w : workers_) {
    if (w.thread.joinable()) w.thread.join();
  }
}

void UnixServer::ReapFinished() {
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done.load()) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
}

void UnixServer::Run() {
  while (!stop_.load()) {
    pollfd p{listen_fd_, POLLIN, 0};
    const int r = ::poll(&p, 1, options_.poll_interval_ms);
    ReapFinished();
    if (r <= 0) continue;
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    if (active_.load() >= options_.max_connections) {
      ::close(fd);
      continue;
    }
    auto peer = GetPeerCredentials(fd);
    if (!peer.ok()) {
      ::close(fd);
      continue;
    }
    active_.fetch_add(1);
    Worker& w = workers_.emplace_back();
    w.thread = std::thread([this, fd, cred = *peer, &w] {
      {
        Connection conn(fd);
        handler_(conn, cred);
      }
      active_.fetch_sub(1);
      w.done.store(true);
    });
  }
  for (auto& w : workers_) {
    if (w.thread.joinable()) w.thread.join();
  }
  workers_.clear();
}

void ServeFrames(Connection& conn, uint8_t protocol, Bytes hello_body, const std::function<bool()>& stopping,
                 const std::function<Frame(const Frame&)>& handle, int idle_poll_ms) {
  if (!conn.WriteFrame(Frame{.protocol = protocol, .kind = kKindHello, .body = std::move(hello_body)}).ok()) return;
  auto error_reply = [protocol](const Status& s) {
    return Frame{.protocol = protocol, .kind = kReplyBit, .body = ErrorReplyBody(s)};
  };
  while (!stopping()) {
    auto req = conn.ReadFrame(idle_poll_ms);
    if (!req.ok() && !conn.broken() && req.status().code() == StatusCode::kUnavailable) continue;  // idle
    std::vector<Frame> replies;
    bool close_after = false;
    for (;;) {
      if (req.ok()) {
        replies.push_back(handle(*req));
      } else if (conn.broken()) {
        // A bad length prefix gets its answer before the connection goes; a peer that
        // went away gets nothing.
        if (req.status().code() == StatusCode::kInvalidArgument) replies.push_back(error_reply(req.status()));
        close_after = true;
        break;
      } else {
        replies.push_back(error_reply(req.status()));  // malformed but framed: the stream goes on
      }
      if (replies.size() >= 64 || !conn.HasBufferedFrame()) break;
      req = conn.ReadFrame(0);
    }
    if (!replies.empty() && !conn.WriteFrames(replies, close_after ? 1000 : 10000).ok()) return;
    if (close_after) return;
  }
}

}  // namespace vp::ipc
