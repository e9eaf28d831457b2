#include "cli/status_command.h"

#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "engine/client/node_connection.h"
#include "engine/client/node_info.h"
#include "engine/cluster/observer_client.h"
#include "engine/cluster/token.h"
#include "engine/node/session_dirs.h"
#include "engine/wire/messages.h"

namespace rayx::cli {
namespace {

struct NodeStatus {
  std::string node_id;
  std::string socket;
  std::vector<std::pair<std::string, double>> total;
  std::vector<std::pair<std::string, double>> available;
  uint64_t capacity = 0, used = 0, objects = 0, in_memory = 0, spilled = 0, spilled_bytes = 0;
  uint64_t spill_count = 0, restore_count = 0;
};

std::vector<std::pair<std::string, double>> Amounts(
    const flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>* amounts) {
  std::vector<std::pair<std::string, double>> out;
  if (amounts == nullptr) return out;
  for (const auto* a : *amounts) out.emplace_back(StringOf(a->name()), a->amount());
  return out;
}

StatusOr<NodeStatus> Query(const std::string& socket) {
  RAYX_ASSIGN_OR_RETURN(auto conn,
                        NodeConnection::Connect(socket, wire::Role::Observer, WorkerID()));
  NodeStatus status;
  status.socket = socket;
  status.node_id = conn->welcome().node_id.Hex();

  uint64_t info_id = conn->NextRequestId();
  flatbuffers::FlatBufferBuilder b(64);
  RAYX_ASSIGN_OR_RETURN(
      std::string info_frame,
      conn->Call(info_id, FinishEnvelope(b, wire::CreateInfoRequest(b, info_id))));
  RAYX_ASSIGN_OR_RETURN(const wire::Envelope* info, ParseEnvelope(info_frame));
  const wire::InfoReply* reply = info->message_as_InfoReply();
  if (reply == nullptr || reply->nodes() == nullptr || reply->nodes()->size() == 0) {
    return ProtocolError("malformed InfoReply");
  }
  status.total = Amounts(reply->nodes()->Get(0)->total());
  status.available = Amounts(reply->nodes()->Get(0)->available());

  uint64_t stats_id = conn->NextRequestId();
  flatbuffers::FlatBufferBuilder sb(64);
  auto request = wire::CreateObjectStoreStatsRequest(sb, stats_id);
  RAYX_ASSIGN_OR_RETURN(std::string stats_frame, conn->Call(stats_id, FinishEnvelope(sb, request)));
  RAYX_ASSIGN_OR_RETURN(StoreStats stats, ParseStoreStats(stats_frame));
  status.capacity = stats.capacity;
  status.used = stats.used;
  status.objects = stats.num_objects;
  status.in_memory = stats.num_in_memory;
  status.spilled = stats.num_spilled;
  status.spilled_bytes = stats.spilled_bytes;
  status.spill_count = stats.spill_count;
  status.restore_count = stats.restore_count;
  return status;
}

std::string JsonAmounts(const std::vector<std::pair<std::string, double>>& amounts) {
  std::ostringstream out;
  out << "{";
  for (size_t i = 0; i < amounts.size(); ++i) {
    // Resource names are the user's; quote characters in them are escaped.
    std::string name;
    for (char c : amounts[i].first) {
      if (c == '"' || c == '\\') name.push_back('\\');
      name.push_back(c);
    }
    out << (i ? ", " : "") << "\"" << name << "\": " << amounts[i].second;
  }
  out << "}";
  return out.str();
}

std::string TextAmounts(const std::vector<std::pair<std::string, double>>& amounts) {
  std::ostringstream out;
  for (size_t i = 0; i < amounts.size(); ++i)
    out << (i ? ", " : "") << amounts[i].first << " " << amounts[i].second;
  return out.str();
}

int RunStatus(bool json) {
  std::vector<NodeStatus> nodes;
  for (const std::string& socket : LiveNodeSockets()) {
    auto status = Query(socket);
    // A node that stops between discovery and the question is simply not listed.
    if (status.ok()) nodes.push_back(std::move(status).value());
  }
  if (json) {
    std::printf("{\"nodes\": [");
    for (size_t i = 0; i < nodes.size(); ++i) {
      const NodeStatus& n = nodes[i];
      std::printf(
          "%s{\"node_id\": \"%s\", \"alive\": true, \"total\": %s, \"available\": %s, "
          "\"object_store\": {\"capacity\": %llu, \"used\": %llu, \"objects\": %llu, "
          "\"in_memory\": %llu, \"spilled\": %llu, \"spilled_bytes\": %llu, \"spill_count\": %llu, "
          "\"restore_count\": %llu}}",
          i ? ", " : "", n.node_id.c_str(), JsonAmounts(n.total).c_str(),
          JsonAmounts(n.available).c_str(), (unsigned long long)n.capacity,
          (unsigned long long)n.used, (unsigned long long)n.objects,
          (unsigned long long)n.in_memory, (unsigned long long)n.spilled,
          (unsigned long long)n.spilled_bytes, (unsigned long long)n.spill_count,
          (unsigned long long)n.restore_count);
    }
    std::printf("]}\n");
    return 0;
  }
  if (nodes.empty()) {
    std::printf("No rayx node is running on this machine.\n");
    return 0;
  }
  for (const NodeStatus& n : nodes) {
    std::printf("node %s (%s)\n", n.node_id.c_str(), n.socket.c_str());
    std::printf("  resources:    %s\n", TextAmounts(n.total).c_str());
    std::printf("  available:    %s\n", TextAmounts(n.available).c_str());
    std::printf(
        "  object store: %.1f of %.1f MiB in memory, %llu objects (%llu in memory, %llu spilled, "
        "%.1f MiB on disk)\n",
        n.used / 1048576.0, n.capacity / 1048576.0, (unsigned long long)n.objects,
        (unsigned long long)n.in_memory, (unsigned long long)n.spilled,
        n.spilled_bytes / 1048576.0);
    std::printf("  spilled %llu and restored %llu objects since the node started\n",
                (unsigned long long)n.spill_count, (unsigned long long)n.restore_count);
  }
  return 0;
}

std::vector<std::pair<std::string, double>> Pairs(const std::map<std::string, double>& m) {
  return std::vector<std::pair<std::string, double>>(m.begin(), m.end());
}

std::string JsonString(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) >= 0x20) out.push_back(c);
  }
  return out + "\"";
}

// The cluster as the member at address knows it, over TCP with the cluster token.
int RunRemoteStatus(const std::string& address, const std::string& token_file, bool json) {
  StatusOr<std::string> token = LoadClusterToken(token_file);
  if (!token.ok()) {
    std::fprintf(stderr, "rayx status: %s\n", token.status().message().c_str());
    return 1;
  }
  auto members = QueryMembers(address, *token);
  if (!members.ok()) {
    std::fprintf(stderr, "rayx status: %s: %s\n", address.c_str(),
                 members.status().message().c_str());
    return 1;
  }
  if (json) {
    std::printf("{\"nodes\": [");
    for (size_t i = 0; i < members->size(); ++i) {
      const MemberState& m = (*members)[i];
      std::printf(
          "%s{\"node_id\": \"%s\", \"address\": %s, \"pid\": %d, \"alive\": %s, "
          "\"resources\": %s, \"available\": %s, \"object_store\": {\"used\": %llu, "
          "\"capacity\": %llu}, \"tasks\": %u}",
          i ? ", " : "", m.id.Hex().c_str(), JsonString(m.address).c_str(), m.pid,
          m.alive ? "true" : "false", JsonAmounts(Pairs(m.total)).c_str(),
          JsonAmounts(Pairs(m.available)).c_str(), (unsigned long long)m.store_used,
          (unsigned long long)m.store_capacity, m.running_tasks);
    }
    std::printf("]}\n");
    return 0;
  }
  int alive = 0;
  for (const MemberState& m : *members) alive += m.alive ? 1 : 0;
  std::printf("cluster of %d alive node(s), as %s sees it\n", alive, address.c_str());
  for (const MemberState& m : *members) {
    std::printf("node %s at %s, pid %d: %s\n", m.id.Hex().c_str(), m.address.c_str(), m.pid,
                m.alive ? "alive" : "dead");
    if (!m.alive) continue;
    std::printf("  resources:    %s\n", TextAmounts(Pairs(m.total)).c_str());
    std::printf("  available:    %s\n", TextAmounts(Pairs(m.available)).c_str());
    std::printf("  object store: %.1f of %.1f MiB; %u task(s) queued or running\n",
                m.store_used / 1048576.0, m.store_capacity / 1048576.0, m.running_tasks);
  }
  return 0;
}

}  // namespace

void AddStatusCommand(CLI::App* app) {
  auto json = std::make_shared<bool>(false);
  auto address = std::make_shared<std::string>();
  auto token_file = std::make_shared<std::string>();
  CLI::App* status = app->add_subcommand(
      "status", "Shows the rayx nodes running on this machine, or the cluster of --address.");
  status->add_flag("--json", *json, "Print JSON");
  status->add_option("--address", *address,
                     "HOST:PORT of a cluster member: show the cluster as it sees it");
  status->add_option("--token-file", *token_file,
                     "File holding the cluster token (default: $RAYX_CLUSTER_TOKEN)");
  status->callback([json, address, token_file] {
    int code = address->empty() ? RunStatus(*json) : RunRemoteStatus(*address, *token_file, *json);
    if (code != 0) throw CLI::RuntimeError(code);
  });
}

}  // namespace rayx::cli
