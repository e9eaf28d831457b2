#include "cli/app.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace rayx::cli {
namespace {

int Cli(std::vector<std::string> args) {
  args.insert(args.begin(), "rayx");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  return RunCli(static_cast<int>(argv.size()), argv.data());
}

TEST(CliTest, VersionNamesRayxAndPython) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(Cli({"--version"}), 0);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("rayx "), std::string::npos) << out;
  EXPECT_NE(out.find("Python 3."), std::string::npos) << out;
  EXPECT_EQ(out.find("rayx "), 0u);
}

TEST(CliTest, HelpListsSubcommands) {
  testing::internal::CaptureStdout();
  EXPECT_EQ(Cli({"--help"}), 0);
  std::string out = testing::internal::GetCapturedStdout();
  EXPECT_NE(out.find("run"), std::string::npos) << out;
}

TEST(CliTest, UsageErrorsGiveStatusTwo) {
  EXPECT_EQ(Cli({}), 2);  // A subcommand is required.
  testing::internal::CaptureStderr();
  EXPECT_EQ(Cli({"frobnicate"}), 2);  // Unknown subcommand.
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("unknown subcommand 'frobnicate'"), std::string::npos) << err;
  EXPECT_EQ(Cli({"--no-such-flag"}), 2);             // Unknown option.
  EXPECT_EQ(Cli({"run", "-c", "1", "-m", "x"}), 2);  // -c and -m exclude each other.
}

TEST(CliTest, RunReturnsTheProgramsStatus) {
  // sys.exit ends the process from inside `rayx run`, exactly as in python3.
  EXPECT_EXIT(Cli({"run", "-c", "import sys; sys.exit(5)"}), testing::ExitedWithCode(5), "");
  EXPECT_EQ(Cli({"run", "-c", "pass"}), 0);
  EXPECT_EQ(Cli({"run", "-c", "raise ValueError('expected by the test')"}), 1);
}

TEST(CliTest, ArgumentsAfterTheProgramAreNotParsed) {
  EXPECT_EQ(Cli({"run", "-c",
                 "import sys; assert sys.argv[1:] == ['--help', '-m', 'x', '--version'], sys.argv",
                 "--help", "-m", "x", "--version"}),
            0);
  EXPECT_EQ(Cli({"run", "-c", "import sys; assert sys.argv == ['-c'], sys.argv"}), 0);
}

TEST(CliTest, MissingScriptFailsWithPythonsStatus) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(Cli({"run", "/nonexistent/missing_script.py"}), 2);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("missing_script.py"), std::string::npos) << err;
}

}  // namespace
}  // namespace rayx::cli
