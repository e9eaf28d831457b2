#include "cli/run_command.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "embed/interpreter.h"
#include "engine/cluster/observer_client.h"
#include "engine/cluster/token.h"
#include "engine/node/lineage_recorder.h"

namespace rayx::cli {
namespace {

struct RunFlags {
  std::string command;
  std::string module;
  std::string address;
};

// HOST:PORT (a cluster member) rather than a node's socket path.
bool IsHostPort(const std::string& address) {
  size_t colon = address.rfind(':');
  return !address.empty() && address.find('/') == std::string::npos && colon != std::string::npos &&
         colon + 1 < address.size() &&
         address.find_first_not_of("0123456789", colon + 1) == std::string::npos;
}

// True when RAYX_ATTACH_OVER_TCP=1: attach over TCP even to a member whose socket is visible here
// (tests, and machines that share a file system but not a host).
bool ForcedOverTcp() {
  const char* env = std::getenv("RAYX_ATTACH_OVER_TCP");
  return env != nullptr && std::string(env) == "1";
}

// Turns a member's HOST:PORT into the address the driver attaches by, asking the member over TCP
// (authenticated with the cluster token) for its Unix socket: that socket when it is on this
// machine (shared memory, zero-copy), else tcp://HOST:PORT. It reaches the driver as RAYX_ADDRESS.
void AttachTo(const std::string& address) {
  StatusOr<std::string> token = LoadClusterToken("");
  auto members = token.ok() ? QueryMembers(address, *token)
                            : StatusOr<std::vector<MemberState>>(token.status());
  if (!members.ok()) {
    std::fprintf(stderr, "rayx run: cannot attach to %s: %s\n", address.c_str(),
                 members.status().message().c_str());
    throw CLI::RuntimeError(1);
  }
  const std::string& socket = members->front().socket_path;
  struct stat st;
  if (ForcedOverTcp() || stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    // The engine's kTcpScheme (engine/client/client_runtime.h).
    setenv("RAYX_ADDRESS", ("tcp://" + address).c_str(), 1);
  } else {
    setenv("RAYX_ADDRESS", socket.c_str(), 1);
  }
}

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

  std::string address = flags.address;
  if (address.empty()) {
    const char* env = std::getenv("RAYX_ADDRESS");
    if (env != nullptr && IsHostPort(env)) address = env;
  }
  if (!address.empty()) AttachTo(address);
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
  run->add_option("--address", flags->address,
                  "HOST:PORT of a cluster member to attach the driver to: through its Unix socket "
                  "when it runs on this machine, else over TCP (RAYX_ATTACH_OVER_TCP=1: always "
                  "over TCP) (default: $RAYX_ADDRESS; none: an embedded node)");
  // The first positional ends rayx's options: the script's own arguments stay untouched.
  run->prefix_command();
  run->footer("ARGS after SCRIPT, CODE or MODULE become sys.argv[1:] unparsed.");
  run->callback([run, flags]() { Run(*flags, run->remaining()); });
}

}  // namespace rayx::cli
