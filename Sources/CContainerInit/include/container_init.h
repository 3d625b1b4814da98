// The only code of crun-fast that runs between clone and execve. After clone the child is a copy of a
// multithreaded Swift process: it may not allocate, take a lock or log, so everything it needs (paths,
// mount steps, capability masks, a compiled seccomp program, argv and envp) is prepared by Swift in the
// plain structs below, and this code only walks them making system calls. The parent talks to the child
// over a SOCK_SEQPACKET socket pair with fixed-size messages (struct cfi_message).
#pragma once
#include <stdint.h>
#include <sys/types.h>

/// One step of the filesystem plan, executed in order. Paths before the pivot step are host paths (the
/// rootfs already prefixed); paths after it are container paths.
enum cfi_step_kind {
  CFI_MOUNT = 1,         // mount(source, target, fstype, flags, data)
  CFI_BIND_REMOUNT = 2,  // remount a bind mount with flags; keeps flags the kernel locked (nosuid, …) on EPERM
  CFI_MKDIR = 3,         // mkdir -p target with mode
  CFI_MKFILE = 4,        // create an empty file at target (parents too) to bind a file over
  CFI_MKNOD = 5,         // mknod(target, mode, dev) then chown(uid, gid)
  CFI_SYMLINK = 6,       // symlink(source, target); an existing target is left alone
  CFI_PIVOT_ROOT = 7,    // pivot_root into target and detach the old root
  CFI_CHROOT = 8,        // chroot into target (no mount namespace)
  CFI_WRITE = 9,         // write data into target (sysctl)
  CFI_MASK = 10,         // hide target: /dev/null over a file, an empty read-only tmpfs over a directory
  CFI_READONLY = 11,     // bind target over itself and remount it read-only
  CFI_HOOKS = 12,        // tell the parent (CFI_MSG_HOOKS) and wait for CFI_MSG_CONTINUE: the create-time
                         // hooks run now, after the mounts and before pivot_root, as runc runs them
};

struct cfi_step {
  int32_t kind;
  int32_t optional;  // a missing target (ENOENT) is skipped instead of failing
  const char *source;
  const char *target;
  const char *fstype;
  const char *data;
  unsigned long flags;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  uint64_t dev;
};

/// A namespace to enter with setns(2) instead of creating one.
struct cfi_join {
  int fd;
  int nstype;
};

/// A hook the init itself runs (startContainer): after `start` released it and before execve, in the
/// container, with the state JSON that `start` wrote on stdin.
struct cfi_hook {
  const char *path;
  const char *const *argv;
  const char *const *envp;
  int timeout;  // seconds; 0: none
};

struct cfi_rlimit {
  int resource;
  uint64_t soft;
  uint64_t hard;
};

struct cfi_config {
  uint64_t clone_flags;  // CLONE_NEW* to create at clone; CLONE_NEWCGROUP is unshared after cgroup placement
  int unshare_cgroup;    // unshare(CLONE_NEWCGROUP) once the parent has placed the child in its cgroups
  const struct cfi_join *joins;  // entered in order (the user namespace first); a pid join is done by the parent
  int join_count;
  int pid_join_fd;  // -1, or a pid namespace the parent enters before clone so the child is born in it
  // cgroup v1: `tasks` files of the container's cgroups, opened by the parent, into which the child writes
  // "0" first thing. A task moving itself skips the kernel's cgroup_threadgroup_rwsem, whose write side
  // waits for an RCU grace period (10-20 ms) when another process is moved by pid.
  const int *cgroup_task_fds;
  int cgroup_task_fd_count;
  int cgroup_dir_fd;  // cgroup v2: the directory to clone into (CLONE_INTO_CGROUP), or -1
  int sync_fd;      // the child's end of the socket pair

  const char *hostname;  // NULL: unchanged
  const char *domainname;
  const struct cfi_step *steps;
  int step_count;

  const struct cfi_rlimit *rlimits;
  int rlimit_count;

  int user_namespace;  // a new user namespace: become its root before mounting
  uint32_t uid;
  uint32_t gid;
  const uint32_t *groups;  // additional gids; setgroups(0) when group_count is 0 and set_groups is set
  int group_count;
  int set_groups;

  int set_caps;
  int cap_last;  // /proc/sys/kernel/cap_last_cap
  uint64_t cap_effective, cap_permitted, cap_inheritable, cap_bounding, cap_ambient;

  int no_new_privs;
  const void *seccomp_filter;  // struct sock_filter[], NULL when no filter
  uint16_t seccomp_len;        // number of instructions
  uint32_t seccomp_flags;      // SECCOMP_FILTER_FLAG_*

  uint32_t umask;  // the process's umask; set-up itself runs with 0 so device modes are exact
  const char *cwd;
  const char *const *argv;
  const char *const *envp;
  const char *path_env;  // the container's PATH, searched when argv[0] has no slash

  // How the child waits for `start` before execve: when fifo_dir_fd >= 0 it opens fifo_name under that
  // directory for writing, which blocks until `start` opens it for reading, then writes one byte. Otherwise
  // it waits for CFI_MSG_START on sync_fd.
  int fifo_dir_fd;
  const char *fifo_name;

  // Descriptors the child makes its stdin, stdout and stderr first thing; -1 keeps the inherited one.
  int stdio[3];
  // Exec as soon as set up, without READY and the start gate: a process joining a running container
  // (`exec`, a createContainer hook). The parent reads EOF on sync_fd when execve succeeded.
  int exec_now;
  // The file to execute, argv[0] then being only its name (a hook's path and args); NULL: search argv[0].
  const char *exec_path;
  // Make the child a session leader with `console` as its controlling terminal and stdio (`process.terminal`):
  // it opens /dev/ptmx after the mount steps (so in the container's devpts), sends the master to the parent
  // (CFI_MSG_CONSOLE with SCM_RIGHTS), and when console_mount is set, binds the slave over /dev/console.
  int console;
  int console_mount;
  uint16_t console_rows, console_columns;

  const struct cfi_hook *start_hooks;  // run in order after the start gate; the first failure ends the init
  int start_hook_count;
  int state_dir_fd;            // the container's state directory (O_PATH), holding hook_state_name
  const char *hook_state_name;  // the OCI state JSON `start` writes for the startContainer hooks
};

enum cfi_message_type {
  CFI_MSG_CONTINUE = 1,  // parent → child: uid/gid maps written, cgroups joined
  CFI_MSG_READY = 2,     // child → parent: set up, waiting for start
  CFI_MSG_START = 3,     // parent → child: execve now
  CFI_MSG_ERROR = 4,     // child → parent: a step failed; errno, call and path say which
  CFI_MSG_HOOKS = 5,     // child → parent: at the CFI_HOOKS step; run the create-time hooks, then CONTINUE
  CFI_MSG_CONSOLE = 6,   // child → parent: the pty master, as SCM_RIGHTS
};

struct cfi_message {
  int32_t type;
  int32_t error;  // errno
  char call[32];
  char path[4096];
  int32_t status;  // a failed hook's wait status, -1 when it timed out; 0 otherwise
};

/// Clones the child described by `config` and returns its pid (in the parent's pid namespace), or -1 with
/// errno set. The child never returns: it execs or exits with 127 after reporting an error on sync_fd.
pid_t cfi_spawn(const struct cfi_config *config);

/// Brings up the loopback interface of the calling thread's network namespace, as runc and crun do for a
/// new one; returns 0 or -1 with errno.
int cfi_loopback_up(void);

/// The same in the network namespace `netns_fd`, entered by the calling thread and left again; on failure
/// `*failed` names the step.
int cfi_loopback_up_in(int netns_fd, const char **failed);


/// CLONE_NEWNET, which Swift does not see without _GNU_SOURCE.
static const uint64_t CFI_CLONE_NEWNET = 0x40000000;

/// prctl(PR_SET_CHILD_SUBREAPER, 1): prctl is variadic, which Swift cannot call.
int cfi_set_child_subreaper(void);

/// memfd_create(2) with MFD_CLOEXEC, which Swift's Glibc module does not declare: the state JSON a hook
/// reads on stdin is written to one, so a large state never blocks on a full pipe.
int cfi_memfd(const char *name);

/// sendmsg(2) of `length` bytes with one descriptor as SCM_RIGHTS; the control-message macros are not
/// callable from Swift. Returns what sendmsg returns.
ssize_t cfi_send_fd(int socket, int fd, const void *bytes, size_t length);

/// recvmsg(2) into `buffer`, taking at most one SCM_RIGHTS descriptor into *fd (close-on-exec; -1 when the
/// message carried none). Returns what recvmsg returns.
ssize_t cfi_receive_fd(int socket, void *buffer, size_t capacity, int *fd);
