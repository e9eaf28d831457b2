// Writes the seed corpora of the fuzz targets (testdata/fuzz/<target>/): real, valid inputs of each
// decoder, from which the fuzzers start. The seeds are committed test data; rerun this after a
// protocol change: bazel run //tools/fuzz:make_seeds -- "$PWD/testdata/fuzz"
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "engine/base/ids.h"
#include "engine/cluster/auth.h"
#include "engine/cluster/member_wire.h"
#include "engine/cluster/peer_wire.h"
#include "engine/objects/object_format.h"
#include "engine/wire/frame.h"
#include "engine/wire/messages.h"
#include "storage/lineage_store.h"
#include "storage/memory_key_value_store.h"

namespace rayx {
namespace {

std::string root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  std::string dir = root + "/" + target;
  mkdir(dir.c_str(), 0755);
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

template <typename Id>
Id MakeId(uint8_t fill) {
  std::string bytes(Id::kSize, static_cast<char>(fill));
  return Id::FromBinary(bytes);
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>> Bytes(flatbuffers::FlatBufferBuilder& b,
                                                        std::string_view bytes) {
  return b.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

// A serialized object (object_format.h) holding data and one out-of-band buffer.
std::string Object(const std::string& data, const std::string& buffer) {
  std::vector<size_t> sizes;
  std::vector<ByteSpan> spans;
  if (!buffer.empty()) {
    sizes.push_back(buffer.size());
    spans.push_back(ByteSpan{reinterpret_cast<const uint8_t*>(buffer.data()), buffer.size()});
  }
  ObjectLayout layout = ComputeObjectLayout(data.size(), sizes);
  std::string out(layout.total_size, '\0');
  WriteObject(layout, ByteSpan{reinterpret_cast<const uint8_t*>(data.data()), data.size()}, spans,
              reinterpret_cast<uint8_t*>(&out[0]));
  return out;
}

template <typename T>
std::string Envelope(flatbuffers::FlatBufferBuilder& b, flatbuffers::Offset<T> message) {
  return std::string(FinishEnvelope(b, message));
}

const TaskID kTask = TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), 1);
const TaskID kActorTask =
    TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), 2);
const ObjectID kPut = ObjectID::ForPut(TaskID::ForDriver(JobID::FromInt(1)), 1);
const ObjectID kReturn = ObjectID::ForReturn(kTask, 0);
const std::string kFunction(20, 'f');

std::string Hello(wire::Role role) {
  flatbuffers::FlatBufferBuilder b;
  WorkerID id = MakeId<WorkerID>(7);
  auto worker = role == wire::Role::Worker ? Bytes(b, id.Binary()) : 0;
  return Envelope(b, wire::CreateHello(b, kProtocolVersion, role, worker, 1234));
}

std::string Put(const ObjectID& id, bool in_shm, bool promotion, const NodeID* location) {
  flatbuffers::FlatBufferBuilder b;
  std::string object = Object("\x80\x05K\x01.", in_shm ? std::string(100, 'b') : "");
  auto value = wire::CreateObjectValue(b, Bytes(b, id.Binary()), wire::ValueKind::Value,
                                       in_shm ? 0 : Bytes(b, object), in_shm,
                                       in_shm ? object.size() : 0, Bytes(b, kReturn.Binary()), 0,
                                       location ? Bytes(b, location->Binary()) : 0);
  return Envelope(b, wire::CreatePutObject(b, value, 9, promotion));
}

std::string Get(const std::vector<ObjectID>& ids, int64_t timeout_ms) {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateGetObjects(b, 11, PackIds(b, ids), timeout_ms));
}

std::string Wait(const std::vector<ObjectID>& ids, uint32_t num_returns, int64_t timeout_ms) {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateWaitObjects(b, 12, PackIds(b, ids), num_returns, timeout_ms));
}

flatbuffers::Offset<flatbuffers::Vector<flatbuffers::Offset<wire::ResourceAmount>>> Resources(
    flatbuffers::FlatBufferBuilder& b, const std::string& name, double amount) {
  std::vector<flatbuffers::Offset<wire::ResourceAmount>> list = {
      wire::CreateResourceAmount(b, b.CreateString(name), amount)};
  return b.CreateVector(list);
}

struct SpecOptions {
  TaskID task = kTask;
  std::vector<ObjectID> dependencies;
  uint32_t num_returns = 1;
  std::string resource = "CPU";
  double amount = 1;
  const ActorID* actor = nullptr;
  bool actor_creation = false;
  const WorkerID* direct_worker = nullptr;
  const NodeID* affinity = nullptr;
};

flatbuffers::Offset<wire::TaskSpec> Spec(flatbuffers::FlatBufferBuilder& b, const SpecOptions& o) {
  auto task_id = Bytes(b, o.task.Binary());
  auto function_id = Bytes(b, kFunction);
  auto name = b.CreateString("seed_task");
  auto args = Bytes(b, Object("\x80\x05]\x94.", ""));
  auto deps = PackIds(b, o.dependencies);
  auto contained = PackIds(b, std::vector<ObjectID>{});
  auto resources = Resources(b, o.resource, o.amount);
  auto actor = o.actor ? Bytes(b, o.actor->Binary()) : 0;
  auto method = b.CreateString(o.actor && !o.actor_creation ? "method" : "");
  auto direct = o.direct_worker ? Bytes(b, o.direct_worker->Binary()) : 0;
  auto affinity = o.affinity ? Bytes(b, o.affinity->Binary()) : 0;
  return wire::CreateTaskSpec(b, task_id, function_id, name, args, deps, contained, o.num_returns,
                              resources, 3, false, actor, method, o.actor_creation, 1, 0, 0, direct,
                              affinity, o.affinity != nullptr, false);
}

std::string Submit(const SpecOptions& o) {
  flatbuffers::FlatBufferBuilder b;
  auto spec = Spec(b, o);
  return Envelope(b, wire::CreateSubmitTask(b, spec));
}

std::string Export() {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateExportFunction(b, Bytes(b, kFunction), Bytes(b, "cloudpickle")));
}

std::string CreateActor(const std::string& name, bool get_if_exists) {
  flatbuffers::FlatBufferBuilder b;
  ActorID actor = ActorID::Of(kActorTask);
  SpecOptions o;
  o.task = kActorTask;
  o.actor = &actor;
  o.actor_creation = true;
  o.num_returns = 1;
  auto spec = Spec(b, o);
  auto lifetime = Resources(b, "CPU", 0);
  return Envelope(
      b, wire::CreateCreateActor(b, 13, spec, lifetime, 2, 1, b.CreateString(name),
                                 b.CreateString("ns"), false, get_if_exists, Bytes(b, "meta")));
}

std::string GetActor(const std::string& name) {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateGetActor(b, 14, b.CreateString(name), b.CreateString("ns")));
}

std::string KillActor() {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateKillActor(b, Bytes(b, ActorID::Of(kActorTask).Binary()), true));
}

std::string Cancel(const ObjectID& id) {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateCancelTask(b, Bytes(b, id.Binary()), false));
}

std::string RefCounts(const std::vector<ObjectID>& added, const std::vector<ObjectID>& removed,
                      bool mapped) {
  flatbuffers::FlatBufferBuilder b;
  std::vector<ActorID> actors = {ActorID::Of(kActorTask)};
  auto a = PackIds(b, added);
  auto r = PackIds(b, removed);
  auto aa = PackIds(b, actors);
  auto ar = PackIds(b, std::vector<ActorID>{});
  auto m = PackIds(b, mapped ? added : std::vector<ObjectID>{});
  auto u = PackIds(b, mapped ? removed : std::vector<ObjectID>{});
  return Envelope(b, wire::CreateRefCountUpdate(b, a, r, aa, ar, m, u));
}

std::string Info() {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateInfoRequest(b, 15));
}

std::string Stats() {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateObjectStoreStatsRequest(b, 16));
}

std::string Drop(const std::vector<ObjectID>& ids) {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateDropObjectCopies(b, 17, PackIds(b, ids)));
}

std::string Read(const ObjectID& id, uint64_t offset, uint32_t length) {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateReadObject(b, 18, Bytes(b, id.Binary()), offset, length));
}

std::string TaskDone() {
  flatbuffers::FlatBufferBuilder b;
  std::string object = Object("\x80\x05K\x02.", "");
  std::vector<flatbuffers::Offset<wire::ObjectValue>> results = {wire::CreateObjectValue(
      b, Bytes(b, kReturn.Binary()), wire::ValueKind::Value, Bytes(b, object))};
  return Envelope(b, wire::CreateTaskDone(b, Bytes(b, kTask.Binary()), b.CreateVector(results)));
}

std::string TaskStarted() {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateTaskStarted(b, b.CreateString("seed_task")));
}

std::string RequestLease(uint64_t key) {
  flatbuffers::FlatBufferBuilder b;
  auto resources = Resources(b, "CPU", 1);
  return Envelope(b, wire::CreateRequestLease(b, key, resources));
}

std::string ReturnLease(const WorkerID& id) {
  flatbuffers::FlatBufferBuilder b;
  return Envelope(b, wire::CreateReturnLease(b, Bytes(b, id.Binary())));
}

// An envelope_fuzz input: the origin byte, then each payload with its 2-byte length.
std::string Session(uint8_t origin, const std::vector<std::string>& payloads) {
  std::string out(1, static_cast<char>(origin));
  for (const std::string& p : payloads) {
    out.push_back(static_cast<char>(p.size() & 0xff));
    out.push_back(static_cast<char>((p.size() >> 8) & 0xff));
    out += p;
  }
  return out;
}

void EnvelopeSeeds() {
  const std::string driver = Hello(wire::Role::Driver);
  const NodeID other = MakeId<NodeID>(0x42);
  const WorkerID worker = MakeId<WorkerID>(7);
  SpecOptions plain;
  SpecOptions with_dep;
  with_dep.dependencies = {kPut};
  with_dep.task = TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), 3);
  SpecOptions direct;
  direct.direct_worker = &worker;
  SpecOptions custom;
  custom.resource = "custom";
  custom.amount = 0.5;
  custom.affinity = &other;
  ActorID actor = ActorID::Of(kActorTask);
  SpecOptions call;
  call.task = TaskID::ForChild(JobID::FromInt(1), TaskID::ForDriver(JobID::FromInt(1)), 4);
  call.actor = &actor;
  call.resource = "CPU";
  call.amount = 0;

  Write("envelope", "hello_only", Session(0, {driver}));
  Write("envelope", "put_get",
        Session(0, {driver, Put(kPut, false, false, nullptr), Get({kPut}, 0),
                    Get({kPut, kReturn}, 10)}));
  Write("envelope", "put_shm",
        Session(0, {driver, Put(kPut, true, false, nullptr), Get({kPut}, -1)}));
  Write("envelope", "submit_get",
        Session(0, {driver, Export(), Submit(plain), Get({kReturn}, 5), Cancel(kReturn)}));
  Write("envelope", "submit_dep",
        Session(0, {driver, Export(), Submit(with_dep), Put(kPut, false, false, nullptr),
                    Wait({kPut, ObjectID::ForReturn(with_dep.task, 0)}, 1, 5)}));
  Write("envelope", "submit_custom", Session(0, {driver, Export(), Submit(custom)}));
  Write("envelope", "actor",
        Session(0, {driver, Export(), CreateActor("seed", false), GetActor("seed"), Submit(call),
                    KillActor()}));
  Write("envelope", "actor_get_if_exists",
        Session(0, {driver, CreateActor("twice", true), CreateActor("twice", true)}));
  Write("envelope", "refcounts",
        Session(0, {driver, Put(kPut, false, false, nullptr), RefCounts({kPut}, {}, false),
                    RefCounts({}, {kPut}, false), Get({kPut}, 0)}));
  Write("envelope", "mapped",
        Session(0, {driver, Put(kPut, true, false, nullptr), RefCounts({kPut}, {kPut}, true)}));
  Write("envelope", "stats_drop",
        Session(0, {driver, Put(kPut, false, false, nullptr), Stats(), Drop({kPut}), Info()}));
  Write("envelope", "read_object",
        Session(0, {driver, Put(kPut, false, false, nullptr), Read(kPut, 0, 16),
                    Read(kPut, 1u << 30, 1u << 31)}));
  Write(
      "envelope", "lease",
      Session(0, {driver, RequestLease(1), RequestLease(2), ReturnLease(worker), Submit(direct)}));
  Write("envelope", "promotion",
        Session(0, {driver, Submit(plain), Put(kReturn, false, true, nullptr)}));
  Write("envelope", "observer", Session(0, {Hello(wire::Role::Observer), Info(), Stats()}));
  Write("envelope", "observer_refused", Session(0, {Hello(wire::Role::Observer), Get({kPut}, 0)}));
  Write("envelope", "worker", Session(0, {Hello(wire::Role::Worker), TaskStarted(), TaskDone()}));
  Write("envelope", "no_hello", Session(0, {Submit(plain)}));
  Write("envelope", "two_hellos", Session(0, {driver, driver}));
  Write("envelope", "node_local",
        Session(0, {Hello(wire::Role::Node), Put(kPut, true, false, &other), Submit(plain),
                    Get({kPut}, 0)}));
  Write("envelope", "remote_driver",
        Session(1, {driver, Put(kPut, false, false, nullptr), Get({kPut}, 0),
                    Put(kReturn, true, false, nullptr), RequestLease(3)}));
  Write("envelope", "member",
        Session(2, {Hello(wire::Role::Node), Put(kPut, true, false, &other), Submit(with_dep),
                    Read(kPut, 0, 100), TaskDone()}));
  Write("envelope", "member_driver_hello", Session(2, {driver}));
}

void FrameSeeds() {
  // Byte 0: the frame limit's index (4096: 3, kMaxFrameSize: 5); byte 1: the chunk sizes' seed.
  auto stream = [](std::vector<std::string> payloads) {
    std::string out;
    for (const std::string& p : payloads) AppendFrame(&out, p);
    return out;
  };
  Write("frame", "empty_frames", std::string("\x03\x01", 2) + stream({"", "", ""}));
  Write("frame", "small_frames", std::string("\x03\x02", 2) + stream({"a", "bc", Info(), "d"}));
  Write("frame", "large_frame", std::string("\x05\x07", 2) + stream({std::string(5000, 'x'), "y"}));
  Write("frame", "partial_tail",
        std::string("\x03\x05", 2) + stream({"abc"}) + stream({"defgh"}).substr(0, 6));
  std::string oversized = stream({"ok"});
  oversized += std::string("\xff\xff\x00\x00", 4) + "rest";
  Write("frame", "oversized", std::string("\x03\x09", 2) + oversized);
  Write("frame", "session",
        std::string("\x05\x0b", 2) +
            stream({Hello(wire::Role::Driver), Put(kPut, false, false, nullptr), Get({kPut}, 0)}));
}

void ObjectFormatSeeds() {
  Write("object_format", "plain", Object("\x80\x05K\x01.", ""));
  Write("object_format", "one_buffer", Object("\x80\x05K\x01.", std::string(100, 'b')));
  std::vector<size_t> sizes = {1, 64, 0, 130};
  std::vector<std::string> buffers;
  std::vector<ByteSpan> spans;
  for (size_t s : sizes) buffers.emplace_back(s, 'q');
  for (const std::string& s : buffers)
    spans.push_back(ByteSpan{reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  std::string data = "pickle";
  ObjectLayout layout = ComputeObjectLayout(data.size(), sizes);
  std::string out(layout.total_size, '\0');
  WriteObject(layout, ByteSpan{reinterpret_cast<const uint8_t*>(data.data()), data.size()}, spans,
              reinterpret_cast<uint8_t*>(&out[0]));
  Write("object_format", "four_buffers", out);
  Write("object_format", "empty", Object("", ""));
}

MemberState Member(uint8_t fill) {
  MemberState m;
  m.id = MakeId<NodeID>(fill);
  m.address = "127.0.0.1:7000";
  m.pid = 42;
  m.socket_path = "/tmp/rayx/node.sock";
  m.alive = true;
  m.total = {{"CPU", 4}, {"GPU", 1}};
  m.available = {{"CPU", 2}};
  m.store_used = 100;
  m.store_capacity = 1 << 20;
  m.running_tasks = 3;
  return m;
}

template <typename T>
std::string Peer(flatbuffers::FlatBufferBuilder& b, flatbuffers::Offset<T> message) {
  return std::string(FinishPeer(b, message));
}

void PeerSeeds() {
  auto hello = [] {
    flatbuffers::FlatBufferBuilder b;
    return Peer(b, peer::CreateAuthHello(b, kPeerProtocolVersion, peer::LinkPurpose::Peer,
                                         Bytes(b, std::string(kAuthNonceSize, 'n'))));
  };
  auto proof = [] {
    flatbuffers::FlatBufferBuilder b;
    return Peer(b, peer::CreateAuthProof(b, Bytes(b, std::string(32, 'p'))));
  };
  auto introduce = [](uint8_t fill) {
    flatbuffers::FlatBufferBuilder b;
    auto self = PackMember(b, Member(fill));
    return Peer(b, peer::CreateIntroduce(b, self));
  };
  auto heartbeat = [](uint8_t fill) {
    flatbuffers::FlatBufferBuilder b;
    auto self = PackMember(b, Member(fill));
    return Peer(b, peer::CreateHeartbeat(b, self));
  };
  auto list = [] {
    flatbuffers::FlatBufferBuilder b;
    std::vector<flatbuffers::Offset<peer::MemberInfo>> members = {PackMember(b, Member(1)),
                                                                  PackMember(b, Member(2))};
    return Peer(b, peer::CreateMemberList(b, b.CreateVector(members)));
  };
  auto dead = [](uint8_t fill) {
    flatbuffers::FlatBufferBuilder b;
    return Peer(b, peer::CreateMemberDead(b, Bytes(b, MakeId<NodeID>(fill).Binary())));
  };
  auto status = [] {
    flatbuffers::FlatBufferBuilder b;
    return Peer(b, peer::CreateStatusRequest(b));
  };
  Write("peer", "auth_hello", Session(0, {hello()}));
  Write("peer", "auth_bad_proof", Session(0, {hello(), proof()}));
  Write("peer", "auth_out_of_order", Session(0, {proof(), hello()}));
  Write("peer", "introduce_heartbeat", Session(1, {introduce(1), heartbeat(1), status()}));
  Write("peer", "introduce_dead", Session(1, {introduce(3), dead(4), dead(3), heartbeat(3)}));
  Write("peer", "heartbeat_first", Session(1, {heartbeat(5)}));
  Write("peer", "member_list", Session(1, {list()}));
  Write("peer", "observer", Session(2, {status(), introduce(6)}));
}

void RecordSeeds() {
  auto* memory = new MemoryKeyValueStore();
  LineageStore store{std::unique_ptr<KeyValueStore>(memory)};
  LineageBatch batch;
  JobInfo job;
  job.job_id = JobID::FromInt(1);
  job.script = "/tmp/script.py";
  job.argv = {"rayx", "run", "script.py", "--flag"};
  job.working_dir = "/tmp";
  job.start_ms = 1000;
  job.state = JobInfo::State::kFailed;
  job.exit_code = 1;
  job.uid = "a1b2c3d4e5f6";
  job.end_ms = 2000;
  job.pid = 99;
  job.env = {"PYTHONPATH=/x"};
  job.replay_of = "0f0f0f0f0f0f";
  job.tasks_finished = 3;
  batch.jobs.push_back(job);
  TaskInfo task;
  task.task_id = kTask;
  task.name = "seed_task";
  task.function_id = kFunction;
  task.args_hash = std::string(16, 'h');
  task.spec = Submit(SpecOptions());
  task.state = TaskInfo::State::kFinished;
  task.result = "result";
  task.parent = TaskID::ForDriver(JobID::FromInt(1));
  task.resources = "CPU=1";
  task.options = "max_retries=3";
  task.events = {{TaskEventInfo::Kind::kSubmitted, 1, ""},
                 {TaskEventInfo::Kind::kRunning, 2, "worker 1"},
                 {TaskEventInfo::Kind::kFinished, 3, ""}};
  task.results_kept = true;
  task.results = {{0, "value"}, {1, "error"}};
  batch.tasks.push_back(task);
  if (!store.Write(batch, false).ok()) std::abort();
  // Byte 0 of a records_fuzz input: 0 a job record, 1 a task record.
  (void)memory->Scan("j/", [](std::string_view, std::string_view value) {
    Write("records", "job", std::string(1, '\0') + std::string(value));
    return true;
  });
  (void)memory->Scan("t/", [](std::string_view, std::string_view value) {
    Write("records", "task", std::string(1, '\1') + std::string(value));
    return true;
  });
}

}  // namespace
}  // namespace rayx

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR (testdata/fuzz of the checkout)\n");
    return 2;
  }
  rayx::root = argv[1];
  mkdir(rayx::root.c_str(), 0755);
  rayx::EnvelopeSeeds();
  rayx::FrameSeeds();
  rayx::ObjectFormatSeeds();
  rayx::PeerSeeds();
  rayx::RecordSeeds();
  return 0;
}
