// Keeps the signals a program handles for itself away from rayx's own threads.
//
// A signal sent to a process (kill(2), Ctrl-C in a terminal) goes to any one of its threads that
// does not block it. Python runs its handlers in the main thread only, and a signal taken by
// another thread does not wake the main thread from a blocking call: a driver in time.sleep would
// not see Ctrl-C, nor a task in time.sleep its cancel, until the sleep ended. Every thread rayx
// starts calls BlockProcessSignals first, so these signals reach the main thread; the threads
// they start (RocksDB's, libuv's pool) inherit the mask. Child processes do not: libuv clears the
// mask before exec.
#pragma once

namespace rayx {

// Blocks SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGALRM in the calling thread.
// SIGCHLD (libuv's child watcher) and the synchronous signals (SIGSEGV and the like) stay open.
void BlockProcessSignals();

}  // namespace rayx
