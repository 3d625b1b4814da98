// Most wrappers are static inline in include/clinux.h; the syscall(2) and _GNU_SOURCE ones are here,
// where <linux/bpf.h> does not leak its many names into Swift.
#define _GNU_SOURCE
#include "clinux.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <linux/bpf.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int cl_bpf(int command, union bpf_attr *attr) {
  return (int)syscall(__NR_bpf, command, attr, sizeof(*attr));
}

int cl_bpf_device_prog_load(
    const void *instructions, unsigned int count, const char *license, const char *name, char *log,
    unsigned int log_size) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = (__u64)(unsigned long)instructions;
  attr.insn_cnt = count;
  attr.license = (__u64)(unsigned long)license;
  strncpy(attr.prog_name, name, sizeof(attr.prog_name) - 1);
  if (log != NULL && log_size > 0) {
    log[0] = 0;
    attr.log_level = 1;
    attr.log_buf = (__u64)(unsigned long)log;
    attr.log_size = log_size;
  }
  return cl_bpf(BPF_PROG_LOAD, &attr);
}

int cl_bpf_device_prog_attach(int cgroup_fd, int prog_fd) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = (__u32)cgroup_fd;
  attr.attach_bpf_fd = (__u32)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  return cl_bpf(BPF_PROG_ATTACH, &attr);
}

int cl_bpf_device_prog_detach(int cgroup_fd, int prog_fd) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = (__u32)cgroup_fd;
  attr.attach_bpf_fd = (__u32)prog_fd;
  attr.attach_type = BPF_CGROUP_DEVICE;
  return cl_bpf(BPF_PROG_DETACH, &attr);
}

int cl_bpf_device_prog_query(int cgroup_fd, unsigned int *ids, unsigned int *count) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.query.target_fd = (__u32)cgroup_fd;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = (__u64)(unsigned long)ids;
  attr.query.prog_cnt = *count;
  int r = cl_bpf(BPF_PROG_QUERY, &attr);
  *count = attr.query.prog_cnt;
  return r;
}

int cl_bpf_prog_get_fd_by_id(unsigned int id) {
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_id = id;
  return cl_bpf(BPF_PROG_GET_FD_BY_ID, &attr);
}

int cl_pipe2_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int cl_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

int cl_pidfd_send_signal(int pidfd, int signal) {
  return (int)syscall(SYS_pidfd_send_signal, pidfd, signal, NULL, 0);
}

#ifndef SYS_cachestat
#define SYS_cachestat 451  // the same number on every architecture (added after the syscall tables merged)
#endif

struct cl_cachestat_range { unsigned long long off, len; };
struct cl_cachestat {
  unsigned long long nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

long long cl_page_cache_resident(int fd, unsigned long long offset, unsigned long long length) {
  long page = sysconf(_SC_PAGESIZE);
  struct cl_cachestat_range range = {offset, length};
  struct cl_cachestat cs;
  if (syscall(SYS_cachestat, fd, &range, &cs, 0) == 0) return (long long)cs.nr_cache * page;
  if (errno != ENOSYS) return -1;
  unsigned long long start = offset & ~(unsigned long long)(page - 1);
  size_t span = (size_t)(offset + length - start);
  if (span == 0) return 0;
  void *map = mmap(NULL, span, PROT_READ, MAP_SHARED, fd, (off_t)start);
  if (map == MAP_FAILED) return -1;
  size_t pages = (span + page - 1) / page;
  unsigned char *vec = malloc(pages);
  long long resident = -1;
  if (vec && mincore(map, span, vec) == 0) {
    resident = 0;
    for (size_t i = 0; i < pages; i++) resident += (vec[i] & 1) ? page : 0;
  }
  free(vec);
  munmap(map, span);
  return resident;
}

int cl_pin_current_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(0, sizeof set, &set);
}

int cl_spawn_closefrom(posix_spawn_file_actions_t *actions, int from) {
  return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int cl_spawn_chdir(posix_spawn_file_actions_t *actions, const char *path) {
  return posix_spawn_file_actions_addchdir_np(actions, path);
}
