// Linux interfaces that Swift's Glibc module does not bring in: extended attributes (sys/xattr.h), the
// device-number macros of sys/sysmacros.h, which Swift cannot call because they are macros, and bpf(2),
// which glibc does not wrap and whose union bpf_attr is easier to fill in C, and what glibc 2.36 declares
// only under _GNU_SOURCE: pidfd_open(2), pidfd_send_signal(2) and two posix_spawn file actions.
// Everything here is a direct, allocation-free wrapper; names carry the `cl_` prefix.
#pragma once
#include <spawn.h>
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>

static inline unsigned int cl_major(dev_t dev) { return major(dev); }
static inline unsigned int cl_minor(dev_t dev) { return minor(dev); }
static inline dev_t cl_makedev(unsigned int ma, unsigned int mi) { return makedev(ma, mi); }

// bpf(2) for cgroup device programs (BPF_PROG_TYPE_CGROUP_DEVICE, attach type BPF_CGROUP_DEVICE). Defined
// in clinux.c, so that <linux/bpf.h> stays out of the Swift module. Each returns -1 with errno set on
// failure.

/// BPF_PROG_LOAD of `count` 8-byte instructions; the new program's fd (close-on-exec). With `log` and a
/// nonzero `log_size`, the verifier writes its log there.
int cl_bpf_device_prog_load(
    const void *instructions, unsigned int count, const char *license, const char *name, char *log,
    unsigned int log_size);
/// BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI to the cgroup2 directory open at `cgroup_fd`.
int cl_bpf_device_prog_attach(int cgroup_fd, int prog_fd);
/// BPF_PROG_DETACH of the program open at `prog_fd` from the cgroup2 directory open at `cgroup_fd`.
int cl_bpf_device_prog_detach(int cgroup_fd, int prog_fd);
/// BPF_PROG_QUERY: the ids of the device programs attached to the cgroup itself (not inherited), at most
/// `*count`; `*count` becomes how many there are (ENOSPC when more than fit).
int cl_bpf_device_prog_query(int cgroup_fd, unsigned int *ids, unsigned int *count);
/// BPF_PROG_GET_FD_BY_ID.
int cl_bpf_prog_get_fd_by_id(unsigned int id);

/// pipe2(2) with O_CLOEXEC: both ends close-on-exec from the start.
int cl_pipe2_cloexec(int fds[2]);

/// pidfd_open(2): a descriptor that poll(2) reports readable once `pid` has exited (zombie or reaped), and
/// through which a signal cannot reach a later process that got the same pid.
int cl_pidfd_open(pid_t pid);
/// pidfd_send_signal(2) with no siginfo and no flags.
int cl_pidfd_send_signal(int pidfd, int signal);

/// The bytes of [offset, offset + length) of the open file `fd` that are in the page cache: cachestat(2)
/// (Linux 6.5+), else mmap and mincore(2). -1 with errno when neither works.
long long cl_page_cache_resident(int fd, unsigned long long offset, unsigned long long length);

/// sched_setaffinity(2) of the calling thread to CPU `cpu` alone.
int cl_pin_current_thread(int cpu);

/// glibc's POSIX_SPAWN_SETSID (spawn.h, under _GNU_SOURCE): the child calls setsid() before exec.
static const short CL_POSIX_SPAWN_SETSID = 0x80;

/// posix_spawn_file_actions_addclosefrom_np: the program gets the descriptors below `from` and none of
/// the others this process has open.
int cl_spawn_closefrom(posix_spawn_file_actions_t *actions, int from);
/// posix_spawn_file_actions_addchdir_np: the program starts in `path`.
int cl_spawn_chdir(posix_spawn_file_actions_t *actions, const char *path);
