// The embedded `rayx` package as Python code sees it, checked from inside the interpreter.
#include <gtest/gtest.h>

#include "embed/interpreter.h"

namespace rayx::embed {
namespace {

class ImporterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto started = Interpreter::Start({});
    ASSERT_TRUE(started.ok()) << started.status();
    interpreter_ = std::move(*started);
  }
  int Run(const std::string& code) { return interpreter_->RunString(code); }
  std::unique_ptr<Interpreter> interpreter_;
};

TEST_F(ImporterTest, ServesTheEmbeddedPackage) {
  EXPECT_EQ(Run("import rayx\n"
                "assert rayx.__file__ == '<rayx>/rayx/__init__.py', rayx.__file__\n"
                "assert rayx.__path__ == ['<rayx>/rayx'], rayx.__path__\n"
                "assert rayx.__spec__.name == 'rayx'\n"
                "assert isinstance(rayx.__version__, str)\n"),
            0);
}

TEST_F(ImporterTest, SourceIsAvailableToLinecache) {
  EXPECT_EQ(Run("import inspect, linecache, rayx\n"
                "assert rayx.__loader__.get_source('rayx').startswith(('\"\"\"', '#', 'from', "
                "'import'))\n"
                "assert linecache.getline(rayx.__file__, 1, rayx.__dict__) != ''\n"
                "assert rayx.__loader__.is_package('rayx')\n"),
            0);
}

TEST_F(ImporterTest, ModulesLoadTheBuildsCodeNamedAsTheirSource) {
  // The code compiled at build time is this interpreter's bytecode, it is what the loader hands
  // out (no compile at import), and its file name is the module's, so tracebacks show its lines.
  EXPECT_EQ(Run("import importlib.util, marshal, rayx, rayx.actor, _rayx_embedded\n"
                "code = _rayx_embedded.get_code('rayx.actor')\n"
                "assert code[:4] == importlib.util.MAGIC_NUMBER\n"
                "assert marshal.loads(code[4:]) == rayx.__loader__.get_code('rayx.actor')\n"
                "import builtins\n"
                "real = builtins.compile\n"
                "def refuse(*a, **k): raise AssertionError('compiled at import')\n"
                "builtins.compile = refuse\n"
                "try:\n"
                "    loaded = rayx.__loader__.get_code('rayx.actor')\n"
                "finally:\n"
                "    builtins.compile = real\n"
                "assert loaded.co_filename == rayx.actor.__file__ == '<rayx>/rayx/actor.py'\n"),
            0);
}

TEST_F(ImporterTest, RayIsTheSameModuleAsRayx) {
  EXPECT_EQ(Run("import sys, rayx, ray\n"
                "assert ray is rayx and sys.modules['ray'] is rayx\n"
                "assert rayx.__spec__.name == 'rayx' and rayx.__name__ == 'rayx'\n"),
            0);
}

TEST_F(ImporterTest, RaySubmodulesAreRayxSubmodules) {
  // Every embedded submodule of rayx has its ray.* twin as the same object.
  EXPECT_EQ(Run("import importlib, pkgutil, sys, rayx\n"
                "import _rayx_embedded\n"
                "names = [m for m in list(sys.modules) if m.startswith('rayx.')]\n"
                "for name in names:\n"
                "    assert importlib.import_module('ray' + name[4:]) is sys.modules[name]\n"),
            0);
}

TEST_F(ImporterTest, UnknownSubmoduleIsModuleNotFound) {
  EXPECT_EQ(Run("try:\n"
                "    import ray.no_such_module\n"
                "except ModuleNotFoundError as e:\n"
                "    assert e.name == 'ray.no_such_module', e.name\n"
                "else:\n"
                "    raise AssertionError('imported a module that does not exist')\n"),
            0);
}

TEST_F(ImporterTest, ExtensionModuleIsBuiltin) {
  EXPECT_EQ(Run("import sys, _rayx\nassert '_rayx' in sys.builtin_module_names\n"), 0);
}

}  // namespace
}  // namespace rayx::embed
