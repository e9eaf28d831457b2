#include "engine/base/signals.h"

#include <pthread.h>
#include <signal.h>

#include <initializer_list>

namespace rayx {

void BlockProcessSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM}) {
    sigaddset(&set, signal);
  }
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // Fails only for a bad argument.
}

}  // namespace rayx
