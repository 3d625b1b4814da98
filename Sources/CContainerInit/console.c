// The container's terminal: the pty made by the child in the container's devpts, and passing descriptors
// over Unix sockets (SCM_RIGHTS), whose control-message macros Swift cannot use.
#define _GNU_SOURCE
#include "container_init.h"
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

/// The pty of `process.terminal`, made in the container's own devpts: the master goes to the parent, the
/// slave becomes stdio and the controlling terminal of a new session.
void cfi_setup_console(const struct cfi_config *c) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) cfi_fail(c, "open", "/dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) != 0) cfi_fail(c, "ioctl(TIOCSPTLCK)", "/dev/ptmx");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (slave < 0) cfi_fail(c, "ioctl(TIOCGPTPEER)", "/dev/ptmx");
  if (c->console_rows && c->console_columns) {
    struct winsize size = {.ws_row = c->console_rows, .ws_col = c->console_columns};
    ioctl(slave, TIOCSWINSZ, &size);
  }
  if (c->console_mount) {
    unsigned int number = 0;
    if (ioctl(master, TIOCGPTN, &number) != 0) cfi_fail(c, "ioctl(TIOCGPTN)", "/dev/ptmx");
    char path[32] = "/dev/pts/";
    cfi_format_number((int)number, path + 9);
    if (cfi_make_file("/dev/console") != 0) cfi_fail(c, "create", "/dev/console");
    if (mount(path, "/dev/console", NULL, MS_BIND, NULL) != 0) cfi_fail(c, "mount", "/dev/console");
  }
  struct cfi_message m;
  memset(&m, 0, sizeof m);
  m.type = CFI_MSG_CONSOLE;
  if (cfi_send_fd(c->sync_fd, master, &m, sizeof m) != (ssize_t)sizeof m) _exit(1);
  close(master);
  if (setsid() < 0) cfi_fail(c, "setsid", NULL);
  if (ioctl(slave, TIOCSCTTY, 0) != 0) cfi_fail(c, "ioctl(TIOCSCTTY)", NULL);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) cfi_fail(c, "dup2", NULL);
  if (slave > 2) close(slave);
}

ssize_t cfi_send_fd(int socket, int fd, const void *bytes, size_t length) {
  struct iovec io = {.iov_base = (void *)bytes, .iov_len = length};
  union {
    char buffer[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control.buffer,
                       .msg_controllen = sizeof control.buffer};
  struct cmsghdr *header = CMSG_FIRSTHDR(&msg);
  header->cmsg_level = SOL_SOCKET;
  header->cmsg_type = SCM_RIGHTS;
  header->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(header), &fd, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(socket, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

ssize_t cfi_receive_fd(int socket, void *buffer, size_t capacity, int *fd) {
  struct iovec io = {.iov_base = buffer, .iov_len = capacity};
  union {
    char buffer[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } control;
  memset(&control, 0, sizeof control);
  struct msghdr msg = {.msg_iov = &io, .msg_iovlen = 1, .msg_control = control.buffer,
                       .msg_controllen = sizeof control.buffer};
  *fd = -1;
  ssize_t n;
  do {
    n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return n;
  for (struct cmsghdr *h = CMSG_FIRSTHDR(&msg); h; h = CMSG_NXTHDR(&msg, h))
    if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS && h->cmsg_len == CMSG_LEN(sizeof(int)))
      memcpy(fd, CMSG_DATA(h), sizeof(int));
  return n;
}
