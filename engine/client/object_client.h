// ObjectClient: a process's puts, gets and waits.
//
// A put is sent to the node, inline or after its shared-memory file is written; the node counts
// this process as the object's holder from the start. A get first waits for the results of this
// process's direct tasks, which are kept here, and asks the node only for what is not here. The
// node answers a get of many values in parts (GetReply holds a prefix of the ids, within the
// frame limit), and the client asks again for the rest.
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/status.h"
#include "engine/client/client_types.h"
#include "engine/client/direct_submitter.h"
#include "engine/client/node_channel.h"
#include "engine/client/reference_counter.h"
#include "engine/client/task_context.h"
#include "engine/client/value_io.h"

namespace rayx {

class ObjectClient {
 public:
  // Every pointer must outlive the client.
  ObjectClient(NodeChannel* channel, ReferenceCounter* refs, TaskContext* context, ValueIo* io,
               DirectSubmitter* direct)
      : channel_(channel), refs_(refs), context_(context), io_(io), direct_(direct) {}

  // Stores a new object, held by this process from the start (the first AddRef of the id takes
  // that hold over without another message). A large object is written to shared memory, then
  // the node is told and answers once it has room (it may spill to make it); OutOfMemory
  // (OBJECT_STORE_FULL) when neither memory nor disk can hold it.
  StatusOr<ObjectID> Put(const OutgoingValue& value);
  // Worker: stores item k of the generator task that this process runs, id = return k + 1 of that
  // task. The node holds it for the task's generator (its return 0), not for this process
  // (ObjectTable::SealItem). Sent in order with the task's other messages, so the node has every
  // item before the task's TaskDone. A large item waits for room as Put does.
  Status PutItem(const ObjectID& id, const OutgoingValue& value);
  // The values of ids, in order. timeout_ms < 0: no timeout; on timeout *timed_out is set and
  // nothing is returned.
  StatusOr<std::vector<IncomingValue>> Get(const std::vector<ObjectID>& ids, int64_t timeout_ms,
                                           bool* timed_out);
  // Which of ids are ready, once num_returns are or timeout_ms passed. An id the node does not
  // know counts as ready (a freed object: a get reports it lost) unless unknown_pending, when it
  // is waited for (a generator's next item, not yielded yet).
  StatusOr<std::vector<bool>> Wait(const std::vector<ObjectID>& ids, uint32_t num_returns,
                                   int64_t timeout_ms, bool unknown_pending = false);
  StatusOr<StoreStats> Stats();
  // Tests only: drops every copy of ids, here (results of direct tasks) and on the node, once
  // the direct tasks among them have finished and the node has their results. Returns how many
  // of ids had a copy on the node.
  StatusOr<uint32_t> DropCopies(const std::vector<ObjectID>& ids);
  // Frees the objects' values on the node (ray._private.internal_api.free): a get of one raises
  // OBJECT_FREED from then on. Waits for the direct tasks that make them first. Returns how many
  // the node freed.
  StatusOr<uint32_t> Free(const std::vector<ObjectID>& ids);
  // The node's object table, entry by entry (ray._private.internal_api.memory_summary).
  StatusOr<ObjectListing> List();

 private:
  // Waits for the direct tasks that make ids, and hands the results kept here to the node (a
  // promotion, sent before what the caller sends next), so that no copy of them stays here.
  Status HandOverDirectResults(const std::vector<ObjectID>& ids);

  // Sends a put of id (written to shared memory first when large; then waits for the reply).
  Status Send(const ObjectID& id, const OutgoingValue& value, bool generator_item);
  // Asks the node for ids, in order; *received holds the values that came (a prefix of ids).
  Status GetFromNode(const std::vector<ObjectID>& ids, int64_t timeout_ms, bool* timed_out,
                     std::vector<IncomingValue>* received);

  NodeChannel* const channel_;
  ReferenceCounter* const refs_;
  TaskContext* const context_;
  ValueIo* const io_;
  DirectSubmitter* const direct_;
};

}  // namespace rayx
