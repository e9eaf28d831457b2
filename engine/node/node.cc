#include "engine/node/node.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <future>
#include <thread>
#include <unordered_map>

#include "engine/base/logging.h"
#include "engine/loop/connection.h"
#include "engine/loop/event_loop.h"
#include "engine/node/actor_manager.h"
#include "engine/node/bundle_host.h"
#include "engine/node/cluster_work.h"
#include "engine/node/lineage_recorder.h"
#include "engine/node/node_service.h"
#include "engine/node/placement_group_manager.h"
#include "engine/node/session_dirs.h"
#include "engine/node/task_manager.h"
#include "engine/objects/io_pool.h"
#include "engine/objects/object_puller.h"
#include "engine/objects/object_table.h"
#include "engine/sched/resource_set.h"
#include "engine/wire/messages.h"
#include "engine/worker/worker_pool.h"

namespace rayx {

namespace {

// How long at most a stopping node with a lineage log waits for leased workers' reports.
constexpr auto kReportsBound = std::chrono::milliseconds(20);

void Warn(const std::string& message) {
  std::string line = "rayx: warning: " + message + "\n";
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace

struct Node::Components {
  NodeID node_id;
  std::unique_ptr<SessionDirs> dirs;
  std::string session_dir;  // The socket and the object store's files (dirs->store_dir()).
  std::string socket_path;
  EventLoop loop;
  // Built and destroyed on the loop thread.
  std::unordered_map<std::string, std::string> functions;
  std::unique_ptr<IoPool> io;
  std::unique_ptr<ObjectTable> objects;
  std::unique_ptr<WorkerPool> pool;
  LineageLog* lineage_log = nullptr;  // The process's; outlives the node.
  std::unique_ptr<LineageRecorder> lineage;
  std::unique_ptr<TaskManager> tasks;
  std::unique_ptr<ActorManager> actors;
  std::unique_ptr<BundleHost> bundle_host;
  std::unique_ptr<PlacementGroupManager> placement_groups;
  std::unique_ptr<NodeService> service;
  std::unique_ptr<UnixListener> listener;
  std::unique_ptr<ClusterService> cluster;  // Only with peers, as are the two below.
  std::unique_ptr<ClusterWork> cluster_work;
  std::unique_ptr<ObjectPuller> puller;
  std::string cluster_address;
  bool running = false;
};

Node::Node() : components_(std::make_unique<Components>()) {}

Node::~Node() { Stop(); }

const std::string& Node::socket_path() const { return components_->socket_path; }
const NodeID& Node::node_id() const { return components_->node_id; }
const std::string& Node::cluster_address() const { return components_->cluster_address; }

StatusOr<std::unique_ptr<Node>> Node::Start(const NodeOptions& options) {
  if (!(options.num_cpus >= 0) || !(options.num_gpus >= 0) ||
      options.num_gpus != std::floor(options.num_gpus)) {
    return InvalidArgument("num_cpus must be >= 0 and num_gpus a whole number >= 0");
  }
  std::map<std::string, double> amounts = options.resources;
  amounts["CPU"] = options.num_cpus;
  amounts["GPU"] = options.num_gpus;
  RAYX_RETURN_IF_ERROR(ResourceSet::FromDoubles(amounts).status());

  std::unique_ptr<Node> node(new Node());
  Components* c = node->components_.get();
  c->node_id = NodeID::FromRandom();
  RAYX_ASSIGN_OR_RETURN(c->dirs,
                        SessionDirs::Create(c->node_id, options.object_store_memory, Warn));
  if (amounts.count("memory") == 0) {
    // As in Ray: the memory resource is the memory available at start, less the object store.
    uint64_t available = AvailableMemoryBytes();
    uint64_t store = c->dirs->store_capacity();
    amounts["memory"] = static_cast<double>(available > store ? available - store : 0);
  }
  RAYX_ASSIGN_OR_RETURN(ResourceSet total, ResourceSet::FromDoubles(amounts));
  c->session_dir = c->dirs->store_dir();
  c->socket_path = c->dirs->socket_path();
  c->lineage_log = StartProcessLineage(Warn);  // Disk I/O: before the loop runs.
  RAYX_RETURN_IF_ERROR(c->loop.Start());

  std::promise<Status> started;
  c->loop.Post([c, &options, &total, &started] {
    c->io =
        std::make_unique<IoPool>(2, [c](std::function<void()> fn) { c->loop.Post(std::move(fn)); });
    c->objects = std::make_unique<ObjectTable>(ObjectTableOptions{
        c->session_dir, c->dirs->spill_dir(), c->dirs->store_capacity(), c->io.get()});
    c->pool = std::make_unique<WorkerPool>(
        &c->loop, WorkerPoolOptions{options.executable, c->socket_path, /*max_workers=*/512});
    c->tasks =
        std::make_unique<TaskManager>(c->objects.get(), c->pool.get(), &c->functions, total, Warn);
    c->tasks->EnableCancelResignal(&c->loop);
    c->lineage = std::make_unique<LineageRecorder>(c->lineage_log, c->objects.get());
    c->tasks->SetLineageRecorder(c->lineage.get());
    c->actors = std::make_unique<ActorManager>(c->objects.get(), c->pool.get(), c->tasks.get(),
                                               &c->functions);
    c->actors->SetLineageRecorder(c->lineage.get());
    c->pool->SetHandlers([c](Worker* w) { c->tasks->OnWorkerReady(w); },
                         [c](Worker* w) {
                           c->actors->OnWorkerExit(w);
                           c->tasks->OnWorkerExit(w);
                           c->actors->CollectUnreferenced();
                         });
    // Tasks and stored values that carry actor handles keep those actors alive. The check on
    // actors guards the node's teardown, when the object table outlives the actor manager.
    ObjectTable::ActorPinFn pin_actor = [c](const ActorID& id, int delta) {
      if (c->actors) c->actors->PinActor(id, delta);
    };
    c->objects->SetActorPinner(pin_actor);
    c->tasks->SetActorPinner(pin_actor);
    c->service = std::make_unique<NodeService>(&c->loop, c->node_id, c->session_dir,
                                               c->objects.get(), c->pool.get(), c->tasks.get(),
                                               c->actors.get(), &c->functions);
    c->service->SetLineageRecorder(c->lineage.get());
    c->bundle_host = std::make_unique<BundleHost>(c->tasks.get(), c->actors.get());
    c->placement_groups = std::make_unique<PlacementGroupManager>(
        &c->loop, c->node_id, c->tasks.get(), c->actors.get(), c->bundle_host.get());
    c->service->SetPlacementGroups(c->placement_groups.get());
    c->service->SetBundleHost(c->bundle_host.get());
    c->listener = std::make_unique<UnixListener>(&c->loop);
    Status status = c->listener->Listen(c->socket_path, [c](std::shared_ptr<Connection> conn) {
      c->service->Accept(std::move(conn));
    });
    if (status.ok()) c->tasks->Prestart(options.prestart_workers);
    if (status.ok() && options.cluster) {
      // Sampled once per heartbeat, never per task.
      LocalStateFn local = [c](MemberState* self) {
        self->total = c->tasks->resources().total().ToDoubles();
        self->available = c->tasks->resources().available().ToDoubles();
        ObjectStoreStats stats = c->objects->Stats();
        self->store_used = stats.shm_bytes;
        self->store_capacity = stats.capacity;
        self->running_tasks = static_cast<uint32_t>(c->tasks->num_tasks());
      };
      c->cluster = std::make_unique<ClusterService>(&c->loop, c->node_id, c->socket_path,
                                                    *options.cluster, std::move(local));
      status = c->cluster->Start();
      if (status.ok()) c->cluster_address = c->cluster->address();
      c->cluster_work =
          std::make_unique<ClusterWork>(&c->loop, c->node_id, c->cluster.get(), c->objects.get(),
                                        c->tasks.get(), c->actors.get(), &c->functions);
      c->tasks->SetRemoteRunner(c->cluster_work.get());
      c->service->SetClusterWork(c->cluster_work.get());
      c->cluster->SetClientHandler(
          [c](std::shared_ptr<Connection> conn, peer::LinkPurpose purpose) {
            c->service->Accept(std::move(conn), purpose == peer::LinkPurpose::Driver
                                                    ? ClientOrigin::kRemoteDriver
                                                    : ClientOrigin::kMember);
          });
      c->cluster->SetMembershipListener([c](const NodeID& id, bool alive) {
        if (c->cluster_work) c->cluster_work->OnMember(id, alive);
        if (!alive && c->bundle_host) {
          c->bundle_host->OnCreatorGone(
              id, "the node that created its placement group (" + id.Hex() + ") died");
        }
      });
      c->cluster->SetTotalsListener([c](const NodeID& id) {
        if (c->cluster_work) c->cluster_work->OnMemberTotals(id);
      });
      // Placement groups reserve bundles on the members through the links ClusterWork keeps.
      c->cluster_work->SetBundleListeners(
          [c](const NodeID& from, const wire::BundleReply* reply) {
            c->placement_groups->OnPrepareReply(from, reply->request_id(),
                                                reply->error() ? reply->error()->str() : "");
          },
          [c](const NodeID& node) { c->placement_groups->OnMemberLost(node); });
      PlacementGroupManager::Cluster members;
      members.members = [c] {
        std::vector<MemberResources> out;
        for (auto& [id, view] : c->cluster_work->MemberViews()) {
          out.push_back(MemberResources{id, view.first, view.second});
        }
        return out;
      };
      members.send = [c](const NodeID& node, std::string_view frame) {
        return c->cluster_work->SendToMember(node, frame);
      };
      members.note = [c](const NodeID& node, const ResourceSet& derived, bool added) {
        c->cluster_work->NoteReserved(node, derived, added);
      };
      c->placement_groups->SetCluster(std::move(members));
      c->puller = std::make_unique<ObjectPuller>(
          [c](const NodeID& from, const ObjectID& id, uint64_t offset, uint32_t length,
              std::function<void(StatusOr<std::string_view>)> done) {
            c->cluster_work->ReadChunk(from, id, offset, length, std::move(done));
          },
          kMaxReadChunk);
      c->objects->SetFetcher([c](const ObjectID& id, const NodeID& location, uint64_t size,
                                 const std::string& path, std::function<void(Status)> done) {
        c->puller->Fetch(id, location, size, path, std::move(done));
      });
      c->objects->SetRemoteFreeListener([c](const ObjectID& id, const NodeID& location) {
        if (c->cluster_work) c->cluster_work->OnRemoteFreed(id, location);
      });
      c->service->SetPeerNodes([c] {
        std::vector<PeerNodeInfo> peers;
        std::vector<MemberState> members = c->cluster->Members();
        for (size_t i = 1; i < members.size(); ++i) {  // members[0] is this node.
          const MemberState& m = members[i];
          peers.push_back(PeerNodeInfo{m.id, m.alive, m.address, m.total, m.available});
        }
        return peers;
      });
    }
    started.set_value(status);
  });
  Status status = started.get_future().get();
  c->running = true;
  if (status.ok() && c->cluster) {
    std::promise<Status> joined;
    c->loop.Post([c, &joined] { c->cluster->Join([&joined](Status s) { joined.set_value(s); }); });
    status = joined.get_future().get();
  }
  if (!status.ok()) {
    node->Stop();
    return status;
  }
  return node;
}

void Node::Stop(uint64_t grace_ms) {
  Components* c = components_.get();
  if (!c->running) return;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(grace_ms);
  while (std::chrono::steady_clock::now() < end) {
    std::promise<size_t> tasks;
    c->loop.Post([c, &tasks] { tasks.set_value(c->tasks ? c->tasks->num_tasks() : 0); });
    if (tasks.get_future().get() == 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  c->running = false;
  // Workers report direct tasks within kFlushDelay (5 ms) of running them: with the lineage log on,
  // those reports are heard (and logged) before the workers go. A lease is over once its owner
  // gave it back (a driver does as it disconnects) and its tasks' reports came.
  if (c->lineage_log != nullptr) {
    const auto bound = std::chrono::steady_clock::now() + kReportsBound;
    for (;;) {
      std::promise<size_t> leases;
      c->loop.Post([c, &leases] { leases.set_value(c->tasks ? c->tasks->num_leases() : 0); });
      if (leases.get_future().get() == 0 || std::chrono::steady_clock::now() >= bound) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::promise<void> stopped;
  c->loop.Post([c, &stopped] {
    if (c->placement_groups) c->placement_groups->SetCluster({});
    if (c->cluster_work) c->cluster_work->SetBundleListeners(nullptr, nullptr);
    if (c->service) c->service->SetPeerNodes(nullptr);
    if (c->cluster_work) c->cluster_work->Close();  // Nothing is called back from here on.
    if (c->tasks) c->tasks->SetRemoteRunner(nullptr);
    if (c->service) c->service->SetClusterWork(nullptr);
    if (c->objects) {
      c->objects->SetFetcher(nullptr);
      c->objects->SetRemoteFreeListener(nullptr);
    }
    c->puller.reset();
    c->cluster.reset();  // Closes the peer listener and links first.
    if (c->listener) c->listener->Close();
    c->listener.reset();
    if (c->pool) c->pool->Stop();
    if (c->service) c->service->CloseAll();
    c->service.reset();
    c->placement_groups.reset();
    c->bundle_host.reset();
    c->cluster_work.reset();
    c->actors.reset();
    c->tasks.reset();
    c->lineage.reset();
    c->objects.reset();
    c->io.reset();  // Joins its threads; their late completions are dropped with the loop.
    c->pool.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
  // The loop closes the remaining handles (the pool's process handles among them) as it stops.
  c->loop.Stop();
  c->dirs.reset();  // Removes the session's directories.
}

}  // namespace rayx
