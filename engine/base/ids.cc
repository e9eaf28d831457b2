#include "engine/base/ids.h"

#include <sys/random.h>

#include <cerrno>

#include "engine/base/logging.h"

namespace rayx {

namespace {

uint64_t Load64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The finalizer of MurmurHash3's 64-bit variant: every input bit affects every output bit.
uint64_t Mix64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

void Store32BigEndian(uint8_t* out, uint32_t v) {
  out[0] = v >> 24;
  out[1] = v >> 16;
  out[2] = v >> 8;
  out[3] = v;
}

uint32_t Load32BigEndian(const uint8_t* in) {
  return uint32_t{in[0]} << 24 | uint32_t{in[1]} << 16 | uint32_t{in[2]} << 8 | in[3];
}

}  // namespace

std::array<uint8_t, 16> Hash128(std::string_view data, uint64_t seed) {
  // Two independent 64-bit lanes, each absorbing 8 bytes at a time and finalized with Mix64.
  uint64_t a = seed ^ 0x9e3779b97f4a7c15ULL, b = ~seed ^ 0x6a09e667f3bcc909ULL;
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t k = Load64(data.data() + i);
    a = Mix64(a ^ k) + b;
    b = Mix64(b + (k * 0x87c37b91114253d5ULL)) ^ a;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, data.data() + i, data.size() - i);
  a = Mix64(a ^ tail ^ data.size());
  b = Mix64(b + tail + (data.size() << 1) + a);
  std::array<uint8_t, 16> out;
  std::memcpy(out.data(), &a, 8);
  std::memcpy(out.data() + 8, &b, 8);
  return out;
}

void FillRandom(uint8_t* out, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t got = getrandom(out + done, n - done, 0);
    if (got < 0 && errno == EINTR) continue;
    RAYX_CHECK(got > 0) << "getrandom failed";
    done += static_cast<size_t>(got);
  }
}

JobID JobID::FromInt(uint32_t value) {
  JobID id;
  Store32BigEndian(id.bytes_.data(), value);
  return id;
}

uint32_t JobID::ToInt() const { return Load32BigEndian(bytes_.data()); }

ActorID ActorID::Of(const TaskID& creation_task_id) {
  ActorID id;
  auto h = Hash128(creation_task_id.Binary(), /*seed=*/0xac7);
  std::memcpy(id.bytes_.data(), h.data(), kSize);
  return id;
}

TaskID TaskID::ForDriver(const JobID& job_id) { return ForChild(job_id, TaskID(), 0); }

TaskID TaskID::ForChild(const JobID& job_id, const TaskID& parent, uint64_t counter) {
  std::string input;
  input.append(job_id.Binary());
  input.append(parent.Binary());
  input.append(reinterpret_cast<const char*>(&counter), sizeof(counter));
  auto h = Hash128(input);
  TaskID id;
  std::memcpy(id.bytes_.data(), h.data(), kSize - JobID::kSize);
  std::memcpy(id.bytes_.data() + kSize - JobID::kSize, job_id.data(), JobID::kSize);
  return id;
}

JobID TaskID::Job() const { return JobID::FromBinary(Binary().substr(kSize - JobID::kSize)); }

namespace {
constexpr uint32_t kPutBit = 0x80000000u;
}

ObjectID ObjectID::ForReturn(const TaskID& task, uint32_t index) {
  ObjectID id;
  std::memcpy(id.bytes_.data(), task.data(), TaskID::kSize);
  Store32BigEndian(id.bytes_.data() + TaskID::kSize, index & ~kPutBit);
  return id;
}

ObjectID ObjectID::ForPut(const TaskID& task, uint32_t put_index) {
  ObjectID id;
  std::memcpy(id.bytes_.data(), task.data(), TaskID::kSize);
  Store32BigEndian(id.bytes_.data() + TaskID::kSize, put_index | kPutBit);
  return id;
}

TaskID ObjectID::Task() const { return TaskID::FromBinary(Binary().substr(0, TaskID::kSize)); }

uint32_t ObjectID::Index() const {
  return Load32BigEndian(bytes_.data() + TaskID::kSize) & ~kPutBit;
}

bool ObjectID::IsPut() const { return Load32BigEndian(bytes_.data() + TaskID::kSize) & kPutBit; }

}  // namespace rayx
