#include "engine/objects/io_pool.h"

#include <utility>

#include "engine/base/signals.h"

namespace rayx {

IoPool::IoPool(size_t num_threads, Poster post) : post_(std::move(post)) {
  for (size_t i = 0; i < num_threads; ++i) threads_.emplace_back([this] { ThreadMain(); });
}

IoPool::~IoPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    jobs_.clear();
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void IoPool::Run(std::function<Status()> work, std::function<void(Status)> done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(Job{std::move(work), std::move(done)});
  }
  cv_.notify_one();
}

void IoPool::ThreadMain() {
  BlockProcessSignals();  // They are the main thread's (signals.h).
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    Status status = job.work();
    post_([done = std::move(job.done), status = std::move(status)]() mutable { done(status); });
  }
}

}  // namespace rayx
