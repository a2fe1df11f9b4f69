#include "server/core/log_watch.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace xxljob {
namespace {

TEST(LogWatchRegistryTest, NotifyCallsEveryWatcherOfThatLogOnly) {
  LogWatchRegistry registry;
  int a = 0, b = 0, other = 0;
  LogWatchHandle ha = registry.Watch(1, [&] { ++a; });
  LogWatchHandle hb = registry.Watch(1, [&] { ++b; });
  LogWatchHandle ho = registry.Watch(2, [&] { ++other; });
  EXPECT_EQ(registry.watch_count(), 3);
  registry.Notify(1);
  registry.Notify(1);
  registry.Notify(3);  // Nobody watches it.
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 2);
  EXPECT_EQ(other, 0);
  registry.Unwatch(ha);
  registry.Notify(1);
  EXPECT_EQ(a, 2);
  EXPECT_EQ(b, 3);
  registry.Unwatch(hb);
  registry.Unwatch(ho);
  EXPECT_EQ(registry.watch_count(), 0);
}

TEST(LogWatchRegistryTest, UnwatchIgnoresDefaultAndRemovedHandles) {
  LogWatchRegistry registry;
  registry.Unwatch(LogWatchHandle());
  LogWatchHandle h = registry.Watch(5, [] {});
  registry.Unwatch(h);
  registry.Unwatch(h);  // Already removed.
  EXPECT_EQ(registry.watch_count(), 0);
}

TEST(LogWatchRegistryTest, UnwatchReturnsOnlyAfterARunningCallbackReturned) {
  LogWatchRegistry registry;
  absl::Notification entered, release;
  std::atomic<bool> callback_returned{false};
  LogWatchHandle h = registry.Watch(7, [&] {
    entered.Notify();
    release.WaitForNotification();
    callback_returned = true;
  });
  std::thread notifier([&] { registry.Notify(7); });
  entered.WaitForNotification();
  std::atomic<bool> unwatched{false};
  std::thread unwatcher([&] {
    registry.Unwatch(h);
    // The promise that lets a watcher free what its callback captured.
    EXPECT_TRUE(callback_returned.load());
    unwatched = true;
  });
  EXPECT_FALSE(unwatched.load());
  release.Notify();
  notifier.join();
  unwatcher.join();
  EXPECT_TRUE(unwatched.load());
}

TEST(LogWatchRegistryTest, ConcurrentWatchNotifyUnwatch) {
  LogWatchRegistry registry;
  std::atomic<bool> stop{false};
  std::vector<std::thread> notifiers;
  for (int t = 0; t < 2; ++t) {
    notifiers.emplace_back([&, t] {
      while (!stop) registry.Notify(t);
    });
  }
  for (int i = 0; i < 2000; ++i) {
    std::atomic<int> calls{0};
    LogWatchHandle h = registry.Watch(i % 2, [&calls] { ++calls; });
    registry.Unwatch(h);  // `calls` dies right after: no call may follow.
  }
  stop = true;
  for (std::thread& t : notifiers) t.join();
  EXPECT_EQ(registry.watch_count(), 0);
}

class RecordingSink : public RunLogSink {
 public:
  void Log(absl::string_view message) override {
    events.push_back("log:" + std::string(message));
  }
  void Output(absl::string_view chunk) override {
    events.push_back("out:" + std::string(chunk));
  }
  void FlushOutput() override { events.push_back("flush"); }
  std::vector<std::string> events;
};

TEST(WatchedLogSinkTest, ForwardsEachWriteThenNotifies) {
  LogWatchRegistry registry;
  RecordingSink target;
  LogWatchHandle h =
      registry.Watch(9, [&] { target.events.push_back("notified"); });
  WatchedLogSink sink(&target, &registry, 9);
  sink.Log("a line");
  sink.Output("raw");
  sink.FlushOutput();
  EXPECT_THAT(target.events,
              ::testing::ElementsAre("log:a line", "notified", "out:raw",
                                     "notified", "flush", "notified"));
  registry.Unwatch(h);
}

}  // namespace
}  // namespace xxljob
