#include "engine/wire/values.h"

#include <gtest/gtest.h>

namespace rayx {
namespace {

TEST(ValuesTest, NamesRoundTrip) {
  for (SystemErrorCode code :
       {SystemErrorCode::kWorkerDied, SystemErrorCode::kTaskCancelled, SystemErrorCode::kObjectLost,
        SystemErrorCode::kObjectStoreFull, SystemErrorCode::kActorDied, SystemErrorCode::kOwnerDied,
        SystemErrorCode::kUnschedulable, SystemErrorCode::kNodeDied,
        SystemErrorCode::kObjectTooLarge}) {
    std::optional<SystemErrorCode> back = SystemErrorFromName(SystemErrorName(code));
    ASSERT_TRUE(back.has_value());
    EXPECT_EQ(*back, code);
  }
}

TEST(ValuesTest, NamesMatchThePythonLayer) {
  EXPECT_EQ(SystemErrorName(SystemErrorCode::kWorkerDied), "WORKER_DIED");
  EXPECT_EQ(SystemErrorName(SystemErrorCode::kObjectStoreFull), "OBJECT_STORE_FULL");
  EXPECT_EQ(SystemErrorName(SystemErrorCode::kNodeDied), "NODE_DIED");
}

TEST(ValuesTest, UnknownNameIsNone) {
  EXPECT_FALSE(SystemErrorFromName("NO_SUCH_CODE").has_value());
  EXPECT_FALSE(SystemErrorFromName("").has_value());
}

TEST(ValuesTest, TextIsCodeColonMessage) {
  EXPECT_EQ(SystemErrorText(SystemErrorCode::kObjectLost, "object 12 was lost"),
            "OBJECT_LOST: object 12 was lost");
}

TEST(ValuesTest, LongMessagesAreCut) {
  std::string text = SystemErrorText(SystemErrorCode::kWorkerDied, std::string(1 << 20, 'x'));
  EXPECT_LE(text.size(), kMaxErrorMessageSize + 64);
  EXPECT_EQ(text.rfind("WORKER_DIED: xxx", 0), 0u);
}

}  // namespace
}  // namespace rayx
