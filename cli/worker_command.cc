#include "cli/worker_command.h"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "embed/core/module.h"
#include "embed/interpreter.h"

namespace rayx::cli {
namespace {

struct WorkerArgs {
  std::string node_socket;
  std::string worker_id;
};

int RunWorker(const WorkerArgs& args) {
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent) return 1;  // The node died before the request took effect.
  auto worker_id = WorkerID::FromHex(args.worker_id);
  if (!worker_id.ok()) {
    std::fprintf(stderr, "rayx worker: %s\n", worker_id.status().ToString().c_str());
    return 2;
  }
  // SIGINT cancels a task: until the task loop installs its handler (which asks the node which
  // task a signal was for), one must not end the worker in the middle of its start-up.
  signal(SIGINT, SIG_IGN);
  embed::InterpreterOptions options;
  options.main = embed::InterpreterOptions::Main::kNothing;
  auto interpreter = embed::Interpreter::Start(options);
  if (!interpreter.ok()) {
    std::fprintf(stderr, "rayx worker: %s\n", interpreter.status().ToString().c_str());
    return 1;
  }
  Status connected = ConnectWorker(args.node_socket, *worker_id);
  if (!connected.ok()) {
    std::fprintf(stderr, "rayx worker: %s\n", connected.ToString().c_str());
    return 1;
  }
  int status = (*interpreter)->RunString("import rayx._private.worker_main as m\nm.main()\n");
  int finalized = (*interpreter)->Finalize();
  // Skip C++ static destructors: the node may be gone and nothing here needs them.
  _exit(status != 0 ? status : finalized);
}

}  // namespace

void AddWorkerCommand(CLI::App* app) {
  auto args = std::make_shared<WorkerArgs>();
  CLI::App* worker = app->add_subcommand("worker", "Runs tasks for a node (started by the node).");
  worker->group("");  // Hidden from --help.
  worker->add_option("--node-socket", args->node_socket, "The node's socket")->required();
  worker->add_option("--worker-id", args->worker_id, "The id the node gave this worker")
      ->required();
  worker->callback([args] {
    int status = RunWorker(*args);
    if (status != 0) throw CLI::RuntimeError(status);
  });
}

}  // namespace rayx::cli
