// Fixed-size binary identifiers for jobs, tasks, objects, actors, nodes and workers.
//
// Ids are deterministic where replay needs them to be: a TaskID is a hash of its job, its parent
// task and the parent's submission counter, and an ObjectID is the TaskID that makes it plus an
// index. Running the same script again yields the same ids in the same order.
// NodeIDs and WorkerIDs are random. Every id has a lower-case hex form.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "engine/base/status.h"

namespace rayx {

// 128 bits of a deterministic, well-mixed, non-cryptographic hash of data.
std::array<uint8_t, 16> Hash128(std::string_view data, uint64_t seed = 0);

// Random bytes from the OS (getrandom), for ids that must be unique rather than reproducible.
void FillRandom(uint8_t* out, size_t n);

template <typename Derived, size_t N>
class BaseId {
 public:
  static constexpr size_t kSize = N;

  BaseId() { bytes_.fill(0); }  // The nil id.

  static Derived FromBinary(std::string_view binary) {
    Derived id;
    if (binary.size() == N) std::memcpy(id.bytes_.data(), binary.data(), N);
    return id;
  }
  // Parses a hex form of exactly 2*N digits.
  static StatusOr<Derived> FromHex(std::string_view hex);
  static Derived FromRandom() {
    Derived id;
    FillRandom(id.bytes_.data(), N);
    return id;
  }

  // IsNil and == call memcmp with the constant size, which the compiler turns into two or three
  // word compares. Every message's path tests ids for nil and every hash lookup compares them;
  // a byte loop, or std::array's ==, which calls memcmp, costs several times as much.
  bool IsNil() const {
    static constexpr std::array<uint8_t, N> kNil{};
    return std::memcmp(bytes_.data(), kNil.data(), N) == 0;
  }
  const uint8_t* data() const { return bytes_.data(); }
  uint8_t* mutable_data() { return bytes_.data(); }
  std::string_view Binary() const {
    return std::string_view(reinterpret_cast<const char*>(bytes_.data()), N);
  }
  std::string Hex() const;
  // The head of every id is well mixed (hash or random bytes), but ids can share it: all objects
  // of one task do. Their tails differ (the index), while the tails of different tasks' objects
  // are alike (job id, index 0). So both ends count; either alone makes whole families of ids
  // collide, and every hash table of them linear.
  size_t Hash() const {
    constexpr size_t kWord = N < sizeof(uint64_t) ? N : sizeof(uint64_t);
    uint64_t head = 0;
    uint64_t tail = 0;
    std::memcpy(&head, bytes_.data(), kWord);
    std::memcpy(&tail, bytes_.data() + N - kWord, kWord);
    return static_cast<size_t>(head ^ (tail * 0x9E3779B97F4A7C15ull));
  }

  bool operator==(const BaseId& other) const {
    return std::memcmp(bytes_.data(), other.bytes_.data(), N) == 0;
  }
  bool operator!=(const BaseId& other) const { return !(*this == other); }
  bool operator<(const BaseId& other) const { return bytes_ < other.bytes_; }

 protected:
  std::array<uint8_t, N> bytes_;
};

class JobID : public BaseId<JobID, 4> {
 public:
  static JobID FromInt(uint32_t value);
  uint32_t ToInt() const;
};

class NodeID : public BaseId<NodeID, 16> {};
class WorkerID : public BaseId<WorkerID, 16> {};

class ActorID : public BaseId<ActorID, 16> {
 public:
  // The actor created by the task creation_task_id.
  static ActorID Of(const class TaskID& creation_task_id);
};

class TaskID : public BaseId<TaskID, 16> {
 public:
  // The driver's own task: the root of every job's task tree.
  static TaskID ForDriver(const JobID& job_id);
  // The counter-th task submitted by parent; the last four bytes hold the job id.
  static TaskID ForChild(const JobID& job_id, const TaskID& parent, uint64_t counter);
  JobID Job() const;
};

class ObjectID : public BaseId<ObjectID, 20> {
 public:
  // Return value `index` (0-based) of a task.
  static ObjectID ForReturn(const TaskID& task, uint32_t index);
  // The put_index-th object that a task put (0-based); kept apart from returns by the top bit.
  static ObjectID ForPut(const TaskID& task, uint32_t put_index);
  TaskID Task() const;
  uint32_t Index() const;
  bool IsPut() const;
};

template <typename Derived, size_t N>
std::string BaseId<Derived, N>::Hex() const {
  static const char kDigits[] = "0123456789abcdef";
  std::string out(2 * N, '0');
  for (size_t i = 0; i < N; ++i) {
    out[2 * i] = kDigits[bytes_[i] >> 4];
    out[2 * i + 1] = kDigits[bytes_[i] & 15];
  }
  return out;
}

template <typename Derived, size_t N>
StatusOr<Derived> BaseId<Derived, N>::FromHex(std::string_view hex) {
  if (hex.size() != 2 * N) {
    return InvalidArgument("an id of " + std::to_string(N) + " bytes needs " +
                           std::to_string(2 * N) + " hex digits, got " +
                           std::to_string(hex.size()));
  }
  auto digit = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  Derived id;
  for (size_t i = 0; i < N; ++i) {
    int hi = digit(hex[2 * i]), lo = digit(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return InvalidArgument("not a hex id: " + std::string(hex));
    id.bytes_[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  return id;
}

}  // namespace rayx

namespace std {
#define RAYX_ID_HASH(T)                                              \
  template <>                                                        \
  struct hash<rayx::T> {                                             \
    size_t operator()(const rayx::T& id) const { return id.Hash(); } \
  };
RAYX_ID_HASH(JobID)
RAYX_ID_HASH(NodeID)
RAYX_ID_HASH(WorkerID)
RAYX_ID_HASH(ActorID)
RAYX_ID_HASH(TaskID)
RAYX_ID_HASH(ObjectID)
#undef RAYX_ID_HASH
}  // namespace std
