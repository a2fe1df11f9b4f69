#include "handlers/handler_registry.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "handlers/builtin_handlers.h"

namespace xxljob {
namespace {

using ::testing::HasSubstr;

TEST(HandlerRegistryTest, RegistersAndFindsByName) {
  HandlerRegistry registry;
  int calls = 0;
  ASSERT_TRUE(registry.Register("mine", [&](RunContext&) { ++calls; }).ok());
  const JobHandler* h = registry.Find("mine");
  ASSERT_NE(h, nullptr);
  EXPECT_EQ(registry.Find("other"), nullptr);
  EXPECT_FALSE(h->init);
  EXPECT_FALSE(h->destroy);
}

TEST(HandlerRegistryTest, RefusesDuplicateEmptyAndMissingExecute) {
  HandlerRegistry registry;
  ASSERT_TRUE(registry.Register("a", [](RunContext&) {}).ok());
  absl::Status dup = registry.Register("a", [](RunContext&) {});
  EXPECT_EQ(dup.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(std::string(dup.message()), HasSubstr("[a]"));
  EXPECT_EQ(registry.Register("", [](RunContext&) {}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(registry.Register("b", JobHandler{}).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HandlerRegistryTest, BuiltinsAreRegisteredOnce) {
  HandlerRegistry registry;
  ASSERT_TRUE(RegisterBuiltinHandlers(&registry).ok());
  for (const char* name : {"demoJobHandler", "shardingJobHandler",
                           "sleepJobHandler", "failJobHandler"}) {
    EXPECT_NE(registry.Find(name), nullptr) << name;
  }
  EXPECT_EQ(RegisterBuiltinHandlers(&registry).code(),
            absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace xxljob
