// IoPool: a few threads that do the object store's file I/O (spilling and restoring large
// objects) so that the node's loop thread never waits on a disk.
//
// Run(work, done) runs work on a pool thread, then hands done(work's status) to the poster, which
// runs it on the loop thread (EventLoop::Post in the node; a queue in tests). Jobs start in the
// order they were given. The destructor lets running jobs finish, drops the jobs not yet started
// (their done is never called) and joins the threads.
//
// Thread-safe.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/base/status.h"

namespace rayx {

class IoPool {
 public:
  using Poster = std::function<void(std::function<void()>)>;

  IoPool(size_t num_threads, Poster post);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  void Run(std::function<Status()> work, std::function<void(Status)> done);

 private:
  struct Job {
    std::function<Status()> work;
    std::function<void(Status)> done;
  };
  void ThreadMain();

  Poster post_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  std::deque<Job> jobs_;   // GUARDED_BY(mu_)
  std::vector<std::thread> threads_;
};

}  // namespace rayx
