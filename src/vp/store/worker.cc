// WorkerPool: N worker threads and one heartbeat thread over JobQueue. Workers hold no
// lock while they call the store or a handler. The heartbeat thread beats every running
// job in turn; a per-job mutex keeps a heartbeat from racing the worker's final store
// call, so a lease the worker has just given up is never reported as lost.
#include "vp/store/worker.h"

#include <unistd.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <system_error>

namespace vp::store {
namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr size_t kMaxThreads = 1024;
// Store writes that fail with kUnavailable (a dropped connection) are tried this many times.
constexpr int kRecordTries = 3;
// Longest Stop deadline honoured: keeps the time arithmetic far from overflow.
constexpr std::chrono::milliseconds kMaxStopDeadline{7LL * 24 * 3600 * 1000};

std::string DefaultWorkerId() {
  static std::atomic<uint64_t> pools{0};
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) host[0] = '\0';
  std::string name(host);
  if (name.empty()) name = "localhost";
  return name + ":" + std::to_string(getpid()) + ":" + std::to_string(pools.fetch_add(1));
}

bool StaleLease(const Status& s) {
  return s.code() == StatusCode::kFailedPrecondition || s.code() == StatusCode::kNotFound;
}

}  // namespace

bool JobContext::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> lock(mu_);
  return !cv_.wait_for(lock, d, [&] { return cancelled() || lease_lost(); });
}

void JobContext::Set(std::atomic<bool>& flag) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    flag.store(true);
  }
  cv_.notify_all();
}

struct WorkerPool::Active {
  explicit Active(Job job) : ctx(std::move(job)) {}
  JobContext ctx;
  std::mutex beat_mu;  // held across a heartbeat, and by the worker to set finished
  bool finished = false;           // GUARDED_BY(beat_mu): no more heartbeats
  SteadyClock::time_point next_beat;  // GUARDED_BY(WorkerPool::mu_)
};

WorkerPool::WorkerPool(Db& db, WorkerOptions options) : queue_(db), options_(std::move(options)) {
  if (options_.worker_id.empty()) options_.worker_id = DefaultWorkerId();
  heartbeat_ms_ = options_.heartbeat_ms != 0 ? options_.heartbeat_ms : std::max<int64_t>(1, options_.visibility_ms / 3);
}

WorkerPool::~WorkerPool() { Stop(); }

int64_t WorkerPool::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status WorkerPool::Register(std::string queue, JobHandler handler) {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (started_ || stopped_) return FailedPreconditionError("worker: Register after Start");
  if (queue.empty()) return InvalidArgumentError("worker: empty queue name");
  if (!handler) return InvalidArgumentError("worker: empty handler for queue " + queue);
  for (const auto& h : handlers_) {
    if (h.first == queue) return InvalidArgumentError("worker: queue " + queue + " already has a handler");
  }
  handlers_.emplace_back(std::move(queue), std::move(handler));
  return OkStatus();
}

Status WorkerPool::Start() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  if (started_ || stopped_) return FailedPreconditionError("worker: already started");
  if (handlers_.empty()) return FailedPreconditionError("worker: no handler registered");
  const WorkerOptions& o = options_;
  if (o.threads < 1 || o.threads > kMaxThreads) {
    return InvalidArgumentError("worker: threads must be between 1 and " + std::to_string(kMaxThreads));
  }
  if (o.visibility_ms <= 0) return InvalidArgumentError("worker: visibility timeout must be positive");
  if (heartbeat_ms_ >= o.visibility_ms) {
    return InvalidArgumentError("worker: heartbeat interval must be shorter than the visibility timeout");
  }
  if (o.idle_poll_ms <= 0) return InvalidArgumentError("worker: idle poll interval must be positive");
  if (o.idle_poll_max_ms < o.idle_poll_ms) return InvalidArgumentError("worker: idle poll cap below the interval");
  if (o.stop_deadline_ms < 0) return InvalidArgumentError("worker: negative stop deadline");
  started_ = true;
  try {
    if (heartbeat_ms_ > 0) heartbeat_ = std::thread(&WorkerPool::HeartbeatLoop, this);
    for (size_t i = 0; i < o.threads; ++i) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++live_workers_;
      }
      try {
        workers_.emplace_back(&WorkerPool::WorkerLoop, this, i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu_);
        --live_workers_;
        throw;
      }
    }
  } catch (const std::exception& e) {
    StopLocked(std::chrono::milliseconds(0));
    return InternalError(std::string("worker: cannot start a thread: ") + e.what());
  }
  return OkStatus();
}

void WorkerPool::Notify() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++notify_generation_;
  }
  wake_cv_.notify_all();
}

void WorkerPool::Stop() { Stop(std::chrono::milliseconds(options_.stop_deadline_ms)); }

void WorkerPool::Stop(std::chrono::milliseconds deadline) {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  StopLocked(deadline);
}

void WorkerPool::StopLocked(std::chrono::milliseconds deadline) {
  const bool was_running = started_ && !stopped_;
  stopped_ = true;
  if (!was_running) return;
  deadline = std::clamp(deadline, std::chrono::milliseconds(0), kMaxStopDeadline);
  const SteadyClock::time_point until = SteadyClock::now() + deadline;
  {
    std::unique_lock<std::mutex> lock(mu_);
    stopping_ = true;
    for (auto& entry : active_) entry.second->ctx.Set(entry.second->ctx.stopping_);
    wake_cv_.notify_all();
    done_cv_.wait_until(lock, until, [&] { return live_workers_ == 0; });
    if (live_workers_ > 0) {
      deadline_passed_ = true;
      for (auto& entry : active_) entry.second->ctx.Set(entry.second->ctx.deadline_passed_);
    }
  }
  for (std::thread& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
  {
    std::lock_guard<std::mutex> lock(mu_);
    heartbeat_stop_ = true;
  }
  heartbeat_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

void WorkerPool::WorkerLoop(size_t index) {
  const size_t n = handlers_.size();
  size_t next = index % n;  // threads start on different queues
  int64_t wait_ms = options_.idle_poll_ms;
  for (;;) {
    uint64_t seen = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
      seen = notify_generation_;  // a Notify from here on ends the idle wait below
    }
    bool ran = false;
    for (size_t k = 0; k < n && !ran; ++k) {
      const size_t qi = (next + k) % n;
      const std::string& name = handlers_[qi].first;
      StatusOr<std::optional<Job>> leased = queue_.Lease(name, options_.worker_id, options_.visibility_ms, Now());
      if (!leased.ok()) {
        ObserveStoreError("lease", leased.status());
        continue;
      }
      if (!leased->has_value()) continue;
      next = (qi + 1) % n;  // round robin: the next scan starts after the queue just served
      Run(handlers_[qi].second, std::move(**leased));
      ran = true;
    }
    if (ran) {
      wait_ms = options_.idle_poll_ms;
      continue;
    }
    std::unique_lock<std::mutex> lock(mu_);
    const bool woken = wake_cv_.wait_for(lock, std::chrono::milliseconds(wait_ms),
                                         [&] { return stopping_ || notify_generation_ != seen; });
    wait_ms = woken ? options_.idle_poll_ms : std::min(wait_ms * 2, options_.idle_poll_max_ms);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --live_workers_;
  }
  done_cv_.notify_all();
}

void WorkerPool::Run(const JobHandler& handler, Job job) {
  auto active = std::make_shared<Active>(std::move(job));
  JobContext& ctx = active->ctx;
  const int64_t id = ctx.job().id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    // A job leased while Stop was starting sees the same flags as those already running.
    if (stopping_) ctx.Set(ctx.stopping_);
    if (deadline_passed_) ctx.Set(ctx.deadline_passed_);
    active->next_beat = SteadyClock::now() + std::chrono::milliseconds(std::max<int64_t>(heartbeat_ms_, 0));
    active_[id] = active;
  }
  heartbeat_cv_.notify_all();

  const SteadyClock::time_point start = SteadyClock::now();
  JobResult result;
  try {
    result = handler(ctx);
  } catch (const std::exception& e) {
    result = JobResult::Retry(std::string("handler threw: ") + e.what());
  } catch (...) {
    result = JobResult::Retry("handler threw a non-standard exception");
  }
  {
    std::lock_guard<std::mutex> beat(active->beat_mu);
    active->finished = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    active_.erase(id);
  }
  auto [outcome, message] = Record(ctx, std::move(result));
  const double seconds = std::chrono::duration<double>(SteadyClock::now() - start).count();
  ObserveFinished(ctx.job(), outcome, message, seconds);
}

std::pair<std::string_view, std::string> WorkerPool::Record(JobContext& ctx, JobResult result) {
  const Job& job = ctx.job();
  if (ctx.store_cancelled_.load()) return {"cancelled", "cancelled while running; result dropped"};
  if (ctx.lease_lost_.load()) return {"lease_lost", "lease lost to another worker; result dropped"};
  std::string_view op;
  std::string_view outcome;
  Status s;
  for (int attempt = 1;; ++attempt) {
    switch (result.kind) {
      case JobResult::Kind::kSuccess:
        op = "complete";
        outcome = "succeeded";
        s = queue_.Complete(job.id, job.lease_token, result.text, Now());
        break;
      case JobResult::Kind::kRetry:
        if (ctx.deadline_passed_.load()) {
          op = "release";
          outcome = "released";
          s = queue_.Release(job.id, job.lease_token, Now());
        } else {
          op = "fail";
          StatusOr<JobState> next = queue_.Fail(job.id, job.lease_token, result.text, Now());
          outcome = next.ok() && *next == JobState::kDead ? "dead" : "retry";
          s = next.status();
        }
        break;
      case JobResult::Kind::kPermanent:
        op = "fail_permanently";
        outcome = "dead";
        s = queue_.FailPermanently(job.id, job.lease_token, result.text, Now());
        break;
    }
    if (s.code() != StatusCode::kUnavailable || attempt >= kRecordTries) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50LL << attempt));
  }
  if (s.ok()) return {outcome, result.kind == JobResult::Kind::kSuccess ? std::string() : std::move(result.text)};
  if (StaleLease(s)) {
    // The lease went without a heartbeat noticing (heartbeats off, or between two beats).
    if (WasCancelled(job.id)) return {"cancelled", "cancelled while running; result dropped (" + s.message() + ")"};
    return {"lease_lost", "lease lost to another worker; result dropped (" + s.message() + ")"};
  }
  ObserveStoreError(op, s);
  return {"error", "outcome not recorded: " + s.ToString()};
}

void WorkerPool::HeartbeatLoop() {
  const std::chrono::milliseconds interval(heartbeat_ms_);
  std::unique_lock<std::mutex> lock(mu_);
  while (!heartbeat_stop_) {
    const SteadyClock::time_point now = SteadyClock::now();
    std::vector<std::shared_ptr<Active>> due;
    SteadyClock::time_point next = SteadyClock::time_point::max();
    for (auto& entry : active_) {
      Active& a = *entry.second;
      if (a.next_beat <= now) {
        due.push_back(entry.second);
        a.next_beat = now + interval;
      }
      next = std::min(next, a.next_beat);
    }
    if (!due.empty()) {
      lock.unlock();
      for (const std::shared_ptr<Active>& a : due) Beat(*a);
      due.clear();
      lock.lock();
      continue;
    }
    if (next == SteadyClock::time_point::max()) {
      heartbeat_cv_.wait(lock);
    } else {
      heartbeat_cv_.wait_until(lock, next);
    }
  }
}

void WorkerPool::Beat(Active& a) {
  std::lock_guard<std::mutex> beat(a.beat_mu);
  JobContext& ctx = a.ctx;
  if (a.finished || ctx.store_cancelled_.load() || ctx.lease_lost_.load()) return;
  const Job& job = ctx.job();
  Status s = queue_.Heartbeat(job.id, job.lease_token, options_.visibility_ms, Now());
  if (s.ok()) return;
  if (StaleLease(s)) {
    ctx.Set(WasCancelled(job.id) ? ctx.store_cancelled_ : ctx.lease_lost_);
    return;
  }
  ObserveStoreError("heartbeat", s);
}

bool WorkerPool::WasCancelled(int64_t id) {
  StatusOr<Job> j = queue_.Get(id);
  if (!j.ok()) {
    if (j.status().code() != StatusCode::kNotFound) ObserveStoreError("get", j.status());
    return false;
  }
  return j->state == JobState::kCancelled;
}

void WorkerPool::ObserveFinished(const Job& job, std::string_view outcome, std::string_view message, double seconds) {
  if (options_.observer == nullptr) return;
  try {
    options_.observer->JobFinished(job.queue, outcome, seconds);
  } catch (...) {  // a metrics hook must not take a worker thread down
  }
  try {
    options_.observer->JobLog(job, outcome, message);
  } catch (...) {
  }
}

void WorkerPool::ObserveStoreError(std::string_view op, const Status& status) {
  if (options_.observer == nullptr) return;
  try {
    options_.observer->StoreError(op, status);
  } catch (...) {
  }
}

}  // namespace vp::store
