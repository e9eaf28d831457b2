#include "cli/run_command.h"

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "embed/interpreter.h"
#include "engine/node/lineage_recorder.h"

namespace rayx::cli {
namespace {

struct RunFlags {
  std::string command;
  std::string module;
};

void Run(const RunFlags& flags, std::vector<std::string> rest) {
  using Main = embed::InterpreterOptions::Main;
  embed::InterpreterOptions options;
  if (!flags.command.empty() && !flags.module.empty()) {
    throw CLI::ValidationError("run", "-c and -m exclude each other");
  }
  if (!flags.command.empty()) {
    options.main = Main::kCommand;
    options.target = flags.command;
  } else if (!flags.module.empty()) {
    options.main = Main::kModule;
    options.target = flags.module;
  } else if (rest.empty() || rest.front() == "-") {
    options.main = Main::kStdin;
    if (!rest.empty()) rest.erase(rest.begin());
  } else {
    options.main = Main::kScript;
    options.target = rest.front();
    rest.erase(rest.begin());
  }
  options.args = std::move(rest);

  RunPythonMain(options);
}

}  // namespace

void RunPythonMain(const embed::InterpreterOptions& options) {
  auto interpreter = embed::Interpreter::Start(options);
  if (!interpreter.ok()) {
    std::fprintf(stderr, "rayx: cannot start Python: %s\n",
                 interpreter.status().ToString().c_str());
    throw CLI::RuntimeError(1);
  }
  int status = (*interpreter)->RunMain();
  // The job's end in the lineage log (when this process started a node), with the script's status.
  FinishProcessLineage(status);
  if (status != 0) throw CLI::RuntimeError(status);
}

void AddRunCommand(CLI::App* app) {
  auto flags = std::make_shared<RunFlags>();
  CLI::App* run = app->add_subcommand(
      "run", "Run a Python program (SCRIPT, -c CODE or -m MODULE) like python3 would.");
  run->add_option("-c", flags->command, "Program passed in as a string, as python3 -c.");
  run->add_option("-m", flags->module, "Run a library module as a script, as python3 -m.");
  // The first positional ends rayx's options: the script's own arguments stay untouched.
  run->prefix_command();
  run->footer("ARGS after SCRIPT, CODE or MODULE become sys.argv[1:] unparsed.");
  run->callback([run, flags]() { Run(*flags, run->remaining()); });
}

}  // namespace rayx::cli
