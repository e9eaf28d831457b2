// DirectSubmitter: the owner's side of direct task submission (protocol.fbs).
//
// A task with no object references among its arguments, one return and no GPU may go straight to
// a worker this process leases from the node for the task's resource shape, when that worker has
// nothing in flight from this process; otherwise it takes the node's path, so a long task on the
// leased worker never holds up others, and the first task of a shape asks for a lease. The result
// comes back on this process's link to the worker and is kept here, so that a get of it never asks
// the node. The node hears of the task after the fact (its announcement waits in the channel for
// the next frame to the node) and of its result from the worker: other processes' gets, retries
// and cancel work as for any task. When a message about to go to the node names a result kept
// here, the result goes to the node first (a promotion), so that nobody there waits for the
// worker's batched report. A lease goes back when the node asks for it (other work waits for its
// resources) and nothing is in flight, after kLeaseIdle unused, or when its link closes.
//
// Thread-safe. Lock order: the connection's lock, then this submitter's, then the reference
// counter's or the channel's internal lock. It never holds its lock while sending to the node.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/client/client_types.h"
#include "engine/client/node_channel.h"
#include "engine/client/reference_counter.h"

namespace rayx {

// The resource shape a task may be submitted directly under, or "" when it must take the node's
// path (object references in its arguments, an actor call, several returns, GPUs, large arguments).
std::string DirectShape(const TaskSubmission& task);

class DirectSubmitter {
 public:
  // How long a lease with nothing in flight is kept for the next direct task.
  static constexpr auto kLeaseIdle = std::chrono::milliseconds(20);
  // Failed links to granted workers of one shape, in a row, before that shape stops leasing.
  static constexpr int kMaxLinkFailures = 5;

  // Takes the connection's frames that are neither replies nor tasks (lease messages, results on
  // links), runs an upkeep on the channel's flusher, and hears of released references. channel
  // and refs must outlive it.
  DirectSubmitter(NodeChannel* channel, ReferenceCounter* refs);
  DirectSubmitter(const DirectSubmitter&) = delete;
  DirectSubmitter& operator=(const DirectSubmitter&) = delete;

  // A function exported by this process, kept for the leased workers that will need it.
  void RememberFunction(const std::string& function_id, ByteSpan blob);

  // Sends the task (shape: DirectShape(task), not empty) to its shape's leased worker, if it is
  // idle, and leaves its announcement (the spec, naming the worker) to go with the next frame to
  // the node: true. Otherwise false, and *request_lease says whether to ask for a lease after the
  // task went the node's path (RequestLease).
  bool TrySubmit(const TaskSubmission& task, const TaskID& task_id, const TaskID& parent,
                 uint32_t depth, const std::string& shape, std::string_view job_namespace,
                 bool* request_lease);
  void RequestLease(const TaskSubmission& task, const std::string& shape);

  // A message about to go to the node names these ids: the ones that are results of this
  // process's direct tasks go to the node from here (a promotion) now, or as soon as they arrive.
  // Each is promoted once.
  void PromoteNamed(const std::vector<ObjectID>& ids);
  // The values of ids kept here, or nullopt when one of them is not here.
  std::optional<std::vector<IncomingValue>> LocalValues(const std::vector<ObjectID>& ids);
  // Tests only: forgets the values of ids kept here (DropObjectCopies), so that a get asks the
  // node.
  void ForgetLocal(const std::vector<ObjectID>& ids);
  // Marks in ready the ids whose values are kept here; returns how many.
  uint32_t MarkLocal(const std::vector<ObjectID>& ids, std::vector<bool>* ready);
  // Waits until none of ids is still running on a leased worker: true, or false when timeout_ms
  // (negative: none) passed; Cancelled when interrupted, Unavailable when the connection is lost.
  StatusOr<bool> WaitForResults(const std::vector<ObjectID>& ids, int64_t timeout_ms);
  // Gives back the leases with nothing in flight that went unused for at least min_idle.
  void ReturnIdleLeases(std::chrono::steady_clock::duration min_idle);

  // Tasks sent straight to a leased worker so far.
  uint64_t direct_task_count() const { return direct_task_count_.load(); }

 private:
  struct Lease {
    uint64_t key = 0;
    std::string shape;
    WorkerID worker_id;
    uint64_t link = 0;  // 0 until granted and reached.
    bool granted = false;
    bool revoked = false;
    // Two per direct task, from sending it until its result has come and its announcement waits
    // in the channel (so that the lease never goes back to the node before the announcement of a
    // task that ran on it).
    uint32_t in_flight = 0;
    std::chrono::steady_clock::time_point idle_since;
    std::unordered_set<std::string> functions_sent;
  };
  // Where a direct task goes: a leased worker and this process's link to it.
  struct Target {
    uint64_t link = 0;
    WorkerID worker_id;
    std::string blob;  // The function's definition, when that worker has not been sent it.
  };

  // The leased worker to send this task to now, or none. On success the task counts as in flight.
  std::optional<Target> PickLease(const TaskSubmission& task, const TaskID& task_id,
                                  const std::string& shape, bool* request_lease);
  // Sends the task to the leased worker; false (and nothing in flight) when the link is gone.
  bool SendDirect(const Target& target, const TaskSubmission& task, const TaskID& task_id,
                  uint32_t depth, std::string_view job_namespace);
  // The task sent to target waits in the channel now (see Lease::in_flight); gives the lease back
  // if the node asked for it and nothing else is in flight. REQUIRES: lock holds mu_; it may be
  // released.
  void AnnouncedOn(std::unique_lock<std::mutex>& lock, const std::string& shape,
                   const Target& target);
  // Frames from links and lease messages from the node (NodeConnection::FrameHandler).
  // False for frames that are not about direct submission.
  bool OnFrame(uint64_t link, const std::string& frame);
  void OnLeaseGranted(uint64_t lease_key, const WorkerID* worker_id,
                      const std::string& socket_path);
  void OnRevokeLease(const WorkerID& worker_id);
  void OnResult(uint64_t link, const std::string& frame);
  void OnLinkClosed(uint64_t link);
  void OnRelease(const ObjectID& id);
  // The flusher's upkeep: reads the links when no other thread does and gives back idle leases.
  bool Upkeep();
  // Takes the lease out of the tables and gives it back to the node.
  // REQUIRES: lock holds mu_; it is released.
  void ReturnLease(std::unique_lock<std::mutex>& lock, const std::string& shape);
  void SendReturnLease(const WorkerID& worker_id);
  // Leaves a promotion (PutObject) of a direct task's result in the channel. REQUIRES: mu_ held.
  void DeferPromotion(const ObjectID& id, ValueKind kind, std::string_view data);
  bool AnyPending(const std::vector<ObjectID>& ids) const;  // REQUIRES: mu_ is held.

  NodeChannel* const channel_;
  ReferenceCounter* const refs_;
  std::atomic<uint64_t> direct_task_count_{0};

  mutable std::mutex mu_;
  uint64_t next_lease_key_ = 1;                                     // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::unique_ptr<Lease>> leases_;  // By shape. GUARDED_BY(mu_)
  // Shapes the node refused to lease, or whose leased workers could not be reached.
  std::unordered_set<std::string> disabled_;                  // GUARDED_BY(mu_)
  std::unordered_map<std::string, int> link_failures_;        // In a row, by shape. GUARDED_BY(mu_)
  std::unordered_map<TaskID, Lease*> pending_;                // Tasks in flight.  GUARDED_BY(mu_)
  std::unordered_map<ObjectID, IncomingValue> local_values_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, std::string> function_blobs_;  // GUARDED_BY(mu_)
  // Results promoted already, and tasks whose result is to be promoted when it arrives.
  std::unordered_set<ObjectID> promoted_;          // GUARDED_BY(mu_)
  std::unordered_set<TaskID> promote_on_arrival_;  // GUARDED_BY(mu_)
};

}  // namespace rayx
