// A small blocking Unix-socket server: one thread per connection up to a cap, so that a
// slow or malicious client holds only its own thread. Used by the kms and the signer,
// which serve few, long-lived connections from one trusted peer each.
//
//   UnixServer server(listen_fd, [&](Connection& c, const PeerCredentials& peer) { ... }, {});
//   server.Run();          // until Stop() (another thread or a signal handler flag)
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <mutex>
#include <thread>

#include "vp/ipc/socket.h"

namespace vp::ipc {

struct ServerOptions {
  int max_connections = 64;   // further connections are closed at once
  int poll_interval_ms = 200; // how often Run() looks at the stop flag
};

class UnixServer {
 public:
  // The handler owns the connection for its lifetime and returns when done with it.
  using Handler = std::function<void(Connection&, const PeerCredentials&)>;
  UnixServer(int listen_fd, Handler handler, ServerOptions options = {});
  ~UnixServer();

  // Accepts until Stop(); then waits for the connection threads (which see stopping()).
  void Run();
  void Stop() { stop_.store(true); }
  bool stopping() const { return stop_.load(); }
  int active_connections() const { return active_.load(); }

 private:
  void ReapFinished();

  int listen_fd_;
  Handler handler_;
  ServerOptions options_;
  std::atomic<bool> stop_{false};
  std::atomic<int> active_{0};
  std::mutex mu_;
  struct Worker {
    std::thread thread;
    std::atomic<bool> done{false};
  };
  std::list<Worker> workers_;
};

// Serves one connection of a request/reply protocol (docs/signer_protocol.md): sends the
// hello, then answers each request with `handle` until the peer leaves or `stopping()`.
// Requests already buffered (pipelined) are answered together, in order, with one send.
// A malformed frame gets an error reply and the stream goes on; a bad length prefix gets
// one and the connection closes. `idle_poll_ms` bounds how long stopping() goes unseen.
void ServeFrames(Connection& conn, uint8_t protocol, Bytes hello_body, const std::function<bool()>& stopping,
                 const std::function<Frame(const Frame&)>& handle, int idle_poll_ms = 500);

}  // namespace vp::ipc
