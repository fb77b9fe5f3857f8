#include "vp/http/replay_batcher.h"

#include <utility>

namespace vp::http {

ReplayBatcher::ReplayBatcher(store::ReplayRepo& repo, std::function<int64_t()> now_ms, size_t max_batch)
    : repo_(repo), now_ms_(std::move(now_ms)), max_batch_(max_batch == 0 ? 1 : max_batch) {
  thread_ = std::thread([this] { Run(); });
}

ReplayBatcher::~ReplayBatcher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void ReplayBatcher::Submit(store::ReplayRepo::Item item, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_) {
      items_.push_back(std::move(item));
      done_.push_back(std::move(done));
      cv_.notify_one();
      return;
    }
  }
  done(UnavailableError("replay check: the gateway is stopping"));
}

size_t ReplayBatcher::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

size_t ReplayBatcher::items() const {
  std::lock_guard<std::mutex> lock(mu_);
  return decided_;
}

void ReplayBatcher::Run() {
  std::vector<store::ReplayRepo::Item> items;
  std::vector<Done> done;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !items_.empty(); });
      if (items_.empty()) return;  // stopping, nothing left
      if (items_.size() <= max_batch_) {
        items.swap(items_);
        done.swap(done_);
      } else {
        auto n = static_cast<std::ptrdiff_t>(max_batch_);
        items.assign(std::make_move_iterator(items_.begin()), std::make_move_iterator(items_.begin() + n));
        done.assign(std::make_move_iterator(done_.begin()), std::make_move_iterator(done_.begin() + n));
        items_.erase(items_.begin(), items_.begin() + n);
        done_.erase(done_.begin(), done_.begin() + n);
      }
    }
    StatusOr<std::vector<bool>> fresh = repo_.RememberMany(items, now_ms_());
    // Counted before anyone hears the answer: a caller that saw its callback run also sees
    // its item in items() (the test found the counter lagging behind under load).
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++batches_;
      decided_ += items.size();
    }
    for (size_t i = 0; i < done.size(); ++i) {
      if (fresh.ok()) {
        done[i](static_cast<bool>((*fresh)[i]));
      } else {
        done[i](fresh.status());
      }
    }
    items.clear();
    done.clear();
  }
}

}  // namespace vp::http
