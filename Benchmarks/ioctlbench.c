// ioctlbench FILE N: microseconds per ioctl(TCGETS) on FILE, over N calls. On a FUSE file every ioctl is a
// request to the daemon and back (Python's isatty() on each open is one), so this is the round-trip
// time of the mount's transport. Built and run by Benchmarks/lazyfs.sh.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>

int main(int argc, char **argv) {
  if (argc != 3) return fprintf(stderr, "usage: ioctlbench FILE N\n"), 2;
  int fd = open(argv[1], O_RDONLY);
  if (fd < 0) return perror(argv[1]), 1;
  int n = atoi(argv[2]);
  struct termios t;
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < n; i++) ioctl(fd, TCGETS, &t);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.2f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n / 1000.0);
  return 0;
}
