#include "cli/start_command.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "cli/daemon_info.h"
#include "engine/cluster/token.h"
#include "engine/node/node.h"
#include "engine/node/session_dirs.h"
#include "engine/worker/worker_pool.h"

namespace rayx::cli {
namespace {

// On SIGTERM the tasks the node holds get this long to finish before its workers are killed.
constexpr uint64_t kStopGraceMs = 3000;

struct StartFlags {
  std::string address;
  int port = 6379;
  std::string node_ip = "127.0.0.1";
  double num_cpus = -1;
  double num_gpus = 0;
  std::string resources = "{}";
  uint64_t object_store_memory = 0;
  std::string data_dir;
  bool block = false;
  std::string token_file;
  double heartbeat_timeout_s = 5;
};

[[noreturn]] void Fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "rayx start: %s\n", message.c_str());
  throw CLI::RuntimeError(code);
}

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = write(fd, s.data() + done, s.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    done += static_cast<size_t>(n);
  }
}

// Runs the node in this process until SIGTERM or SIGINT. Reports "OK ..." or "ERR message" on
// ready_fd (or prints, with ready_fd < 0). Returns the exit status.
int ServeNode(const StartFlags& flags, const NodeOptions& options, int ready_fd) {
  // The signals are taken by sigwait below; every thread the node starts inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  auto node = Node::Start(options);
  if (!node.ok()) {
    std::string message = node.status().message();
    if (ready_fd >= 0) {
      WriteAll(ready_fd, "ERR " + message + "\n");
    } else {
      std::fprintf(stderr, "rayx start: %s\n", message.c_str());
    }
    return 1;
  }
  DaemonInfo info;
  info.pid = getpid();
  info.node_id = (*node)->node_id().Hex();
  info.address = (*node)->cluster_address();
  info.socket = (*node)->socket_path();
  info.data_dir = flags.data_dir;
  Status written = WriteDaemonInfo(info);
  if (!written.ok()) {
    std::fprintf(stderr, "rayx start: warning: %s\n", written.message().c_str());
  }
  std::string ready = "OK " + info.node_id + " " + info.address + "\n";
  if (ready_fd >= 0) {
    WriteAll(ready_fd, ready);
    close(ready_fd);
  } else {
    std::printf("rayx node %s serves at %s (pid %d); Ctrl-C stops it\n", info.node_id.c_str(),
                info.address.c_str(), info.pid);
    std::fflush(stdout);
  }
  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  std::fprintf(stderr, "rayx node %s: stopping (signal %d)\n", info.node_id.c_str(), sig);
  (*node)->Stop(kStopGraceMs);
  RemoveDaemonInfo(info);
  return 0;
}

void Start(StartFlags flags) {
  StatusOr<std::string> token = LoadClusterToken(flags.token_file);
  if (!token.ok()) Fail(token.status().message());
  if (token->empty() && !IsLoopbackHost(flags.node_ip)) {
    Fail("refusing to listen on " + flags.node_ip +
         " without a cluster token: anyone who can reach it could join the cluster and run code. "
         "Set RAYX_CLUSTER_TOKEN or pass --token-file, or listen on 127.0.0.1.");
  }
  if (flags.port < 0 || flags.port > 65535) Fail("--port must be 0-65535");
  if (!(flags.heartbeat_timeout_s > 0)) Fail("--heartbeat-timeout must be > 0");
  StatusOr<std::map<std::string, double>> resources = ParseResourcesJson(flags.resources);
  if (!resources.ok()) Fail("--resources: " + resources.status().message());
  if (flags.data_dir.empty()) flags.data_dir = DefaultDaemonDir();
  char resolved[PATH_MAX];
  Status made = MakeDirs(flags.data_dir);
  if (!made.ok()) Fail("cannot make the data directory: " + made.message());
  if (realpath(flags.data_dir.c_str(), resolved) == nullptr) {
    Fail("cannot use the data directory " + flags.data_dir);
  }
  flags.data_dir = resolved;
  if (auto running = ReadDaemonInfo(flags.data_dir); running.ok() && ProcessAlive(running->pid)) {
    Fail("a node (pid " + std::to_string(running->pid) + ") already runs in " + flags.data_dir +
         "; stop it with `rayx stop --data-dir " + flags.data_dir + "`");
  }

  NodeOptions options;
  options.num_cpus = flags.num_cpus >= 0 ? flags.num_cpus : sysconf(_SC_NPROCESSORS_ONLN);
  options.num_gpus = flags.num_gpus;
  options.resources = *resources;
  options.object_store_memory = flags.object_store_memory;
  options.executable = WorkerExecutable();
  ClusterOptions cluster;
  cluster.host = flags.node_ip;
  cluster.port = static_cast<uint16_t>(flags.port);
  cluster.join = flags.address;
  cluster.token = *token;
  cluster.heartbeat_timeout_ms = static_cast<uint64_t>(flags.heartbeat_timeout_s * 1000);
  cluster.heartbeat_interval_ms = std::min<uint64_t>(500, cluster.heartbeat_timeout_ms / 4 + 1);
  options.cluster = cluster;

  if (flags.block) {
    int code = ServeNode(flags, options, -1);
    if (code != 0) throw CLI::RuntimeError(code);
    return;
  }

  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) Fail("pipe failed");
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) Fail("fork failed");
  if (pid == 0) {
    close(pipe_fds[0]);
    setsid();
    int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    std::string log = flags.data_dir + "/node.log";
    int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd >= 0) {
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
    }
    int code = 1;
    try {
      code = ServeNode(flags, options, pipe_fds[1]);
    } catch (...) {
      WriteAll(pipe_fds[1], "ERR internal error\n");
    }
    std::fflush(nullptr);
    _exit(code);
  }
  close(pipe_fds[1]);
  std::string reply;
  char buf[512];
  for (;;) {
    ssize_t n = read(pipe_fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    reply.append(buf, static_cast<size_t>(n));
    if (reply.find('\n') != std::string::npos) break;
  }
  close(pipe_fds[0]);
  if (reply.rfind("OK ", 0) != 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    std::string why = reply.rfind("ERR ", 0) == 0 ? reply.substr(4) : "the node exited at start\n";
    if (!why.empty() && why.back() == '\n') why.pop_back();
    Fail(why + " (log: " + flags.data_dir + "/node.log)");
  }
  std::string rest = reply.substr(3);
  std::string node_id = rest.substr(0, rest.find(' '));
  std::string address = rest.substr(rest.find(' ') + 1);
  if (!address.empty() && address.back() == '\n') address.pop_back();
  std::printf(
      "rayx node %s started (pid %d), data directory %s\n"
      "  peers join with:   rayx start --address %s\n"
      "  attach a driver:   rayx run --address %s script.py  (or RAYX_ADDRESS=%s)\n"
      "  see the cluster:   rayx status --address %s\n"
      "  stop it:           rayx stop --data-dir %s\n",
      node_id.c_str(), static_cast<int>(pid), flags.data_dir.c_str(), address.c_str(),
      address.c_str(), address.c_str(), address.c_str(), flags.data_dir.c_str());
}

}  // namespace

StatusOr<std::map<std::string, double>> ParseResourcesJson(const std::string& json) {
  std::map<std::string, double> out;
  size_t i = 0;
  auto skip = [&] {
    while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  };
  auto bad = [&](const std::string& what) {
    return InvalidArgument("expected a JSON object of numbers such as {\"a\": 1}: " + what);
  };
  skip();
  if (i >= json.size() || json[i] != '{') return bad("no '{'");
  ++i;
  skip();
  if (i < json.size() && json[i] == '}') return out;
  for (;;) {
    skip();
    if (i >= json.size() || json[i] != '"') return bad("a key must be a string");
    ++i;
    std::string key;
    while (i < json.size() && json[i] != '"') {
      if (json[i] == '\\' && i + 1 < json.size()) ++i;
      key.push_back(json[i++]);
    }
    if (i >= json.size()) return bad("unterminated key");
    ++i;
    skip();
    if (i >= json.size() || json[i] != ':') return bad("no ':' after \"" + key + "\"");
    ++i;
    skip();
    const char* start = json.c_str() + i;
    char* end = nullptr;
    double value = std::strtod(start, &end);
    if (end == start) return bad("the value of \"" + key + "\" is not a number");
    i += static_cast<size_t>(end - start);
    if (key == "CPU" || key == "GPU") return bad("use --num-cpus and --num-gpus for " + key);
    out[key] = value;
    skip();
    if (i < json.size() && json[i] == ',') {
      ++i;
      continue;
    }
    if (i < json.size() && json[i] == '}') {
      ++i;
      skip();
      if (i != json.size()) return bad("text after the object");
      return out;
    }
    return bad("expected ',' or '}'");
  }
}

void AddStartCommand(CLI::App* app) {
  auto f = std::make_shared<StartFlags>();
  CLI::App* start = app->add_subcommand(
      "start", "Start a node daemon, alone or joining the cluster of a member (--address).");
  start->add_option("--address", f->address, "HOST:PORT of any member of the cluster to join");
  start->add_option("--port", f->port, "TCP port for peers (default 6379; 0: any free port)");
  start->add_option("--node-ip-address", f->node_ip,
                    "Address to listen on and be reached by (default 127.0.0.1)");
  start->add_option("--num-cpus", f->num_cpus, "CPUs (default: the machine's)");
  start->add_option("--num-gpus", f->num_gpus, "GPUs (default 0)");
  start->add_option("--resources", f->resources, "Custom resources as JSON, e.g. '{\"a\": 1}'");
  start->add_option("--object-store-memory", f->object_store_memory, "Object store bytes");
  start->add_option("--data-dir", f->data_dir, "Where node.info and node.log go ($RAYX_HOME/node)");
  start->add_flag("--block", f->block, "Stay in the foreground until SIGTERM or Ctrl-C");
  start->add_option("--token-file", f->token_file,
                    "File holding the cluster token (default: $RAYX_CLUSTER_TOKEN)");
  start->add_option("--heartbeat-timeout", f->heartbeat_timeout_s,
                    "Seconds of silence after which a member is declared dead (default 5)");
  start->callback([f] { Start(*f); });
}

}  // namespace rayx::cli
