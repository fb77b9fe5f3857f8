// ReplayBatcher: the group commit of replay checks for gateways sharing PostgreSQL. Every
// signed request must be remembered in the store before it is served (another gateway may
// see the same signature); requests that arrive while a batch is in the store wait for the
// next one, so the store sees one statement per batch instead of one transaction per
// request. One thread; callbacks run on it and must only hand the result on.
//
//   batcher.Submit({key_id, signature_hex, expires_at_ms}, [](StatusOr<bool> fresh) { ... });
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "vp/base/status.h"
#include "vp/store/replay.h"

namespace vp::http {

class ReplayBatcher {
 public:
  using Done = std::function<void(StatusOr<bool>)>;
  // now_ms() is read when a batch goes to the store (records expired by then are fresh).
  ReplayBatcher(store::ReplayRepo& repo, std::function<int64_t()> now_ms, size_t max_batch = 1024);
  // Decides what is still queued, then joins the thread; later Submits get kUnavailable.
  ~ReplayBatcher();
  ReplayBatcher(const ReplayBatcher&) = delete;
  ReplayBatcher& operator=(const ReplayBatcher&) = delete;

  void Submit(store::ReplayRepo::Item item, Done done);

  // Batches sent and items decided so far (metrics, tests).
  size_t batches() const;
  size_t items() const;

 private:
  void Run();

  store::ReplayRepo& repo_;
  std::function<int64_t()> now_ms_;
  size_t max_batch_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::vector<store::ReplayRepo::Item> items_;
  std::vector<Done> done_;
  size_t batches_ = 0;
  size_t decided_ = 0;
  std::thread thread_;
};

}  // namespace vp::http
