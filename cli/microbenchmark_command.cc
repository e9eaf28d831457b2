#include "cli/microbenchmark_command.h"

#include <memory>
#include <string>
#include <vector>

#include "cli/run_command.h"
#include "embed/interpreter.h"

namespace rayx::cli {
namespace {

constexpr char kModule[] = "rayx._private.microbenchmark";

struct MicrobenchmarkFlags {
  double seconds = 2.0;
  int runs = 3;
  std::string filter;
  bool json = false;
};

void Run(const MicrobenchmarkFlags& flags) {
  embed::InterpreterOptions options;
  options.main = embed::InterpreterOptions::Main::kModule;
  options.target = kModule;
  // The flags were checked here; the module gets them in its own spelling.
  options.args = {"--seconds", std::to_string(flags.seconds), "--runs", std::to_string(flags.runs)};
  if (!flags.filter.empty()) {
    options.args.push_back("--filter");
    options.args.push_back(flags.filter);
  }
  if (flags.json) options.args.push_back("--json");

  RunPythonMain(options);
}

}  // namespace

void AddMicrobenchmarkCommand(CLI::App* app) {
  auto flags = std::make_shared<MicrobenchmarkFlags>();
  CLI::App* bench = app->add_subcommand(
      "microbenchmark",
      "Run Ray's microbenchmark workloads (tasks, objects, actors) and print one rate per metric.");
  bench
      ->add_option("--seconds", flags->seconds,
                   "Length of each timed run in seconds; the warm-up is half of it.")
      ->check(CLI::PositiveNumber);
  bench->add_option("--runs", flags->runs, "Timed runs per metric; the median is reported.")
      ->check(CLI::Range(1, 1000));
  bench->add_option("--filter", flags->filter, "Only the metrics whose names contain this text.");
  bench->add_flag("--json", flags->json, "Print one JSON document instead of one line per metric.");
  bench->callback([flags]() { Run(*flags); });
}

}  // namespace rayx::cli
