// spawnbench N CMD [ARGS…] [\; CMD [ARGS…]]… — runs the command sequence N times and prints
// "median p99 min failures" in milliseconds. Every "@ID@" in an argument becomes an id unique to the
// iteration, so each run can create a fresh container. Commands run with stdout and stdin on /dev/null
// through posix_spawn, and are timed with CLOCK_MONOTONIC around the whole sequence.
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: spawnbench N CMD [ARGS...] [\\; CMD...]\n");
    return 2;
  }
  int n = atoi(argv[1]);
  double *times = calloc((size_t)n, sizeof *times);
  char **args = calloc((size_t)argc, sizeof *args);
  char id[64];
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  int failures = 0;
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "bench-%d-%d", (int)getpid(), i);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (int first = 2; first < argc;) {
      int count = 0, j = first;
      for (; j < argc && strcmp(argv[j], ";") != 0; j++) args[count++] = strcmp(argv[j], "@ID@") == 0 ? id : argv[j];
      args[count] = NULL;
      pid_t pid;
      int status = 0;
      if (posix_spawnp(&pid, args[0], &actions, NULL, args, environ) != 0 || waitpid(pid, &status, 0) < 0 ||
          !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        failures++;
      first = j + 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    times[i] = (double)(end.tv_sec - start.tv_sec) * 1e3 + (double)(end.tv_nsec - start.tv_nsec) / 1e6;
  }
  qsort(times, (size_t)n, sizeof *times, compare);
  int p99 = (int)((double)n * 0.99);
  if (p99 >= n) p99 = n - 1;
  printf("%.2f %.2f %.2f %d\n", times[n / 2], times[p99], times[0], failures);
  return 0;
}
