// The job queue on both backends: leasing, visibility timeouts, heartbeats, retries with
// backoff, dead letters, cancellation, stale lease tokens, and many workers on two Db
// objects never holding the same job.
#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "vp/store/jobs.h"
#include "vp/store/store_test_util.h"

namespace vp::store {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

using JobQueueTest = StoreTest;

JobOptions Opts(int64_t max_attempts = 5, int64_t base = 1000, int64_t max = 8000) {
  JobOptions o;
  o.max_attempts = max_attempts;
  o.backoff_base_ms = base;
  o.backoff_max_ms = max;
  return o;
}

std::optional<Job> MustLease(JobQueue& q, std::string_view queue, int64_t now, int64_t vis = 10'000) {
  auto j = q.Lease(queue, "w", vis, now);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  return j.ok() ? *j : std::nullopt;
}

TEST_P(JobQueueTest, EnqueueLeaseComplete) {
  JobQueue q(*db_);
  auto id = q.Enqueue("prove", R"({"election":"e1"})", Opts(), kT0);
  VP_ASSERT_OK(id);
  EXPECT_EQ(*q.Depth("prove"), 1);
  EXPECT_EQ(*q.Depth("other"), 0);

  auto j = q.Lease("prove", "worker-1", 30'000, kT0 + 5);
  VP_ASSERT_OK(j);
  ASSERT_TRUE(j->has_value());
  const Job& job = **j;
  EXPECT_EQ(job.id, *id);
  EXPECT_EQ(job.queue, "prove");
  EXPECT_EQ(job.payload, R"({"election":"e1"})");
  EXPECT_EQ(job.state, JobState::kLeased);
  EXPECT_EQ(job.attempts, 1);
  EXPECT_EQ(job.max_attempts, 5);
  EXPECT_EQ(job.visible_at_ms, kT0 + 5 + 30'000);
  EXPECT_EQ(job.worker_id, "worker-1");
  EXPECT_EQ(job.lease_token.size(), 32u);  // 128 bits, hex
  EXPECT_EQ(job.created_at_ms, kT0);
  EXPECT_EQ(*q.Depth("prove"), 1);  // leased still counts

  // Nothing else is due.
  EXPECT_FALSE(MustLease(q, "prove", kT0 + 6).has_value());

  VP_ASSERT_OK(q.Complete(job.id, job.lease_token, R"({"ok":true})", kT0 + 10));
  auto done = q.Get(job.id);
  VP_ASSERT_OK(done);
  EXPECT_EQ(done->state, JobState::kSucceeded);
  EXPECT_EQ(done->result, R"({"ok":true})");
  EXPECT_TRUE(done->lease_token.empty());
  EXPECT_EQ(*q.Depth("prove"), 0);
  // Finished: the token no longer works.
  EXPECT_EQ(q.Complete(job.id, job.lease_token, "{}", kT0 + 11).code(), StatusCode::kFailedPrecondition);
}

TEST_P(JobQueueTest, FifoAndDelay) {
  JobQueue q(*db_);
  JobOptions later = Opts();
  later.delay_ms = 5000;
  auto a = q.Enqueue("q", "a", later, kT0);
  auto b = q.Enqueue("q", "b", Opts(), kT0);
  auto c = q.Enqueue("q", "c", Opts(), kT0);
  VP_ASSERT_OK(a);
  VP_ASSERT_OK(b);
  VP_ASSERT_OK(c);
  EXPECT_LT(*b, *c);
  EXPECT_EQ(MustLease(q, "q", kT0)->payload, "b");
  EXPECT_EQ(MustLease(q, "q", kT0)->payload, "c");
  EXPECT_FALSE(MustLease(q, "q", kT0 + 4999).has_value());  // a is not due yet
  EXPECT_EQ(MustLease(q, "q", kT0 + 5000)->payload, "a");
}

TEST_P(JobQueueTest, ExpiredLeaseIsReleasedAndTheStaleTokenRefused) {
  JobQueue q(*db_);
  auto id = q.Enqueue("q", "p", Opts(), kT0);
  VP_ASSERT_OK(id);
  auto first = MustLease(q, "q", kT0, 1000);
  ASSERT_TRUE(first.has_value());
  EXPECT_FALSE(MustLease(q, "q", kT0 + 999).has_value());  // still held
  auto second = MustLease(q, "q", kT0 + 1000, 1000);       // lease expired at exactly kT0 + 1000
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->id, *id);
  EXPECT_EQ(second->attempts, 2);
  EXPECT_NE(second->lease_token, first->lease_token);
  EXPECT_EQ(second->last_error, "lease expired");

  // The first worker comes back too late: every call with its token is refused.
  EXPECT_EQ(q.Heartbeat(*id, first->lease_token, 1000, kT0 + 1001).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Complete(*id, first->lease_token, "r1", kT0 + 1001).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Fail(*id, first->lease_token, "e", kT0 + 1001).status().code(), StatusCode::kFailedPrecondition);
  VP_ASSERT_OK(q.Complete(*id, second->lease_token, "r2", kT0 + 1002));
  EXPECT_EQ(q.Get(*id)->result, "r2");
}

TEST_P(JobQueueTest, ExpiredButNotTakenOverLeaseIsStillHonoured) {
  JobQueue q(*db_);
  auto id = q.Enqueue("q", "p", Opts(), kT0);
  VP_ASSERT_OK(id);
  auto j = MustLease(q, "q", kT0, 1000);
  ASSERT_TRUE(j.has_value());
  VP_EXPECT_OK(q.Complete(*id, j->lease_token, "late but alone", kT0 + 5000));
}

TEST_P(JobQueueTest, HeartbeatExtendsTheLease) {
  JobQueue q(*db_);
  auto id = q.Enqueue("q", "p", Opts(), kT0);
  VP_ASSERT_OK(id);
  auto j = MustLease(q, "q", kT0, 1000);
  ASSERT_TRUE(j.has_value());
  VP_ASSERT_OK(q.Heartbeat(*id, j->lease_token, 1000, kT0 + 900));
  EXPECT_FALSE(MustLease(q, "q", kT0 + 1500).has_value());
  EXPECT_EQ(q.Get(*id)->visible_at_ms, kT0 + 1900);
  EXPECT_TRUE(MustLease(q, "q", kT0 + 1900).has_value());
  EXPECT_EQ(q.Heartbeat(*id, "not-a-token", 1000, kT0).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Heartbeat(*id, j->lease_token, 0, kT0).code(), StatusCode::kInvalidArgument);
}

TEST_P(JobQueueTest, FailRetriesWithExponentialBackoffThenDeadLetters) {
  JobQueue q(*db_);
  auto id = q.Enqueue("q", "p", Opts(/*max_attempts=*/5, /*base=*/1000, /*max=*/3000), kT0);
  VP_ASSERT_OK(id);
  int64_t now = kT0;
  const int64_t expected_delays[] = {1000, 2000, 3000, 3000};  // capped at max
  for (int attempt = 1; attempt <= 4; ++attempt) {
    auto j = MustLease(q, "q", now);
    ASSERT_TRUE(j.has_value()) << attempt;
    EXPECT_EQ(j->attempts, attempt);
    auto st = q.Fail(*id, j->lease_token, "boom " + std::to_string(attempt), now);
    VP_ASSERT_OK(st);
    EXPECT_EQ(*st, JobState::kQueued);
    const int64_t delay = expected_delays[attempt - 1];
    EXPECT_EQ(q.Get(*id)->visible_at_ms, now + delay);
    EXPECT_FALSE(MustLease(q, "q", now + delay - 1).has_value()) << attempt;
    now += delay;
  }
  auto last = MustLease(q, "q", now);
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(last->attempts, 5);
  auto st = q.Fail(*id, last->lease_token, "final", now);
  VP_ASSERT_OK(st);
  EXPECT_EQ(*st, JobState::kDead);
  auto dead = q.Get(*id);
  EXPECT_EQ(dead->state, JobState::kDead);
  EXPECT_EQ(dead->last_error, "final");
  EXPECT_EQ(*q.Depth("q"), 0);
  EXPECT_FALSE(MustLease(q, "q", now + 10'000'000).has_value());
}

TEST_P(JobQueueTest, LeaseExpiringOnTheFinalAttemptDeadLetters) {
  JobQueue q(*db_);
  auto id = q.Enqueue("q", "p", Opts(/*max_attempts=*/2), kT0);
  VP_ASSERT_OK(id);
  ASSERT_TRUE(MustLease(q, "q", kT0, 100).has_value());
  ASSERT_TRUE(MustLease(q, "q", kT0 + 100, 100).has_value());  // attempt 2 after expiry
  auto other = q.Enqueue("q", "next", Opts(), kT0 + 200);  // due with the expiry, queued behind it
  VP_ASSERT_OK(other);
  auto j = MustLease(q, "q", kT0 + 200, 100);  // attempt 2 expired: dead, and the next job is leased
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->id, *other);
  EXPECT_EQ(q.Get(*id)->state, JobState::kDead);
  EXPECT_EQ(q.Get(*id)->last_error, "lease expired on the final attempt");
}

TEST_P(JobQueueTest, Cancel) {
  JobQueue q(*db_);
  auto queued = q.Enqueue("q", "a", Opts(), kT0);
  auto leased = q.Enqueue("q", "b", Opts(), kT0 + 1);
  auto done = q.Enqueue("q", "c", Opts(), kT0 + 2);
  VP_ASSERT_OK(queued);
  VP_ASSERT_OK(leased);
  VP_ASSERT_OK(done);
  VP_ASSERT_OK(q.Cancel(*queued, kT0 + 3));
  VP_ASSERT_OK(q.Cancel(*queued, kT0 + 3));  // again: fine
  auto lb = MustLease(q, "q", kT0 + 4);
  ASSERT_TRUE(lb.has_value());
  EXPECT_EQ(lb->id, *leased);  // the cancelled one is skipped
  auto lc = MustLease(q, "q", kT0 + 4);
  ASSERT_TRUE(lc.has_value());
  VP_ASSERT_OK(q.Complete(*done, lc->lease_token, "r", kT0 + 5));

  VP_ASSERT_OK(q.Cancel(*leased, kT0 + 6));
  // The worker holding it learns at its next call.
  EXPECT_EQ(q.Heartbeat(*leased, lb->lease_token, 1000, kT0 + 7).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Complete(*leased, lb->lease_token, "r", kT0 + 7).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Get(*leased)->state, JobState::kCancelled);

  EXPECT_EQ(q.Cancel(*done, kT0 + 8).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Cancel(999'999, kT0).code(), StatusCode::kNotFound);
  EXPECT_EQ(*q.Depth("q"), 0);
}

TEST_P(JobQueueTest, FailPermanentlyDeadLettersAtOnce) {
  JobQueue q(*db_);
  auto id = q.Enqueue("q", "p", Opts(/*max_attempts=*/5), kT0);
  VP_ASSERT_OK(id);
  auto j = MustLease(q, "q", kT0);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(q.FailPermanently(*id, "not-the-token", "x", kT0 + 1).code(), StatusCode::kFailedPrecondition);
  VP_ASSERT_OK(q.FailPermanently(*id, j->lease_token, "malformed payload", kT0 + 1));
  auto dead = q.Get(*id);
  VP_ASSERT_OK(dead);
  EXPECT_EQ(dead->state, JobState::kDead);
  EXPECT_EQ(dead->attempts, 1);
  EXPECT_EQ(dead->last_error, "malformed payload");
  EXPECT_TRUE(dead->lease_token.empty());
  EXPECT_EQ(q.FailPermanently(*id, j->lease_token, "again", kT0 + 2).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.FailPermanently(999'999, "t", "e", kT0).code(), StatusCode::kNotFound);
  EXPECT_FALSE(MustLease(q, "q", kT0 + 10'000'000).has_value());
}

TEST_P(JobQueueTest, ReleaseRequeuesAtOnceWithoutCountingTheAttempt) {
  JobQueue q(*db_);
  auto id = q.Enqueue("q", "p", Opts(/*max_attempts=*/1), kT0);
  VP_ASSERT_OK(id);
  auto j = MustLease(q, "q", kT0);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->attempts, 1);
  VP_ASSERT_OK(q.Release(*id, j->lease_token, kT0 + 50));
  auto back = q.Get(*id);
  VP_ASSERT_OK(back);
  EXPECT_EQ(back->state, JobState::kQueued);
  EXPECT_EQ(back->attempts, 0);
  EXPECT_EQ(back->visible_at_ms, kT0 + 50);
  EXPECT_TRUE(back->lease_token.empty());
  // The old token is dead; the job is leasable at once and its single attempt is still there.
  EXPECT_EQ(q.Release(*id, j->lease_token, kT0 + 51).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(q.Complete(*id, j->lease_token, "r", kT0 + 51).code(), StatusCode::kFailedPrecondition);
  auto again = MustLease(q, "q", kT0 + 50);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->attempts, 1);
  VP_ASSERT_OK(q.Complete(*id, again->lease_token, "r", kT0 + 60));
  EXPECT_EQ(q.Release(999'999, "t", kT0).code(), StatusCode::kNotFound);
}

TEST_P(JobQueueTest, CountsPerQueueAndStateWithLag) {
  JobQueue q(*db_);
  auto none = q.Counts(kT0);
  VP_ASSERT_OK(none);
  EXPECT_TRUE(none->empty());
  // queue a: two queued (one due since kT0, one delayed), one leased, one dead, one
  // succeeded and one cancelled (neither counted).
  JobOptions delayed = Opts();
  delayed.delay_ms = 60'000;
  auto a1 = q.Enqueue("a", "1", Opts(), kT0);           // leased below
  auto a2 = q.Enqueue("a", "2", Opts(), kT0 + 1);       // dead below
  auto a3 = q.Enqueue("a", "3", Opts(), kT0 + 2);       // succeeded below
  auto a4 = q.Enqueue("a", "4", Opts(), kT0 + 3);       // cancelled
  auto a5 = q.Enqueue("a", "5", Opts(), kT0 + 4);       // queued and due
  auto a6 = q.Enqueue("a", "6", delayed, kT0 + 5);      // queued, not due
  auto b1 = q.Enqueue("b", "1", Opts(), kT0 + 1000);   // leased, lease expired at kT0 + 1500
  auto b2 = q.Enqueue("b", "2", delayed, kT0 + 1000);  // queued, not due
  for (const auto* id : {&a1, &a2, &a3, &a4, &a5, &a6, &b1, &b2}) VP_ASSERT_OK(*id);
  VP_ASSERT_OK(q.Cancel(*a4, kT0 + 10));
  auto l1 = MustLease(q, "a", kT0 + 10, 100'000);
  auto l2 = MustLease(q, "a", kT0 + 10);
  auto l3 = MustLease(q, "a", kT0 + 10);
  ASSERT_TRUE(l1 && l2 && l3);
  ASSERT_EQ(l1->id, *a1);
  VP_ASSERT_OK(q.FailPermanently(*a2, l2->lease_token, "bad", kT0 + 11));
  VP_ASSERT_OK(q.Complete(*a3, l3->lease_token, "ok", kT0 + 11));
  auto lb = MustLease(q, "b", kT0 + 1000, 500);
  ASSERT_TRUE(lb.has_value());
  EXPECT_EQ(lb->id, *b1);

  auto counts = q.Counts(kT0 + 2000);
  VP_ASSERT_OK(counts);
  ASSERT_EQ(counts->size(), 2u);
  const QueueCounts& a = (*counts)[0];
  const QueueCounts& b = (*counts)[1];
  EXPECT_EQ(a.queue, "a");
  EXPECT_EQ(a.queued, 2);
  EXPECT_EQ(a.leased, 1);
  EXPECT_EQ(a.dead, 1);
  EXPECT_EQ(a.oldest_due_age_ms, 2000 - 4);  // a5, due at kT0 + 4; the leased a1 is not due
  EXPECT_EQ(b.queue, "b");
  EXPECT_EQ(b.queued, 1);
  EXPECT_EQ(b.leased, 1);
  EXPECT_EQ(b.dead, 0);
  EXPECT_EQ(b.oldest_due_age_ms, 500);  // b1's lease expired: due again, waiting for a worker

  // Nothing due: no lag.
  auto early = q.Counts(kT0 + 1);
  VP_ASSERT_OK(early);
  EXPECT_EQ((*early)[0].oldest_due_age_ms, 0);
}

TEST_P(JobQueueTest, UnknownJobsAndBadArguments) {
  JobQueue q(*db_);
  EXPECT_EQ(q.Get(42).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(q.Heartbeat(42, "t", 1000, kT0).code(), StatusCode::kNotFound);
  EXPECT_EQ(q.Complete(42, "t", "", kT0).code(), StatusCode::kNotFound);
  EXPECT_EQ(q.Fail(42, "t", "", kT0).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(q.Enqueue("", "p", Opts(), kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q.Enqueue("q", "p", Opts(0), kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q.Enqueue("q", "p", Opts(1, 0), kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q.Enqueue("q", "p", Opts(1, 100, 50), kT0).status().code(), StatusCode::kInvalidArgument);
  JobOptions neg = Opts();
  neg.delay_ms = -1;
  EXPECT_EQ(q.Enqueue("q", "p", neg, kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q.Lease("", "w", 1000, kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(q.Lease("q", "w", 0, kT0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(JobStateName(JobState::kDead), "dead");
}

// Several workers on two Db objects drain one queue: every job is leased exactly once
// and completed exactly once (each Complete succeeds: no job was held by two workers).
TEST_P(JobQueueTest, ConcurrentWorkersNeverShareAJob) {
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  JobQueue qa(*db_), qb(*other);
  constexpr int kJobs = 120;
  constexpr int kWorkers = 6;
  std::vector<int64_t> ids;
  for (int i = 0; i < kJobs; ++i) {
    auto id = qa.Enqueue("work", std::to_string(i), Opts(), kT0);
    VP_ASSERT_OK(id);
    ids.push_back(*id);
  }
  std::mutex mu;
  std::map<int64_t, int> leases, completions;
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      JobQueue& q = w % 2 ? qa : qb;
      const std::string name = "worker-" + std::to_string(w);
      for (;;) {
        auto j = q.Lease("work", name, 600'000, kT0 + 1);
        if (!j.ok()) {
          ADD_FAILURE() << j.status().ToString();
          ++errors;
          return;
        }
        if (!j->has_value()) return;
        const Job& job = **j;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++leases[job.id];
        }
        Status s = q.Complete(job.id, job.lease_token, name, kT0 + 2);
        if (!s.ok()) {
          ADD_FAILURE() << s.ToString();
          ++errors;
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        ++completions[job.id];
      }
    });
  }
  for (auto& th : workers) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(leases.size(), static_cast<size_t>(kJobs));
  EXPECT_EQ(completions.size(), static_cast<size_t>(kJobs));
  for (int64_t id : ids) {
    EXPECT_EQ(leases[id], 1) << id;
    EXPECT_EQ(completions[id], 1) << id;
  }
  EXPECT_EQ(*qa.Depth("work"), 0);
}

// With short leases that expire under the workers, a job may be leased more than once, but
// only its current holder can complete it: each job is completed exactly once.
TEST_P(JobQueueTest, ConcurrentWorkersWithExpiringLeasesCompleteEachJobOnce) {
  auto other = OpenSecond();
  ASSERT_NE(other, nullptr);
  JobQueue qa(*db_), qb(*other);
  constexpr int kJobs = 60;
  constexpr int kWorkers = 4;
  for (int i = 0; i < kJobs; ++i) VP_ASSERT_OK(qa.Enqueue("work", "p", Opts(/*max_attempts=*/1000), kT0));
  std::atomic<int64_t> clock{kT0};
  std::mutex mu;
  std::map<int64_t, int> completions;
  std::atomic<int> stale{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      JobQueue& q = w % 2 ? qa : qb;
      for (int idle = 0; idle < 50;) {
        // Every call advances the shared clock by 1 ms; a lease lasts 3 ms.
        auto j = q.Lease("work", "w", 3, clock.fetch_add(1));
        ASSERT_TRUE(j.ok()) << j.status().ToString();
        if (!j->has_value()) {
          ++idle;
          continue;
        }
        Status s = q.Complete((*j)->id, (*j)->lease_token, "r", clock.fetch_add(1));
        if (s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          ++completions[(*j)->id];
        } else {
          ASSERT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
          ++stale;
        }
      }
    });
  }
  for (auto& th : workers) th.join();
  EXPECT_EQ(completions.size(), static_cast<size_t>(kJobs));
  for (const auto& [id, n] : completions) EXPECT_EQ(n, 1) << id;
  std::printf("expiring leases: %d stale completions refused\n", stale.load());
}

VP_STORE_INSTANTIATE(JobQueueTest);

}  // namespace
}  // namespace vp::store
