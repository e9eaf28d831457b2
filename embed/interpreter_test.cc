#include "embed/interpreter.h"

#include <Python.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace rayx::embed {
namespace {

std::unique_ptr<Interpreter> StartOrDie(const InterpreterOptions& options = {}) {
  auto interpreter = Interpreter::Start(options);
  EXPECT_TRUE(interpreter.ok()) << interpreter.status();
  return interpreter.ok() ? std::move(*interpreter) : nullptr;
}

std::string WriteScript(const std::string& name, const std::string& code) {
  std::string path =
      std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/" + name;
  std::ofstream(path) << code;
  return path;
}

TEST(InterpreterTest, StartsRunsCodeAndFinalizes) {
  auto interpreter = StartOrDie();
  ASSERT_TRUE(interpreter->running());
  EXPECT_TRUE(Py_IsInitialized());
  EXPECT_EQ(interpreter->RunString("x = 6 * 7\nassert x == 42\n"), 0);
  EXPECT_EQ(interpreter->RunString("assert x == 42  # __main__ keeps its state\n"), 0);
  EXPECT_EQ(interpreter->Finalize(), 0);
  EXPECT_FALSE(interpreter->running());
  EXPECT_FALSE(Py_IsInitialized());
  EXPECT_EQ(interpreter->Finalize(), 0);  // A second Finalize does nothing.
}

TEST(InterpreterTest, UncaughtExceptionGivesStatusOne) {
  auto interpreter = StartOrDie();
  EXPECT_EQ(interpreter->RunString("raise ValueError('expected by the test')"), 1);
  EXPECT_FALSE(PyErr_Occurred());
  EXPECT_EQ(interpreter->RunString("pass"), 0);  // Still usable afterwards.
}

TEST(InterpreterTest, SystemExitGivesItsCode) {
  auto interpreter = StartOrDie();
  EXPECT_EQ(interpreter->RunString("import sys; sys.exit(7)"), 7);
  EXPECT_EQ(interpreter->RunString("import sys; sys.exit()"), 0);
  EXPECT_EQ(interpreter->RunString("import sys; sys.exit(None)"), 0);
  EXPECT_EQ(interpreter->RunString("import sys; sys.exit('a message, printed to stderr')"), 1);
  EXPECT_EQ(interpreter->RunString("raise SystemExit(3)"), 3);
}

TEST(InterpreterTest, OnlyOneAtATime) {
  auto first = StartOrDie();
  auto second = Interpreter::Start({});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_TRUE(first->running());
}

TEST(InterpreterTest, RestartsAfterFinalize) {
  for (int i = 0; i < 3; ++i) {
    auto interpreter = StartOrDie();
    EXPECT_EQ(interpreter->RunString("import rayx, _rayx"), 0);
  }  // The destructor finalizes.
  EXPECT_FALSE(Py_IsInitialized());
}

TEST(InterpreterTest, RunMainEndsTheProcessWithTheScriptsExitStatus) {
  std::string script = WriteScript("args.py",
                                   "import sys\n"
                                   "assert __name__ == '__main__'\n"
                                   "assert sys.argv[1:] == ['4', '--flag'], sys.argv\n"
                                   "sys.exit(int(sys.argv[1]))\n");
  InterpreterOptions options;
  options.main = InterpreterOptions::Main::kScript;
  options.target = script;
  options.args = {"4", "--flag"};
  // As in python3, SystemExit finalizes and exits from inside RunMain.
  EXPECT_EXIT(StartOrDie(options)->RunMain(), testing::ExitedWithCode(4), "");
}

TEST(InterpreterTest, RunMainReturnsAndRestarts) {
  std::string script = WriteScript("ok.py", "import rayx\nprint('ran')\n");
  InterpreterOptions options;
  options.main = InterpreterOptions::Main::kScript;
  options.target = script;
  auto interpreter = StartOrDie(options);
  EXPECT_EQ(interpreter->RunMain(), 0);
  EXPECT_FALSE(interpreter->running());
  EXPECT_FALSE(Py_IsInitialized());
  interpreter.reset();
  // Restarting after Py_RunMain works too.
  EXPECT_EQ(StartOrDie()->RunString("import sys; sys.exit(5)"), 5);
}

TEST(InterpreterTest, RunMainCommandAndErrors) {
  InterpreterOptions options;
  options.main = InterpreterOptions::Main::kCommand;
  options.target = "import sys; assert sys.argv == ['-c', 'x'], sys.argv; raise KeyError(1)";
  options.args = {"x"};
  EXPECT_EQ(StartOrDie(options)->RunMain(), 1);

  options.main = InterpreterOptions::Main::kScript;
  options.target = "/nonexistent/missing_script.py";
  options.args = {};
  EXPECT_EQ(StartOrDie(options)->RunMain(), 2);  // As python3 reports a missing script.
}

}  // namespace
}  // namespace rayx::embed
