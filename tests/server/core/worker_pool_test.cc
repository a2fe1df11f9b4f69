#include "server/core/worker_pool.h"

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/testing/probe_handler.h"

namespace xxljob {
namespace {

using ::xxljob::testing::Eventually;

TEST(WorkerPoolTest, RunsTasksInOrderOnOneThread) {
  WorkerPool pool(/*max_threads=*/1, absl::Seconds(60));
  absl::Mutex mu;
  std::vector<int> order;
  for (int i = 0; i < 100; ++i) {
    pool.Submit([&, i] {
      absl::MutexLock lock(&mu);
      order.push_back(i);
    });
  }
  pool.Shutdown();
  ASSERT_EQ(order.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(order[i], i);
}

TEST(WorkerPoolTest, NeverMoreThreadsThanTheBoundAndEveryTaskRuns) {
  WorkerPool pool(/*max_threads=*/4, absl::Seconds(60));
  absl::Notification release;
  absl::Mutex mu;
  int running = 0;
  int most = 0;
  int done = 0;
  for (int i = 0; i < 50; ++i) {
    pool.Submit([&] {
      {
        absl::MutexLock lock(&mu);
        most = std::max(most, ++running);
      }
      release.WaitForNotification();
      absl::MutexLock lock(&mu);
      --running;
      ++done;
    });
  }
  EXPECT_EQ(pool.threads(), 4);
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return running == 4;
  }));
  release.Notify();
  pool.Shutdown();
  EXPECT_EQ(done, 50);
  EXPECT_EQ(most, 4);
  EXPECT_EQ(pool.threads(), 0);
}

// With many threads idle, a task goes to one of them: no thread is started
// for it (the bound would allow one), and the pool is all idle again after.
TEST(WorkerPoolTest, AnIdleThreadTakesTheTaskWithoutANewThread) {
  constexpr int kThreads = 16;
  WorkerPool pool(/*max_threads=*/4 * kThreads, absl::Seconds(60));
  absl::Notification release;
  for (int i = 0; i < kThreads; ++i) {
    pool.Submit([&] { release.WaitForNotification(); });
  }
  release.Notify();
  ASSERT_TRUE(Eventually([&] { return pool.idle_threads() == kThreads; }));
  for (int i = 0; i < 20; ++i) {
    absl::Notification done;
    pool.Submit([&] { done.Notify(); });
    done.WaitForNotification();
    EXPECT_EQ(pool.threads(), kThreads);
    ASSERT_TRUE(Eventually([&] { return pool.idle_threads() == kThreads; }));
  }
}

TEST(WorkerPoolTest, IdleThreadsExitAfterTheKeepalive) {
  WorkerPool pool(/*max_threads=*/8, absl::Milliseconds(50));
  absl::Notification release;
  for (int i = 0; i < 8; ++i) {
    pool.Submit([&] { release.WaitForNotification(); });
  }
  EXPECT_EQ(pool.threads(), 8);
  release.Notify();
  ASSERT_TRUE(Eventually([&] { return pool.threads() == 0; }));
  EXPECT_EQ(pool.idle_threads(), 0);
  // And the pool starts threads again afterwards.
  absl::Notification ran;
  pool.Submit([&] { ran.Notify(); });
  EXPECT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(30)));
}

TEST(WorkerPoolTest, ShutdownRunsEveryQueuedTaskAndWakesIdleThreads) {
  WorkerPool pool(/*max_threads=*/2, absl::Hours(1));
  absl::Notification release;
  absl::Mutex mu;
  int done = 0;
  for (int i = 0; i < 20; ++i) {
    pool.Submit([&] {
      release.WaitForNotification();
      absl::MutexLock lock(&mu);
      ++done;
    });
  }
  std::thread shutdown([&] { pool.Shutdown(); });
  release.Notify();
  shutdown.join();
  EXPECT_EQ(done, 20);
  EXPECT_EQ(pool.threads(), 0);

  // Idle threads with an hour of keepalive left do not hold Shutdown up.
  WorkerPool idle(/*max_threads=*/4, absl::Hours(1));
  absl::Notification go;
  for (int i = 0; i < 4; ++i) idle.Submit([&] { go.WaitForNotification(); });
  go.Notify();
  ASSERT_TRUE(Eventually([&] { return idle.idle_threads() == 4; }));
  idle.Shutdown();
  EXPECT_EQ(idle.threads(), 0);
}

}  // namespace
}  // namespace xxljob
