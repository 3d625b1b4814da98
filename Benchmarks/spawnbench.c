// spawnbench [--stamp FILE] [--raw FILE] N CMD [ARGS…] [\; CMD [ARGS…]]… [+ CMD…] — runs the command
// sequence N times and prints "median p99 min failures" in milliseconds; --raw also appends each time
// (ms, one a line) to FILE, so a script can interleave rounds of several commands and pool them. Every "@ID@" in an argument becomes an id unique
// to the iteration, so each run can create a fresh container. Commands run with stdout and stdin on
// /dev/null through posix_spawn, and are timed with CLOCK_MONOTONIC around the whole sequence.
//
// With --stamp, the time is instead from the first command's call to the container process's first
// instructions: the container runs `stamp` (this file built with -DSTAMP), which writes CLOCK_MONOTONIC
// (the same clock in every pid namespace) to /stamp.out, FILE bind-mounted there. Commands after "+" (a
// `delete`) run once the stamp is there, untimed.
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
static posix_spawn_file_actions_t actions;

static int compare(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/// Runs argv[first…] up to the next ";" or "+" (or the end) with "@ID@" replaced; returns the index after
/// the separator and sets *ok to whether the command exited 0.
static int run_one(char **argv, int argc, int first, char **args, char *id, int *ok) {
  int count = 0, j = first;
  for (; j < argc && strcmp(argv[j], ";") != 0 && strcmp(argv[j], "+") != 0; j++)
    args[count++] = strcmp(argv[j], "@ID@") == 0 ? id : argv[j];
  args[count] = NULL;
  pid_t pid;
  int status = 0;
  *ok = posix_spawnp(&pid, args[0], &actions, NULL, args, environ) == 0 && waitpid(pid, &status, 0) >= 0 &&
        WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return j + 1;
}

static long long read_stamp(const char *stamp) {
  struct stat st;
  for (int tries = 0; tries < 2000 && (stat(stamp, &st) != 0 || st.st_size == 0); tries++) usleep(1000);
  char line[32] = {0};
  int fd = open(stamp, O_RDONLY);
  ssize_t got = fd >= 0 ? read(fd, line, sizeof line - 1) : -1;
  if (fd >= 0) close(fd);
  return got > 0 ? atoll(line) : -1;
}

int main(int argc, char **argv) {
  const char *stamp = NULL, *raw = NULL;
  while (argc > 2 && (strcmp(argv[1], "--stamp") == 0 || strcmp(argv[1], "--raw") == 0)) {
    if (strcmp(argv[1], "--stamp") == 0) stamp = argv[2];
    else raw = argv[2];
    argv += 2;
    argc -= 2;
  }
  if (argc < 3) {
    fprintf(stderr, "usage: spawnbench [--stamp FILE] [--raw FILE] N CMD [ARGS...] [\\; CMD...] [+ CMD...]\n");
    return 2;
  }
  int n = atoi(argv[1]), measured = 0, failures = 0;
  double *times = calloc((size_t)n, sizeof *times);
  char **args = calloc((size_t)argc, sizeof *args);
  char id[64];
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  for (int i = 0; i < n; i++) {
    snprintf(id, sizeof id, "bench-%d-%d", (int)getpid(), i);
    if (stamp) close(open(stamp, O_WRONLY | O_CREAT | O_TRUNC, 0666));
    long long start = now_ns();
    int first = 2, ok = 1, all = 1;
    while (first < argc && strcmp(argv[first - 1], "+") != 0) {
      first = run_one(argv, argc, first, args, id, &ok);
      all &= ok;
    }
    long long end = stamp ? read_stamp(stamp) : now_ns();
    while (first < argc) first = run_one(argv, argc, first, args, id, &ok);
    if (!all || end < start) {
      failures++;
      if (stamp) continue;
    }
    times[measured++] = (double)(end - start) / 1e6;
  }
  if (raw) {
    FILE *out = fopen(raw, "a");
    if (!out) {
      perror(raw);
      return 1;
    }
    for (int i = 0; i < measured; i++) fprintf(out, "%.4f\n", times[i]);
    fclose(out);
  }
  if (measured == 0) {
    printf("- - - %d\n", failures);
    return 1;
  }
  qsort(times, (size_t)measured, sizeof *times, compare);
  int p99 = (int)((double)measured * 0.99);
  if (p99 >= measured) p99 = measured - 1;
  printf("%.2f %.2f %.2f %d\n", times[measured / 2], times[p99], times[0], failures);
  return 0;
}
#endif
