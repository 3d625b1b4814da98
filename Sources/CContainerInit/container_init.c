// The container's first moments: clone, then, in the child, only system calls on memory the parent
// prepared. Credentials change through raw syscalls, not glibc's setresuid and friends, because those
// broadcast to every thread glibc believes exists, and the clone child inherited the parent's thread list.
#define _GNU_SOURCE
#include "container_init.h"
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/// The kernel's struct clone_args (linux/sched.h), spelled out so that header's CLONE_* macros do not
/// collide with glibc's.
struct cfi_clone_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size,
    cgroup;
};

void cfi_copy_string(char *dst, size_t capacity, const char *src) {
  size_t i = 0;
  if (src)
    for (; src[i] && i + 1 < capacity; i++) dst[i] = src[i];
  dst[i] = 0;
}

void cfi_write_all(int fd, const char *s) {
  size_t n = strlen(s);
  while (n > 0) {
    ssize_t w = write(fd, s, n);
    if (w <= 0) return;
    s += w;
    n -= (size_t)w;
  }
}

/// Reports a failed step to the parent, or on stderr once the parent is gone (after `create` exits), and
/// exits. errno is the failed call's.
void cfi_fail(const struct cfi_config *c, const char *call, const char *path) {
  struct cfi_message m;
  int e = errno;
  memset(&m, 0, sizeof m);
  m.type = CFI_MSG_ERROR;
  m.error = e;
  cfi_copy_string(m.call, sizeof m.call, call);
  cfi_copy_string(m.path, sizeof m.path, path);
  if (send(c->sync_fd, &m, sizeof m, MSG_NOSIGNAL) != (ssize_t)sizeof m) {
    const char *desc = strerrordesc_np(e);
    cfi_write_all(2, "crun-fast: ");
    cfi_write_all(2, call);
    if (path) {
      cfi_write_all(2, "(\"");
      cfi_write_all(2, path);
      cfi_write_all(2, "\")");
    }
    cfi_write_all(2, ": ");
    cfi_write_all(2, desc ? desc : "unknown error");
    cfi_write_all(2, "\n");
  }
  _exit(127);
}

static void send_type(const struct cfi_config *c, int type) {
  struct cfi_message m;
  memset(&m, 0, sizeof m);
  m.type = type;
  if (send(c->sync_fd, &m, sizeof m, MSG_NOSIGNAL) != (ssize_t)sizeof m) _exit(1);
}

/// Waits for a message of `type`; the parent closing its end means it died, and so does the child.
static void expect(const struct cfi_config *c, int type) {
  struct cfi_message m;
  ssize_t n;
  do {
    n = recv(c->sync_fd, &m, sizeof m, 0);
  } while (n < 0 && errno == EINTR);
  if (n < (ssize_t)sizeof m.type || m.type != type) _exit(1);
}

/// mkdir -p. The leaf is tried first: mount targets nearly always have their parents already, and walking
/// down from "/" cost one failing mkdir per path component for every mount of every start.
static int mkdir_all(const char *path, mode_t mode) {
  if (mkdir(path, mode) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return -1;
  char buffer[4096];
  size_t n = strlen(path);
  if (n >= sizeof buffer) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buffer, path, n + 1);
  for (char *p = buffer + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(buffer, mode) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  if (mkdir(buffer, mode) != 0 && errno != EEXIST) return -1;
  return 0;
}

int cfi_make_file(const char *path) {
  char parent[4096];
  size_t n = strlen(path);
  if (n >= sizeof parent) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(parent, path, n + 1);
  char *slash = strrchr(parent, '/');
  if (slash && slash != parent) {
    *slash = 0;
    if (mkdir_all(parent, 0755) != 0) return -1;
  }
  if (mknod(path, S_IFREG | 0644, 0) != 0 && errno != EEXIST) return -1;
  return 0;
}

/// The flags a bind remount must keep: in a user namespace the kernel refuses to clear nosuid, nodev,
/// noexec and the atime flags inherited from the source mount.
static unsigned long locked_flags(const char *target) {
  struct statvfs s;
  unsigned long flags = 0;
  if (statvfs(target, &s) != 0) return 0;
  if (s.f_flag & ST_NOSUID) flags |= MS_NOSUID;
  if (s.f_flag & ST_NODEV) flags |= MS_NODEV;
  if (s.f_flag & ST_NOEXEC) flags |= MS_NOEXEC;
  if (s.f_flag & ST_NOATIME) flags |= MS_NOATIME;
  if (s.f_flag & ST_NODIRATIME) flags |= MS_NODIRATIME;
  if (s.f_flag & ST_RELATIME) flags |= MS_RELATIME;
  return flags;
}

static int bind_remount(const char *target, unsigned long flags) {
  unsigned long base = MS_REMOUNT | MS_BIND | flags;
  if (mount(NULL, target, NULL, base, NULL) == 0) return 0;
  if (errno != EPERM) return -1;
  return mount(NULL, target, NULL, base | locked_flags(target), NULL);
}

/// pivot_root(".", ".") stacks the old root over the new one; detaching it leaves only the container's
/// root. The old root is made a slave first so the detach does not propagate to the host.
static int pivot(const char *rootfs) {
  int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (old_root < 0) return -1;
  int new_root = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int rc = -1;
  if (new_root >= 0 && fchdir(new_root) == 0 && syscall(SYS_pivot_root, ".", ".") == 0 && fchdir(old_root) == 0 &&
      mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) == 0 && umount2(".", MNT_DETACH) == 0 && chdir("/") == 0)
    rc = 0;
  int e = errno;
  close(old_root);
  if (new_root >= 0) close(new_root);
  errno = e;
  return rc;
}

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t n = strlen(data);
  ssize_t w = write(fd, data, n);
  int e = errno;
  close(fd);
  if (w != (ssize_t)n) {
    errno = w < 0 ? e : EIO;
    return -1;
  }
  return 0;
}

static int mask(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) return -1;
  if (S_ISDIR(st.st_mode)) return mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL);
  return mount("/dev/null", path, NULL, MS_BIND, NULL);
}

static int make_readonly(const char *path) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
  return bind_remount(path, MS_RDONLY | MS_REC);
}

static int run_step(const struct cfi_step *s) {
  switch (s->kind) {
  case CFI_MOUNT: return mount(s->source, s->target, s->fstype, s->flags, s->data);
  case CFI_BIND_REMOUNT: return bind_remount(s->target, s->flags);
  case CFI_MKDIR: return mkdir_all(s->target, s->mode);
  case CFI_MKFILE: return cfi_make_file(s->target);
  case CFI_MKNOD:
    if (mknod(s->target, s->mode, s->dev) != 0 && errno != EEXIST) return -1;
    return chown(s->target, s->uid, s->gid);
  case CFI_SYMLINK: return symlink(s->source, s->target) != 0 && errno != EEXIST ? -1 : 0;
  case CFI_PIVOT_ROOT: return pivot(s->target);
  case CFI_CHROOT: return chroot(s->target) == 0 ? chdir("/") : -1;
  case CFI_WRITE: return write_file(s->target, s->data);
  case CFI_MASK: return mask(s->target);
  case CFI_READONLY: return make_readonly(s->target);
  default: errno = EINVAL; return -1;
  }
}

static const char *const step_names[] = {
  "?", "mount", "remount", "mkdir", "create", "mknod", "symlink", "pivot_root", "chroot", "write", "mask", "readonly",
  "hooks",
};

static void load_seccomp(const struct cfi_config *c) {
  struct sock_fprog program = {.len = c->seccomp_len, .filter = (struct sock_filter *)c->seccomp_filter};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, c->seccomp_flags, &program) != 0) cfi_fail(c, "seccomp", NULL);
}

/// Bounding set first (needs CAP_SETPCAP), then the identity with PR_SET_KEEPCAPS so the permitted set
/// survives a non-zero uid, then effective/permitted/inheritable, then ambient (which needs the other two).
static void apply_identity(const struct cfi_config *c) {
  if (c->set_caps) {
    for (int cap = 0; cap <= c->cap_last; cap++)
      if (!(c->cap_bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
        cfi_fail(c, "prctl(PR_CAPBSET_DROP)", NULL);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) != 0) cfi_fail(c, "prctl(PR_SET_KEEPCAPS)", NULL);
  }
  if (c->set_groups && syscall(SYS_setgroups, (size_t)c->group_count, c->groups) != 0) cfi_fail(c, "setgroups", NULL);
  if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) != 0) cfi_fail(c, "setresgid", NULL);
  if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) != 0) cfi_fail(c, "setresuid", NULL);
  if (!c->set_caps) return;
  if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0) cfi_fail(c, "prctl(PR_SET_KEEPCAPS)", NULL);
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
    {(uint32_t)c->cap_effective, (uint32_t)c->cap_permitted, (uint32_t)c->cap_inheritable},
    {(uint32_t)(c->cap_effective >> 32), (uint32_t)(c->cap_permitted >> 32), (uint32_t)(c->cap_inheritable >> 32)},
  };
  if (syscall(SYS_capset, &header, data) != 0) cfi_fail(c, "capset", NULL);
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
    cfi_fail(c, "prctl(PR_CAP_AMBIENT)", NULL);
  // The kernel raises an ambient capability only if it is also permitted and inheritable; runc's default
  // config lists ambient ones without inheritable, and runc skips those, so we do too.
  for (int cap = 0; cap <= c->cap_last; cap++)
    if (c->cap_ambient & (1ULL << cap)) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

/// execvp's search, but over the container's PATH rather than ours, into a caller's buffer.
static const char *find_executable(const char *name, const char *path_env, char *buffer, size_t capacity) {
  if (strchr(name, '/')) return name;
  const char *p = path_env ? path_env : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t name_length = strlen(name);
  for (;;) {
    const char *end = strchrnul(p, ':');
    size_t dir_length = (size_t)(end - p);
    if (dir_length + name_length + 3 <= capacity) {
      if (dir_length == 0) buffer[dir_length++] = '.';
      else memcpy(buffer, p, dir_length);
      buffer[dir_length] = '/';
      memcpy(buffer + dir_length + 1, name, name_length + 1);
      struct stat st;
      if (stat(buffer, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) return buffer;
    }
    if (!*end) break;
    p = end + 1;
  }
  errno = ENOENT;
  return NULL;
}

/// Closes every descriptor but stdio, the sync socket, the fifo directory and the state directory.
/// Close-on-exec would do it only at execve, and a `create` init waits long before that while holding,
/// for instance, the parent's lock on the container's state directory.
static void close_inherited(const struct cfi_config *c) {
  int keep[3] = {c->sync_fd, c->fifo_dir_fd, c->state_dir_fd};
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++)
      if (keep[j] < keep[i]) {
        int t = keep[i];
        keep[i] = keep[j];
        keep[j] = t;
      }
  unsigned int from = 3;
  for (int i = 0; i < 3; i++) {
    if (keep[i] < (int)from) continue;
    if (keep[i] > (int)from) syscall(SYS_close_range, from, (unsigned int)keep[i] - 1, 0U);
    from = (unsigned int)keep[i] + 1;
  }
  syscall(SYS_close_range, from, ~0U, 0U);
}

__attribute__((noreturn)) static void child(const struct cfi_config *c) {
  prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  struct sigaction default_action;
  memset(&default_action, 0, sizeof default_action);
  default_action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < _NSIG; sig++) sigaction(sig, &default_action, NULL);
  syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
  for (int fd = 0; fd < 3; fd++)
    if (c->stdio[fd] >= 0 && c->stdio[fd] != fd && dup2(c->stdio[fd], fd) < 0) cfi_fail(c, "dup2", NULL);

  for (int i = 0; i < c->cgroup_task_fd_count; i++)
    if (write(c->cgroup_task_fds[i], "0", 1) != 1) cfi_fail(c, "write(tasks)", NULL);
  for (int i = 0; i < c->join_count; i++)
    if (setns(c->joins[i].fd, c->joins[i].nstype) != 0) cfi_fail(c, "setns", NULL);
  expect(c, CFI_MSG_CONTINUE);
  close_inherited(c);
  umask(0);
  if (c->unshare_cgroup && unshare(CLONE_NEWCGROUP) != 0) cfi_fail(c, "unshare(CLONE_NEWCGROUP)", NULL);
  if (c->user_namespace) {
    if (syscall(SYS_setresgid, 0, 0, 0) != 0) cfi_fail(c, "setresgid", NULL);
    if (syscall(SYS_setresuid, 0, 0, 0) != 0) cfi_fail(c, "setresuid", NULL);
  }
  if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) != 0) cfi_fail(c, "sethostname", c->hostname);
  if (c->domainname && setdomainname(c->domainname, strlen(c->domainname)) != 0)
    cfi_fail(c, "setdomainname", c->domainname);

  for (int i = 0; i < c->step_count; i++) {
    const struct cfi_step *s = &c->steps[i];
    if (s->kind == CFI_HOOKS) {
      send_type(c, CFI_MSG_HOOKS);
      expect(c, CFI_MSG_CONTINUE);
      continue;
    }
    if (run_step(s) == 0) continue;
    if (s->optional && errno == ENOENT) continue;
    int kind = s->kind > 0 && s->kind <= CFI_HOOKS ? s->kind : 0;
    cfi_fail(c, step_names[kind], s->target);
  }
  if (c->console) cfi_setup_console(c);
  for (int i = 0; i < c->rlimit_count; i++) {
    struct rlimit limit = {.rlim_cur = c->rlimits[i].soft, .rlim_max = c->rlimits[i].hard};
    if (setrlimit(c->rlimits[i].resource, &limit) != 0) cfi_fail(c, "setrlimit", NULL);
  }
  if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) cfi_fail(c, "prctl(PR_SET_NO_NEW_PRIVS)", NULL);
  // Without no_new_privs loading a filter needs CAP_SYS_ADMIN, so it goes in before capabilities drop;
  // with it, as late as possible, so the filter need not allow the set-up calls.
  if (c->seccomp_filter && !c->no_new_privs) load_seccomp(c);
  apply_identity(c);
  umask((mode_t)c->umask);
  if (c->cwd && chdir(c->cwd) != 0) cfi_fail(c, "chdir", c->cwd);
  char path_buffer[4096];
  const char *executable =
    c->exec_path ? c->exec_path : find_executable(c->argv[0], c->path_env, path_buffer, sizeof path_buffer);
  if (!executable) cfi_fail(c, "exec", c->argv[0]);

  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  if (c->exec_now) {
    // Nothing to wait for: the parent reads EOF on the sync socket once execve succeeded.
  } else if (c->fifo_dir_fd >= 0) {
    send_type(c, CFI_MSG_READY);
    int fifo;
    do {
      fifo = openat(c->fifo_dir_fd, c->fifo_name, O_WRONLY | O_CLOEXEC);
    } while (fifo < 0 && errno == EINTR);
    if (fifo < 0) cfi_fail(c, "open", c->fifo_name);
    cfi_run_start_hooks(c, fifo);
    if (write(fifo, "0", 1) != 1) cfi_fail(c, "write", c->fifo_name);
    close(fifo);
  } else {
    send_type(c, CFI_MSG_READY);
    expect(c, CFI_MSG_START);
    cfi_run_start_hooks(c, -1);
  }
  if (c->seccomp_filter && c->no_new_privs) load_seccomp(c);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execve(executable, (char *const *)c->argv, (char *const *)c->envp);
  cfi_fail(c, "execve", executable);
}

int cfi_loopback_up(void) {
  int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -1;
  struct ifreq request;
  memset(&request, 0, sizeof request);
  memcpy(request.ifr_name, "lo", 3);
  int rc = ioctl(sock, SIOCGIFFLAGS, &request);
  if (rc == 0 && !(request.ifr_flags & IFF_UP)) {
    request.ifr_flags |= IFF_UP | IFF_RUNNING;
    rc = ioctl(sock, SIOCSIFFLAGS, &request);
  }
  int e = errno;
  close(sock);
  errno = e;
  return rc;
}

int cfi_loopback_up_in(int netns_fd, const char **failed) {
  *failed = "open /proc/thread-self/ns/net";
  int own = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (own < 0) return -1;
  *failed = "setns(CLONE_NEWNET)";
  int rc = setns(netns_fd, CLONE_NEWNET);
  if (rc == 0) {
    *failed = "ioctl(SIOCSIFFLAGS) lo";
    rc = cfi_loopback_up();
    int e = errno;
    if (setns(own, CLONE_NEWNET) != 0) {
      // Never go on in the container's network: whatever this process starts next would be in it. The
      // init dies with us (PR_SET_PDEATHSIG); `delete --force` removes what is left.
      static const char message[] = "crun-fast: cannot return to the runtime's network namespace\n";
      (void)!write(2, message, sizeof message - 1);
      abort();
    }
    errno = e;
  }
  int e = errno;
  close(own);
  errno = e;
  return rc;
}

pid_t cfi_spawn(const struct cfi_config *config) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = -1;
  // Entering a pid namespace changes only where this thread's children are born: it is undone after the
  // clone, so that nothing this thread starts later lands in the container.
  int own_pid_ns = -1;
  if (config->pid_join_fd >= 0) {
    own_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own_pid_ns < 0 || setns(config->pid_join_fd, CLONE_NEWPID) != 0) goto out;
  }
  struct cfi_clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = config->clone_flags;
  args.exit_signal = SIGCHLD;
  if (config->cgroup_dir_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = (uint64_t)config->cgroup_dir_fd;
  }
  pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0 && errno == ENOSYS && config->cgroup_dir_fd < 0)
    pid = syscall(SYS_clone, (unsigned long)config->clone_flags | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) child(config);
out:;
  int e = errno;
  if (own_pid_ns >= 0) {
    setns(own_pid_ns, CLONE_NEWPID);
    close(own_pid_ns);
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  errno = e;
  return (pid_t)pid;
}
