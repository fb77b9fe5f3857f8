// WorkerPool on both backends, with real threads on a real store: results, retries, dead
// letters, throwing handlers, two pools ("hosts") sharing one database, lost leases,
// cancellation, Notify latency, graceful Stop and round robin across queues.
#include "vp/store/worker.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "vp/store/jobs.h"
#include "vp/store/store_test_util.h"

namespace vp::store {
namespace {

using std::chrono::milliseconds;
using SteadyClock = std::chrono::steady_clock;

int64_t WallMs() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Polls pred every few ms until it holds or the timeout passes.
template <typename Pred>
bool Eventually(Pred pred, milliseconds timeout = milliseconds(10'000)) {
  const SteadyClock::time_point until = SteadyClock::now() + timeout;
  while (!pred()) {
    if (SteadyClock::now() > until) return false;
    std::this_thread::sleep_for(milliseconds(2));
  }
  return true;
}

// Records what the pool reports.
class Recorder : public WorkerObserver {
 public:
  struct Event {
    int64_t id;
    std::string queue, outcome, message;
  };
  void JobFinished(std::string_view queue, std::string_view outcome, double seconds) override {
    std::lock_guard<std::mutex> lock(mu_);
    finished_.emplace_back(std::string(queue) + ":" + std::string(outcome));
    EXPECT_GE(seconds, 0.0);
  }
  void JobLog(const Job& job, std::string_view outcome, std::string_view message) override {
    std::lock_guard<std::mutex> lock(mu_);
    logs_.push_back({job.id, job.queue, std::string(outcome), std::string(message)});
  }
  void StoreError(std::string_view op, const Status& status) override {
    std::lock_guard<std::mutex> lock(mu_);
    store_errors_.push_back(std::string(op) + ": " + status.ToString());
  }
  std::vector<Event> logs() {
    std::lock_guard<std::mutex> lock(mu_);
    return logs_;
  }
  std::vector<std::string> outcomes() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<std::string> out;
    for (const Event& e : logs_) out.push_back(e.outcome);
    return out;
  }
  size_t finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return finished_.size();
  }
  size_t count(std::string_view outcome) {
    std::lock_guard<std::mutex> lock(mu_);
    size_t n = 0;
    for (const Event& e : logs_) if (e.outcome == outcome) ++n;
    return n;
  }
  std::vector<std::string> store_errors() {
    std::lock_guard<std::mutex> lock(mu_);
    return store_errors_;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> finished_;
  std::vector<Event> logs_;
  std::vector<std::string> store_errors_;
};

// A one-shot signal between a handler and the test.
class Latch {
 public:
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }
  bool Wait(milliseconds timeout = milliseconds(10'000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class WorkerTest : public StoreTest {
 protected:
  // Fast polling and short backoffs so the tests take milliseconds, not seconds.
  static WorkerOptions Fast(Recorder& rec, size_t threads = 2) {
    WorkerOptions o;
    o.threads = threads;
    o.visibility_ms = 10'000;
    o.idle_poll_ms = 5;
    o.idle_poll_max_ms = 20;
    o.stop_deadline_ms = 5'000;
    o.observer = &rec;
    return o;
  }
  static JobOptions Quick(int64_t max_attempts = 5) {
    JobOptions o;
    o.max_attempts = max_attempts;
    o.backoff_base_ms = 10;
    o.backoff_max_ms = 20;
    return o;
  }
  int64_t Enqueue(JobQueue& q, std::string_view queue, std::string_view payload, const JobOptions& o = Quick()) {
    auto id = q.Enqueue(queue, payload, o, WallMs());
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    return id.ok() ? *id : 0;
  }
  static JobState StateOf(JobQueue& q, int64_t id) {
    auto j = q.Get(id);
    return j.ok() ? j->state : JobState::kQueued;
  }
};

TEST_P(WorkerTest, RunsAJobAndRecordsItsResult) {
  JobQueue q(*db_);
  Recorder rec;
  WorkerPool pool(*db_, Fast(rec));
  std::atomic<int64_t> seen_attempts{0};
  std::string seen_worker;
  VP_ASSERT_OK(pool.Register("prove", [&](JobContext& ctx) {
    seen_attempts = ctx.job().attempts;
    seen_worker = ctx.job().worker_id;
    EXPECT_FALSE(ctx.cancelled());
    EXPECT_FALSE(ctx.lease_lost());
    EXPECT_FALSE(ctx.stopping());
    return JobResult::Success("done:" + ctx.job().payload);
  }));
  VP_ASSERT_OK(pool.Start());
  const int64_t id = Enqueue(q, "prove", R"({"e":1})");
  pool.Notify();
  ASSERT_TRUE(Eventually([&] { return StateOf(q, id) == JobState::kSucceeded; }));
  auto job = q.Get(id);
  VP_ASSERT_OK(job);
  EXPECT_EQ(job->result, R"(done:{"e":1})");
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(seen_attempts.load(), 1);
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 1; }));
  pool.Stop();
  EXPECT_EQ(seen_worker, pool.worker_id());
  // Default worker id: hostname:pid:n.
  EXPECT_EQ(std::count(pool.worker_id().begin(), pool.worker_id().end(), ':'), 2) << pool.worker_id();
  EXPECT_EQ(rec.outcomes(), std::vector<std::string>{"succeeded"});
  EXPECT_EQ(rec.logs()[0].id, id);
  EXPECT_EQ(rec.logs()[0].queue, "prove");
  EXPECT_TRUE(rec.store_errors().empty());
}

TEST_P(WorkerTest, RetryThenSuccess) {
  JobQueue q(*db_);
  Recorder rec;
  WorkerPool pool(*db_, Fast(rec));
  VP_ASSERT_OK(pool.Register("q", [](JobContext& ctx) {
    if (ctx.job().attempts == 1) return JobResult::Retry("flaky upstream");
    return JobResult::Success("second time lucky");
  }));
  VP_ASSERT_OK(pool.Start());
  const int64_t id = Enqueue(q, "q", "p");
  ASSERT_TRUE(Eventually([&] { return StateOf(q, id) == JobState::kSucceeded; }));
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 2; }));
  pool.Stop();
  auto job = q.Get(id);
  EXPECT_EQ(job->attempts, 2);
  EXPECT_EQ(job->result, "second time lucky");
  EXPECT_EQ(job->last_error, "flaky upstream");
  EXPECT_EQ(rec.outcomes(), (std::vector<std::string>{"retry", "succeeded"}));
  EXPECT_EQ(rec.logs()[0].message, "flaky upstream");
}

TEST_P(WorkerTest, DeadLetterAfterMaxAttempts) {
  JobQueue q(*db_);
  Recorder rec;
  WorkerPool pool(*db_, Fast(rec));
  std::atomic<int> runs{0};
  VP_ASSERT_OK(pool.Register("q", [&](JobContext& ctx) {
    ++runs;
    return JobResult::Retry("nope " + std::to_string(ctx.job().attempts));
  }));
  VP_ASSERT_OK(pool.Start());
  const int64_t id = Enqueue(q, "q", "p", Quick(/*max_attempts=*/3));
  ASSERT_TRUE(Eventually([&] { return StateOf(q, id) == JobState::kDead; }));
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 3; }));
  std::this_thread::sleep_for(milliseconds(50));  // nothing more runs
  pool.Stop();
  EXPECT_EQ(runs.load(), 3);
  EXPECT_EQ(q.Get(id)->last_error, "nope 3");
  EXPECT_EQ(rec.outcomes(), (std::vector<std::string>{"retry", "retry", "dead"}));
}

TEST_P(WorkerTest, PermanentFailureGoesStraightToDead) {
  JobQueue q(*db_);
  Recorder rec;
  WorkerPool pool(*db_, Fast(rec));
  VP_ASSERT_OK(pool.Register("q", [](JobContext&) { return JobResult::Permanent("malformed payload"); }));
  VP_ASSERT_OK(pool.Start());
  const int64_t id = Enqueue(q, "q", "{", Quick(/*max_attempts=*/5));
  ASSERT_TRUE(Eventually([&] { return StateOf(q, id) == JobState::kDead; }));
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 1; }));
  pool.Stop();
  auto job = q.Get(id);
  EXPECT_EQ(job->attempts, 1);
  EXPECT_EQ(job->last_error, "malformed payload");
  EXPECT_EQ(rec.outcomes(), std::vector<std::string>{"dead"});
}

// A throwing handler is a retryable failure with the exception's text; a throwing observer
// is ignored; the pool keeps running jobs afterwards.
TEST_P(WorkerTest, ThrowingHandlersAndObserversEscapeNothing) {
  struct Throwing : Recorder {
    void JobFinished(std::string_view q, std::string_view o, double s) override {
      Recorder::JobFinished(q, o, s);
      throw std::runtime_error("observer bug");
    }
  } rec;
  JobQueue q(*db_);
  WorkerPool pool(*db_, Fast(rec));
  VP_ASSERT_OK(pool.Register("std", [](JobContext& ctx) -> JobResult {
    if (ctx.job().attempts == 1) throw std::runtime_error("kaput");
    return JobResult::Success("ok");
  }));
  VP_ASSERT_OK(pool.Register("other", [](JobContext&) -> JobResult { throw 42; }));
  VP_ASSERT_OK(pool.Start());
  const int64_t a = Enqueue(q, "std", "p");
  const int64_t b = Enqueue(q, "other", "p", Quick(/*max_attempts=*/1));
  ASSERT_TRUE(Eventually([&] { return StateOf(q, a) == JobState::kSucceeded && StateOf(q, b) == JobState::kDead; }));
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 3; }));
  pool.Stop();
  EXPECT_EQ(q.Get(a)->last_error, "handler threw: kaput");
  EXPECT_EQ(q.Get(b)->last_error, "handler threw a non-standard exception");
  EXPECT_EQ(rec.count("retry"), 1u);
  EXPECT_EQ(rec.count("succeeded"), 1u);
  EXPECT_EQ(rec.count("dead"), 1u);
}

// Two pools on two Db objects (two hosts sharing the database) drain 200 jobs: every job
// runs exactly once.
TEST_P(WorkerTest, TwoPoolsNeverRunTheSameJobTwice) {
  auto second = OpenSecond();
  ASSERT_NE(second, nullptr);
  JobQueue q(*db_);
  constexpr int kJobs = 200;
  std::vector<int64_t> ids;
  for (int i = 0; i < kJobs; ++i) ids.push_back(Enqueue(q, "work", std::to_string(i), Quick(/*max_attempts=*/1)));
  std::mutex mu;
  std::map<int64_t, int> runs;
  auto handler = [&](JobContext& ctx) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++runs[ctx.job().id];
    }
    std::this_thread::yield();
    return JobResult::Success(ctx.job().worker_id);
  };
  Recorder rec_a, rec_b;
  WorkerOptions oa = Fast(rec_a, 3), ob = Fast(rec_b, 3);
  oa.worker_id = "host-a";
  ob.worker_id = "host-b";
  WorkerPool a(*db_, oa), b(*second, ob);
  VP_ASSERT_OK(a.Register("work", handler));
  VP_ASSERT_OK(b.Register("work", handler));
  VP_ASSERT_OK(a.Start());
  VP_ASSERT_OK(b.Start());
  ASSERT_TRUE(Eventually([&] { return rec_a.finished() + rec_b.finished() >= kJobs; }, milliseconds(15'000)));
  a.Stop();
  b.Stop();
  EXPECT_EQ(rec_a.count("succeeded") + rec_b.count("succeeded"), static_cast<size_t>(kJobs));
  EXPECT_EQ(rec_a.finished() + rec_b.finished(), static_cast<size_t>(kJobs));
  ASSERT_EQ(runs.size(), static_cast<size_t>(kJobs));
  std::map<std::string, int> by_host;
  for (int64_t id : ids) {
    EXPECT_EQ(runs[id], 1) << id;
    auto job = q.Get(id);
    VP_ASSERT_OK(job);
    EXPECT_EQ(job->state, JobState::kSucceeded);
    EXPECT_EQ(job->result, job->worker_id);  // completed by the pool that leased it
    ++by_host[job->worker_id];
  }
  std::printf("two pools: host-a ran %d, host-b ran %d\n", by_host["host-a"], by_host["host-b"]);
  EXPECT_TRUE(rec_a.store_errors().empty());
  EXPECT_TRUE(rec_b.store_errors().empty());
}

// A worker that stops heartbeating (heartbeats off, handler stuck past the visibility
// timeout) loses the job to another pool; its late result is dropped, not recorded.
TEST_P(WorkerTest, SilentWorkerLosesTheLeaseAndItsLateResultIsDropped) {
  auto second = OpenSecond();
  ASSERT_NE(second, nullptr);
  JobQueue q(*db_);
  Recorder rec_a, rec_b;
  WorkerOptions oa = Fast(rec_a, 1);
  oa.worker_id = "silent";
  oa.visibility_ms = 200;
  oa.heartbeat_ms = -1;
  Latch a_started, a_release;
  WorkerPool a(*db_, oa);
  VP_ASSERT_OK(a.Register("q", [&](JobContext&) {
    a_started.Open();
    a_release.Wait();
    return JobResult::Success("late result from a");
  }));
  VP_ASSERT_OK(a.Start());
  const int64_t id = Enqueue(q, "q", "p");
  ASSERT_TRUE(a_started.Wait());

  WorkerOptions ob = Fast(rec_b, 1);
  ob.worker_id = "rescuer";
  WorkerPool b(*second, ob);
  VP_ASSERT_OK(b.Register("q", [](JobContext&) { return JobResult::Success("result from b"); }));
  VP_ASSERT_OK(b.Start());
  ASSERT_TRUE(Eventually([&] { return StateOf(q, id) == JobState::kSucceeded; }));
  a_release.Open();
  ASSERT_TRUE(Eventually([&] { return rec_a.finished() == 1; }));
  a.Stop();
  b.Stop();
  auto job = q.Get(id);
  EXPECT_EQ(job->result, "result from b");
  EXPECT_EQ(job->worker_id, "rescuer");
  EXPECT_EQ(job->attempts, 2);
  EXPECT_EQ(rec_a.outcomes(), std::vector<std::string>{"lease_lost"});
  EXPECT_EQ(rec_b.outcomes(), std::vector<std::string>{"succeeded"});
  EXPECT_TRUE(rec_a.store_errors().empty());
}

// Heartbeats keep a job that runs longer than the visibility timeout; when the lease is
// taken anyway (here by a worker whose clock runs far ahead), the next heartbeat tells
// the handler.
TEST_P(WorkerTest, HeartbeatsKeepTheLeaseAndReportItsLoss) {
  JobQueue q(*db_);
  Recorder rec;
  WorkerOptions o = Fast(rec, 1);
  o.visibility_ms = 300;
  o.heartbeat_ms = 40;
  Latch started;
  std::atomic<bool> saw_loss{false};
  WorkerPool pool(*db_, o);
  VP_ASSERT_OK(pool.Register("q", [&](JobContext& ctx) {
    started.Open();
    for (int i = 0; i < 500 && ctx.SleepFor(milliseconds(20)); ++i) {
    }
    saw_loss = ctx.lease_lost();
    return JobResult::Success("late");
  }));
  VP_ASSERT_OK(pool.Start());
  const int64_t id = Enqueue(q, "q", "p");
  ASSERT_TRUE(started.Wait());
  std::this_thread::sleep_for(milliseconds(750));  // 2.5 visibility timeouts
  auto none = q.Lease("q", "other", 10'000, WallMs());
  VP_ASSERT_OK(none);
  EXPECT_FALSE(none->has_value()) << "the heartbeat should have kept the lease";

  auto thief = q.Lease("q", "thief", 60'000, WallMs() + 3'600'000);
  VP_ASSERT_OK(thief);
  ASSERT_TRUE(thief->has_value());
  EXPECT_EQ((*thief)->id, id);
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 1; }));
  pool.Stop();
  EXPECT_TRUE(saw_loss.load());
  EXPECT_EQ(rec.outcomes(), std::vector<std::string>{"lease_lost"});
  VP_ASSERT_OK(q.Complete(id, (*thief)->lease_token, "thief's", WallMs()));
  EXPECT_EQ(q.Get(id)->result, "thief's");
}

TEST_P(WorkerTest, CancelDuringARunIsSeenByTheHandler) {
  JobQueue q(*db_);
  Recorder rec;
  WorkerOptions o = Fast(rec, 1);
  o.heartbeat_ms = 20;
  Latch started;
  std::atomic<bool> saw_cancel{false};
  WorkerPool pool(*db_, o);
  VP_ASSERT_OK(pool.Register("q", [&](JobContext& ctx) {
    started.Open();
    for (int i = 0; i < 500 && ctx.SleepFor(milliseconds(20)); ++i) {
    }
    saw_cancel = ctx.cancelled();
    EXPECT_FALSE(ctx.lease_lost());
    return JobResult::Success("must not be recorded");
  }));
  VP_ASSERT_OK(pool.Start());
  const int64_t id = Enqueue(q, "q", "p");
  ASSERT_TRUE(started.Wait());
  VP_ASSERT_OK(q.Cancel(id, WallMs()));
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 1; }, milliseconds(5'000)));
  pool.Stop();
  EXPECT_TRUE(saw_cancel.load());
  auto job = q.Get(id);
  EXPECT_EQ(job->state, JobState::kCancelled);
  EXPECT_EQ(job->result, "");
  EXPECT_EQ(rec.outcomes(), std::vector<std::string>{"cancelled"});
}

// The same without heartbeats: the handler finishes unaware, and the refused Complete is
// reported as cancelled rather than as an error.
TEST_P(WorkerTest, CancelSeenOnlyAtCompletionIsReportedAsCancelled) {
  JobQueue q(*db_);
  Recorder rec;
  WorkerOptions o = Fast(rec, 1);
  o.heartbeat_ms = -1;
  Latch started, release;
  WorkerPool pool(*db_, o);
  VP_ASSERT_OK(pool.Register("q", [&](JobContext&) {
    started.Open();
    release.Wait();
    return JobResult::Success("must not be recorded");
  }));
  VP_ASSERT_OK(pool.Start());
  const int64_t id = Enqueue(q, "q", "p");
  ASSERT_TRUE(started.Wait());
  VP_ASSERT_OK(q.Cancel(id, WallMs()));
  release.Open();
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 1; }));
  pool.Stop();
  EXPECT_EQ(StateOf(q, id), JobState::kCancelled);
  EXPECT_EQ(rec.outcomes(), std::vector<std::string>{"cancelled"});
  EXPECT_TRUE(rec.store_errors().empty());
}

// With a 10 s poll interval, a job enqueued while the pool is idle runs at once after
// Notify, and Stop does not wait for the poll either.
TEST_P(WorkerTest, NotifyWakesAnIdlePoolAtOnce) {
  JobQueue q(*db_);
  Recorder rec;
  WorkerOptions o = Fast(rec, 2);
  o.idle_poll_ms = 10'000;
  o.idle_poll_max_ms = 10'000;
  std::atomic<int64_t> ran_at{0};
  WorkerPool pool(*db_, o);
  VP_ASSERT_OK(pool.Register("q", [&](JobContext&) {
    ran_at = WallMs();
    return JobResult::Success("");
  }));
  VP_ASSERT_OK(pool.Start());
  std::this_thread::sleep_for(milliseconds(150));  // both threads found nothing and sleep
  const SteadyClock::time_point t0 = SteadyClock::now();
  Enqueue(q, "q", "p");
  pool.Notify();
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 1; }, milliseconds(3'000)));
  const auto latency = std::chrono::duration_cast<milliseconds>(SteadyClock::now() - t0);
  std::printf("notify latency: %lld ms\n", static_cast<long long>(latency.count()));
  EXPECT_LT(latency.count(), 3'000);
  const SteadyClock::time_point s0 = SteadyClock::now();
  pool.Stop();
  EXPECT_LT(std::chrono::duration_cast<milliseconds>(SteadyClock::now() - s0).count(), 3'000);
}

TEST_P(WorkerTest, StopWaitsForRunningHandlers) {
  JobQueue q(*db_);
  Recorder rec;
  Latch started;
  std::atomic<bool> finished{false}, saw_stopping{false}, saw_cancel{false};
  WorkerPool pool(*db_, Fast(rec, 1));
  VP_ASSERT_OK(pool.Register("q", [&](JobContext& ctx) {
    started.Open();
    std::this_thread::sleep_for(milliseconds(300));
    saw_stopping = ctx.stopping();
    saw_cancel = ctx.cancelled();
    finished = true;
    return JobResult::Success("finished during Stop");
  }));
  VP_ASSERT_OK(pool.Start());
  const int64_t id = Enqueue(q, "q", "p");
  const int64_t queued_after = Enqueue(q, "q", "not run: enqueued behind, Stop stops leasing");
  ASSERT_TRUE(started.Wait());
  pool.Stop();  // deadline 5 s
  EXPECT_TRUE(finished.load());
  EXPECT_TRUE(saw_stopping.load());
  EXPECT_FALSE(saw_cancel.load());
  EXPECT_EQ(StateOf(q, id), JobState::kSucceeded);
  EXPECT_EQ(q.Get(id)->result, "finished during Stop");
  EXPECT_EQ(StateOf(q, queued_after), JobState::kQueued);
  EXPECT_EQ(rec.outcomes(), std::vector<std::string>{"succeeded"});
  pool.Stop();  // again: nothing to do
}

// Past Stop's deadline handlers see cancelled(): a retryable result releases the job (due
// now, attempt not counted), a success is still recorded.
TEST_P(WorkerTest, StopDeadlineCancelsHandlersAndReleasesTheirJobs) {
  JobQueue q(*db_);
  Recorder rec;
  std::atomic<int> started{0};
  WorkerPool pool(*db_, Fast(rec, 2));
  VP_ASSERT_OK(pool.Register("q", [&](JobContext& ctx) {
    ++started;
    for (int i = 0; i < 500 && ctx.SleepFor(milliseconds(20)); ++i) {
    }
    EXPECT_TRUE(ctx.cancelled());
    if (ctx.job().payload == "finish") return JobResult::Success("partial but fine");
    return JobResult::Retry("interrupted by shutdown");
  }));
  VP_ASSERT_OK(pool.Start());
  const int64_t give_back = Enqueue(q, "q", "give back");
  const int64_t finish = Enqueue(q, "q", "finish");
  ASSERT_TRUE(Eventually([&] { return started.load() == 2; }));
  const SteadyClock::time_point t0 = SteadyClock::now();
  pool.Stop(milliseconds(100));
  EXPECT_LT(std::chrono::duration_cast<milliseconds>(SteadyClock::now() - t0).count(), 3'000);
  auto released = q.Get(give_back);
  VP_ASSERT_OK(released);
  EXPECT_EQ(released->state, JobState::kQueued);
  EXPECT_EQ(released->attempts, 0);
  EXPECT_LE(released->visible_at_ms, WallMs());
  EXPECT_EQ(StateOf(q, finish), JobState::kSucceeded);
  EXPECT_EQ(rec.count("released"), 1u);
  EXPECT_EQ(rec.count("succeeded"), 1u);
}

// One thread, two queues with a backlog each: it alternates between them.
TEST_P(WorkerTest, RoundRobinAcrossQueues) {
  JobQueue q(*db_);
  for (int i = 0; i < 5; ++i) {
    Enqueue(q, "a", "a");
    Enqueue(q, "b", "b");
  }
  Enqueue(q, "b", "b");  // b has one more: it runs last
  Recorder rec;
  std::mutex mu;
  std::string order;
  auto handler = [&](JobContext& ctx) {
    std::lock_guard<std::mutex> lock(mu);
    order += ctx.job().payload;
    return JobResult::Success("");
  };
  WorkerPool pool(*db_, Fast(rec, 1));
  VP_ASSERT_OK(pool.Register("a", handler));
  VP_ASSERT_OK(pool.Register("b", handler));
  VP_ASSERT_OK(pool.Start());
  ASSERT_TRUE(Eventually([&] { return rec.finished() == 11; }));
  pool.Stop();
  EXPECT_EQ(order, "ababababab" "b");
}

TEST_P(WorkerTest, RegisterStartAndOptionsAreChecked) {
  auto ok = [](JobContext&) { return JobResult::Success(""); };
  {
    WorkerPool pool(*db_, {});
    EXPECT_EQ(pool.Start().code(), StatusCode::kFailedPrecondition);  // no handler
    EXPECT_EQ(pool.Register("", ok).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(pool.Register("q", JobHandler()).code(), StatusCode::kInvalidArgument);
    VP_EXPECT_OK(pool.Register("q", ok));
    EXPECT_EQ(pool.Register("q", ok).code(), StatusCode::kInvalidArgument);  // one handler per queue
    VP_EXPECT_OK(pool.Start());
    EXPECT_EQ(pool.Start().code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(pool.Register("r", ok).code(), StatusCode::kFailedPrecondition);
    pool.Stop();
    pool.Stop();
    EXPECT_EQ(pool.Start().code(), StatusCode::kFailedPrecondition);  // no restart
  }
  {
    WorkerPool never_started(*db_, {});
    never_started.Stop();  // and the destructor: fine without Start
  }
  WorkerOptions named;
  named.worker_id = "me";
  EXPECT_EQ(WorkerPool(*db_, named).worker_id(), "me");
  EXPECT_NE(WorkerPool(*db_, {}).worker_id(), WorkerPool(*db_, {}).worker_id());  // n differs

  auto refused = [&](auto edit) {
    WorkerOptions o;
    edit(o);
    WorkerPool pool(*db_, o);
    EXPECT_TRUE(pool.Register("q", ok).ok());
    return pool.Start().code() == StatusCode::kInvalidArgument;
  };
  EXPECT_TRUE(refused([](WorkerOptions& o) { o.threads = 0; }));
  EXPECT_TRUE(refused([](WorkerOptions& o) { o.threads = 100'000; }));
  EXPECT_TRUE(refused([](WorkerOptions& o) { o.visibility_ms = 0; }));
  EXPECT_TRUE(refused([](WorkerOptions& o) { o.heartbeat_ms = o.visibility_ms; }));
  EXPECT_TRUE(refused([](WorkerOptions& o) { o.idle_poll_ms = 0; }));
  EXPECT_TRUE(refused([](WorkerOptions& o) { o.idle_poll_max_ms = o.idle_poll_ms - 1; }));
  EXPECT_TRUE(refused([](WorkerOptions& o) { o.stop_deadline_ms = -1; }));
  EXPECT_FALSE(refused([](WorkerOptions& o) { o.heartbeat_ms = -1; }));  // heartbeats off is allowed
}

// A handler can be tested without a pool, with a JobContext made by hand.
TEST(JobContextTest, SleepForReturnsTrueWhenUndisturbed) {
  Job job;
  job.id = 7;
  job.payload = "p";
  JobContext ctx(job);
  EXPECT_EQ(ctx.job().id, 7);
  EXPECT_TRUE(ctx.SleepFor(milliseconds(1)));
  EXPECT_FALSE(ctx.cancelled());
  EXPECT_FALSE(ctx.lease_lost());
  EXPECT_FALSE(ctx.stopping());
}

VP_STORE_INSTANTIATE(WorkerTest);

}  // namespace
}  // namespace vp::store
