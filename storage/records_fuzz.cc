// Fuzz target: the lineage store's record reader (records.fbs), fed what a corrupt or hostile
// database could hold. Byte 0 picks the record's kind (a job or a task); the rest is its value,
// stored under the key of job 1 (or of a task of job 1) and read back alone (GetJob, GetTask) and
// in a listing (ListJobs, TasksOfJob). A record that does not verify is an error or is skipped;
// nothing may crash, and a record that reads back must read back the same way twice.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "storage/lineage_store.h"
#include "storage/memory_key_value_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace rayx;
  if (size < 1) return 0;
  const JobID job = JobID::FromInt(1);
  const TaskID task = TaskID::ForChild(job, TaskID::ForDriver(job), 1);
  const bool is_task = data[0] & 1;
  std::string key = is_task ? "t/" + std::string(job.Binary()) + std::string(task.Binary())
                            : "j/" + std::string(job.Binary());
  std::string value(reinterpret_cast<const char*>(data + 1), size - 1);
  auto memory = std::make_unique<MemoryKeyValueStore>();
  if (!memory->Write({{key, value}}, false).ok()) abort();
  LineageStore store(std::move(memory));
  if (is_task) {
    auto one = store.GetTask(task);
    auto all = store.TasksOfJob(job);
    if (!all.ok() || (one.ok() && one->has_value()) != (all->size() == 1)) {
      fprintf(stderr, "records_fuzz: a task record reads back one way alone, another listed\n");
      abort();
    }
  } else {
    auto one = store.GetJob(job);
    auto all = store.ListJobs();
    if (!all.ok() || (one.ok() && one->has_value()) != (all->size() == 1)) {
      fprintf(stderr, "records_fuzz: a job record reads back one way alone, another listed\n");
      abort();
    }
  }
  return 0;
}
