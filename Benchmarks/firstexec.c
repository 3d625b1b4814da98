// firstexec N STAMP-FILE CMD [ARGS…] [\; CMD…] [+ CMD…] — how long from calling CMD (a runtime's `run`, or
// `create` followed by `start` as a second command) until the
// container's process runs its first instructions. The container runs `stamp` (this file built with
// -DSTAMP), which writes CLOCK_MONOTONIC (the same clock in every pid namespace) to STAMP-FILE, a file
// bind-mounted into the container. Prints "median p99 min failures" in milliseconds over N runs; "@ID@" in
// an argument becomes an id unique to the run. Commands after "+" (a `delete`) run once the stamp is
// there, untimed. Commands run with stdio on /dev/null.
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000LL + t.tv_nsec;
}

#ifdef STAMP
int main(void) {
  long long t = now_ns();
  char line[32];
  int n = snprintf(line, sizeof line, "%lld\n", t);
  int fd = open("/stamp.out", O_WRONLY | O_TRUNC);
  if (fd < 0 || write(fd, line, (size_t)n) != n) return 1;
  return 0;
}
#else
extern char **environ;

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: firstexec N STAMP-FILE CMD [ARGS...]\n");
    return 2;
  }
  int n = atoi(argv[1]), failures = 0, count = 0;
  const char *stamp = argv[2];
  double *times = calloc((size_t)n, sizeof *times);
  char **args = calloc((size_t)argc, sizeof *args);
  char id[64];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "first-%d-%d", (int)getpid(), i);
    int fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) close(fd);
    long long start = now_ns();
    int status = 0, first = 3;
    while (first < argc && status == 0 && strcmp(argv[first - 1], "+") != 0) {
      int k = 0, j = first;
      for (; j < argc && strcmp(argv[j], ";") != 0 && strcmp(argv[j], "+") != 0; j++)
        args[k++] = strcmp(argv[j], "@ID@") == 0 ? id : argv[j];
      args[k] = NULL;
      first = j + 1;
      pid_t pid;
      status = 1;
      if (posix_spawnp(&pid, args[0], &actions, NULL, args, environ) == 0) waitpid(pid, &status, 0);
    }
    // A started container runs on its own: wait (up to 2 s) for its stamp before anything else.
    struct stat st;
    for (int tries = 0; status == 0 && tries < 2000 && (stat(stamp, &st) != 0 || st.st_size == 0); tries++)
      usleep(1000);
    if (first < argc && strcmp(argv[first - 1], "+") == 0) {
      int k = 0;
      for (int j = first; j < argc; j++) args[k++] = strcmp(argv[j], "@ID@") == 0 ? id : argv[j];
      args[k] = NULL;
      pid_t pid;
      int ignored;
      if (posix_spawnp(&pid, args[0], &actions, NULL, args, environ) == 0) waitpid(pid, &ignored, 0);
    }
    char line[32] = {0};
    fd = open(stamp, O_RDONLY);
    ssize_t got = fd >= 0 ? read(fd, line, sizeof line - 1) : -1;
    if (fd >= 0) close(fd);
    if (status != 0 || got <= 0) {
      failures++;
      continue;
    }
    times[count++] = (double)(atoll(line) - start) / 1e6;
  }
  if (count == 0) {
    printf("- - - %d\n", failures);
    return 1;
  }
  qsort(times, (size_t)count, sizeof *times, compare);
  printf("%.2f %.2f %.2f %d\n", times[count / 2], times[(count * 99) / 100 < count ? (count * 99) / 100 : count - 1],
    times[0], failures);
  return 0;
}
#endif
