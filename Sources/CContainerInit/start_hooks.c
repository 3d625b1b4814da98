// startContainer hooks, run by the container's init after `start` released it and before execve: the
// same rules as the rest of the child (no allocation, no locks), so the hook is started with a raw clone.
#define _GNU_SOURCE
#include "container_init.h"
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/// Decimal digits of a non-negative number into `out` (at least 12 bytes), NUL-terminated.
void cfi_format_number(int value, char *out) {
  char digits[12];
  int n = 0;
  unsigned int v = value < 0 ? 0U : (unsigned int)value;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v && n < 11);
  for (int i = 0; i < n; i++) out[i] = digits[n - 1 - i];
  out[n] = 0;
}

/// Runs one startContainer hook with the state file on stdin and waits for it (at most its timeout).
/// Returns 0 when it exited 0; otherwise -1 with *status its wait status (-1 when it timed out), or -2
/// with errno when it could not be started. A raw clone, not fork: glibc's fork handlers take locks that
/// another thread of the runtime may have held when the init was cloned.
static int run_start_hook(const struct cfi_config *c, const struct cfi_hook *h, int *status) {
  int in = openat(c->state_dir_fd, c->hook_state_name, O_RDONLY | O_CLOEXEC);
  if (in < 0) return -2;
  long pid = syscall(SYS_clone, (unsigned long)SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) {
    int e = errno;
    close(in);
    errno = e;
    return -2;
  }
  if (pid == 0) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (dup2(in, 0) < 0) _exit(127);
    execve(h->path, (char *const *)h->argv, (char *const *)h->envp);
    _exit(127);
  }
  close(in);
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
  if (h->timeout > 0 && pidfd >= 0) {
    struct pollfd p = {.fd = pidfd, .events = POLLIN, .revents = 0};
    int ready;
    do {
      ready = poll(&p, 1, h->timeout * 1000);
    } while (ready < 0 && errno == EINTR);
    if (ready == 0) {
      kill((pid_t)pid, SIGKILL);
      while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR) {}
      close(pidfd);
      *status = -1;
      return -1;
    }
  }
  if (pidfd >= 0) close(pidfd);
  int st = 0;
  while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {}
  *status = st;
  return st == 0 ? 0 : -1;
}

/// Reports a failed startContainer hook: on the sync socket when the parent waits there (`run`), else
/// through the exec fifo that `start` is reading (`E<status> <path>`), and exits.
__attribute__((noreturn)) static void fail_hook(const struct cfi_config *c, int fifo, const char *path, int status) {
  if (fifo >= 0) {
    char number[12];
    cfi_format_number(status < 0 ? 0 : status, number);
    cfi_write_all(fifo, status < 0 ? "T" : "E");
    cfi_write_all(fifo, number);
    cfi_write_all(fifo, " ");
    cfi_write_all(fifo, path);
    close(fifo);
    _exit(127);
  }
  struct cfi_message m;
  memset(&m, 0, sizeof m);
  m.type = CFI_MSG_ERROR;
  m.status = status;
  cfi_copy_string(m.call, sizeof m.call, "startContainer hook");
  cfi_copy_string(m.path, sizeof m.path, path);
  send(c->sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  _exit(127);
}

void cfi_run_start_hooks(const struct cfi_config *c, int fifo) {
  for (int i = 0; i < c->start_hook_count; i++) {
    int status = 0;
    int rc = run_start_hook(c, &c->start_hooks[i], &status);
    if (rc == -2) cfi_fail(c, "startContainer hook", c->start_hooks[i].path);
    if (rc != 0) fail_hook(c, fifo, c->start_hooks[i].path, status);
  }
}
