// Internal: a bounded pool of connections, opened lazily, each used by one thread at a
// time. Broken connections are dropped on return instead of being reused.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "vp/base/status.h"

namespace vp::store::internal {

template <typename ConnT>
class Pool {
 public:
  using Opener = std::function<StatusOr<std::unique_ptr<ConnT>>()>;
  Pool(size_t capacity, Opener opener) : capacity_(capacity), opener_(std::move(opener)) {}

  // A connection checked out of the pool; returns it on destruction.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<ConnT> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) { o.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Return(std::move(conn_));
    }
    ConnT& operator*() const { return *conn_; }
    ConnT* operator->() const { return conn_.get(); }

   private:
    Pool* pool_;
    std::unique_ptr<ConnT> conn_;
  };

  StatusOr<Lease> Acquire() {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return !idle_.empty() || open_ < capacity_; });
      if (!idle_.empty()) {
        std::unique_ptr<ConnT> c = std::move(idle_.back());
        idle_.pop_back();
        return Lease(this, std::move(c));
      }
      ++open_;
    }
    StatusOr<std::unique_ptr<ConnT>> c = opener_();
    if (!c.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        --open_;
      }
      cv_.notify_one();
      return c.status();
    }
    return Lease(this, std::move(c).value());
  }

 private:
  void Return(std::unique_ptr<ConnT> c) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (c && !c->broken()) {
        idle_.push_back(std::move(c));
      } else {
        --open_;
      }
    }
    c.reset();  // a broken one closes outside the lock
    cv_.notify_one();
  }

  const size_t capacity_;
  Opener opener_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<ConnT>> idle_;  // GUARDED_BY(mu_)
  size_t open_ = 0;                           // GUARDED_BY(mu_): idle + checked out
};

}  // namespace vp::store::internal
