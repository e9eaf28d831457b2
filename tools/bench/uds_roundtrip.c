// The floor for one task round trip on this machine: a small message to another process over a
// Unix stream socket and its echo back, with nothing else done on either side.
//
//   uds_roundtrip [ROUND_TRIPS [MESSAGE_BYTES]]     (defaults: 200000 and 64)
//
// Prints "uds_roundtrip_per_s RATE" and "uds_roundtrip_us MICROSECONDS"; exits 1 on any error.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double Now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

// Reads or writes exactly n bytes; returns 0, or -1 on error or end of stream.
static int Transfer(int fd, char* buf, size_t n, int writing) {
  size_t done = 0;
  while (done < n) {
    ssize_t k = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    done += (size_t)k;
  }
  return 0;
}

int main(int argc, char** argv) {
  long trips = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
  long size = argc > 2 ? strtol(argv[2], NULL, 10) : 64;
  if (trips <= 0 || size <= 0 || size > (1 << 20)) {
    fprintf(stderr, "usage: %s [ROUND_TRIPS>0 [MESSAGE_BYTES in 1..1048576]]\n", argv[0]);
    return 2;
  }
  char* buf = calloc((size_t)size, 1);
  int fds[2];
  if (buf == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) {
    perror("uds_roundtrip: setup");
    return 1;
  }
  pid_t child = fork();
  if (child < 0) {
    perror("uds_roundtrip: fork");
    return 1;
  }
  if (child == 0) {  // The echo side.
    close(fds[0]);
    for (long i = 0; i < trips; i++) {
      if (Transfer(fds[1], buf, (size_t)size, 0) != 0 || Transfer(fds[1], buf, (size_t)size, 1) != 0) {
        _exit(1);
      }
    }
    _exit(0);
  }
  close(fds[1]);
  double start = Now();
  for (long i = 0; i < trips; i++) {
    if (Transfer(fds[0], buf, (size_t)size, 1) != 0 || Transfer(fds[0], buf, (size_t)size, 0) != 0) {
      fprintf(stderr, "uds_roundtrip: the echo side went away after %ld round trips\n", i);
      return 1;
    }
  }
  double elapsed = Now() - start;
  int status = 0;
  if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "uds_roundtrip: the echo side failed\n");
    return 1;
  }
  printf("uds_roundtrip_per_s %.0f\n", (double)trips / elapsed);
  printf("uds_roundtrip_us %.2f\n", elapsed / (double)trips * 1e6);
  free(buf);
  return 0;
}
