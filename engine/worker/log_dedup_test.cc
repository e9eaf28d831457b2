#include "engine/worker/log_dedup.h"

#include <gtest/gtest.h>

#include <string>

namespace rayx {
namespace {

TEST(LogDedupTest, PatternDropsWordsWithDigits) {
  EXPECT_EQ(LogDeduplicator::Pattern("hello world, id=1701.25"), "hello world,");
  EXPECT_EQ(LogDeduplicator::Pattern("  step 3 of 10:\tloss 0x1f  done "), "step of loss done");
  EXPECT_EQ(LogDeduplicator::Pattern("42 17"), "");
  EXPECT_EQ(LogDeduplicator::Pattern(""), "");
}

// Ray's test_dedup_logs: ten workers print "hello world, id=<time>"; the first line is printed,
// the other nine as one line when the window has passed.
TEST(LogDedupTest, RepeatsFromManySourcesArePrintedOnceWithTheirCount) {
  LogDeduplicator dedup(LogDedupOptions{});
  std::string out;
  dedup.Add("(f pid=1) ", "hello world, id=1.5", 1, 0.0, &out);
  EXPECT_EQ(out, "(f pid=1) hello world, id=1.5\n");
  out.clear();
  for (int i = 2; i <= 10; ++i) {
    dedup.Add("(f pid=" + std::to_string(i) + ") ", "hello world, id=" + std::to_string(i), i,
              0.1 * i, &out);
  }
  EXPECT_EQ(out, "");
  EXPECT_TRUE(dedup.holding());
  dedup.Expire(4.9, &out);
  EXPECT_EQ(out, "");
  dedup.Expire(5.0, &out);
  EXPECT_EQ(out,
            "(f pid=10) hello world, id=10 [repeated 9x across cluster] (rayx deduplicates logs "
            "by default, as Ray does. Set RAY_DEDUP_LOGS=0 to disable log deduplication.)\n");
  EXPECT_FALSE(dedup.holding());

  // Counting goes on for another window, from every source; the note is told once only.
  out.clear();
  dedup.Add("(f pid=1) ", "hello world, id=11", 1, 6.0, &out);
  dedup.Add("(f pid=2) ", "hello world, id=12", 2, 6.5, &out);
  EXPECT_EQ(out, "");
  dedup.Expire(10.0, &out);
  EXPECT_EQ(out, "(f pid=2) hello world, id=12 [repeated 2x across cluster]\n");
  // A window with one line held back prints it plainly, and the pattern is forgotten.
  out.clear();
  dedup.Add("(f pid=3) ", "hello world, id=13", 3, 11.0, &out);
  dedup.Expire(15.0, &out);
  EXPECT_EQ(out, "(f pid=3) hello world, id=13\n");
  EXPECT_EQ(dedup.num_patterns(), 0u);
  out.clear();
  dedup.Add("(f pid=4) ", "hello world, id=14", 4, 16.0, &out);
  EXPECT_EQ(out, "(f pid=4) hello world, id=14\n");  // First of a new window.
}

TEST(LogDedupTest, OneSourceAloneAndNumbersAloneAreNeverHeldBack) {
  LogDeduplicator dedup(LogDedupOptions{});
  std::string out;
  dedup.Add("(a pid=1) ", "tick", 1, 0, &out);
  dedup.Add("(a pid=1) ", "tick", 1, 0.1, &out);
  dedup.Add("(b pid=2) ", "42", 2, 0.2, &out);
  dedup.Add("(c pid=3) ", "42", 3, 0.3, &out);
  EXPECT_EQ(out, "(a pid=1) tick\n(a pid=1) tick\n(b pid=2) 42\n(c pid=3) 42\n");
  EXPECT_FALSE(dedup.holding());
}

TEST(LogDedupTest, DisabledPrintsEverything) {
  LogDedupOptions options;
  options.enabled = false;
  LogDeduplicator dedup(options);
  std::string out;
  for (int i = 0; i < 3; ++i) dedup.Add("(f pid=1) ", "same", i, 0, &out);
  EXPECT_EQ(out, "(f pid=1) same\n(f pid=1) same\n(f pid=1) same\n");
  EXPECT_EQ(dedup.num_patterns(), 0u);
}

TEST(LogDedupTest, FlushWritesWhatIsHeldBack) {
  LogDeduplicator dedup(LogDedupOptions{});
  std::string out;
  for (int i = 0; i < 4; ++i) dedup.Add("(f) ", "done", i, 0, &out);
  dedup.Add("(g) ", "other", 1, 0, &out);
  dedup.Add("(g) ", "other", 2, 0, &out);
  out.clear();
  dedup.Flush(&out);
  EXPECT_NE(out.find("(f) done [repeated 3x across cluster]"), std::string::npos) << out;
  EXPECT_NE(out.find("(g) other\n"), std::string::npos) << out;
  EXPECT_EQ(dedup.num_patterns(), 0u);
  EXPECT_FALSE(dedup.holding());
}

TEST(LogDedupTest, AllowAndSkipRegexes) {
  LogDedupOptions options;
  options.allow = std::make_shared<const std::regex>("progress");
  options.skip = std::make_shared<const std::regex>("^noise");
  LogDeduplicator dedup(options);
  std::string out;
  for (int i = 0; i < 3; ++i) dedup.Add("", "progress bar", i, 0, &out);
  dedup.Add("", "noise here", 1, 0, &out);
  EXPECT_EQ(out, "progress bar\nprogress bar\nprogress bar\n");
}

TEST(LogDedupTest, PatternsAreBounded) {
  LogDeduplicator dedup(LogDedupOptions{});
  std::string out;
  dedup.Add("", "first line", 1, 0, &out);
  dedup.Add("", "first line", 2, 0, &out);  // Held back.
  for (size_t i = 0; i < LogDeduplicator::kMaxPatterns; ++i) {
    dedup.Add("", "line " + std::string(1, 'a' + i % 26) + std::string(i / 26 + 1, 'x'), 1, 0,
              &out);
  }
  EXPECT_EQ(dedup.num_patterns(), LogDeduplicator::kMaxPatterns);
  // The oldest went early, and its held-back line with it.
  size_t first = out.find("first line\n");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(out.find("first line\n", first + 1), std::string::npos);
}

TEST(LogDedupTest, OptionsFromTheEnvironment) {
  std::string warning;
  setenv("RAY_DEDUP_LOGS", "0", 1);
  setenv("RAY_DEDUP_LOGS_AGG_WINDOW_S", "2", 1);
  setenv("RAY_DEDUP_LOGS_SKIP_REGEX", "([", 1);
  LogDedupOptions options = LogDedupOptions::FromEnvironment(&warning);
  EXPECT_FALSE(options.enabled);
  EXPECT_EQ(options.window_s, 2);
  EXPECT_EQ(options.skip, nullptr);
  EXPECT_NE(warning.find("RAY_DEDUP_LOGS_SKIP_REGEX"), std::string::npos) << warning;
  unsetenv("RAY_DEDUP_LOGS");
  unsetenv("RAY_DEDUP_LOGS_AGG_WINDOW_S");
  unsetenv("RAY_DEDUP_LOGS_SKIP_REGEX");
  options = LogDedupOptions::FromEnvironment(&warning);
  EXPECT_TRUE(options.enabled);
  EXPECT_EQ(options.window_s, 5);
  EXPECT_TRUE(warning.empty());
}

}  // namespace
}  // namespace rayx
