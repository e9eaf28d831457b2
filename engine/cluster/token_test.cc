#include "engine/cluster/token.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace rayx {
namespace {

std::string TempFile(const std::string& content) {
  char path[] = "/tmp/rayx-token-test-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  FILE* f = fdopen(fd, "w");
  std::fputs(content.c_str(), f);
  std::fclose(f);
  return path;
}

TEST(TokenTest, FileWinsOverTheEnvironmentAndIsTrimmed) {
  setenv("RAYX_CLUSTER_TOKEN", "from-env", 1);
  std::string path = TempFile("  from-file\n");
  auto token = LoadClusterToken(path);
  ASSERT_TRUE(token.ok()) << token.status();
  EXPECT_EQ(*token, "from-file");
  std::remove(path.c_str());
  EXPECT_EQ(*LoadClusterToken(""), "from-env");
  unsetenv("RAYX_CLUSTER_TOKEN");
  EXPECT_EQ(*LoadClusterToken(""), "");
}

TEST(TokenTest, UnreadableOrEmptyFileIsAnError) {
  EXPECT_FALSE(LoadClusterToken("/nonexistent/token").ok());
  std::string path = TempFile(" \n");
  EXPECT_FALSE(LoadClusterToken(path).ok());
  std::remove(path.c_str());
}

TEST(TokenTest, LoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("example.com"));
}

}  // namespace
}  // namespace rayx
