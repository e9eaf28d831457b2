#include "engine/base/status.h"

#include <gtest/gtest.h>

namespace rayx {
namespace {

StatusOr<int> ParsePositive(int v) {
  if (v <= 0) return InvalidArgument("not positive: " + std::to_string(v));
  return v;
}

Status Doubled(int v, int* out) {
  RAYX_ASSIGN_OR_RETURN(int parsed, ParsePositive(v));
  *out = 2 * parsed;
  return Status::OK();
}

TEST(StatusTest, OkAndErrorsPrintTheirCode) {
  EXPECT_TRUE(Status::OK().ok());
  EXPECT_EQ(Status::OK().ToString(), "OK");
  Status s = NotFound("no such file");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.ToString(), "NotFound: no such file");
  EXPECT_EQ(s.WithContext("open x").ToString(), "NotFound: open x: no such file");
}

TEST(StatusTest, AssignOrReturnPassesErrorsUp) {
  int out = 0;
  EXPECT_TRUE(Doubled(4, &out).ok());
  EXPECT_EQ(out, 8);
  Status s = Doubled(-1, &out);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(out, 8);
}

TEST(StatusTest, ErrnoErrorNamesTheCall) {
  EXPECT_EQ(ErrnoError("open /x", ENOENT).ToString(),
            "IoError: open /x: No such file or directory");
}

}  // namespace
}  // namespace rayx
