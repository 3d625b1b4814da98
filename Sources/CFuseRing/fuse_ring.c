// FUSE over io_uring for libfuse 3.14: see include/fuse_ring.h for why and how.
// Kernel interface: Documentation/filesystems/fuse/fuse-io-uring.rst and include/uapi/linux/fuse.h
// (ABI 7.42), which Debian 12's headers predate; the few definitions needed are below with an lf_ prefix.
#define _GNU_SOURCE
#define FUSE_USE_VERSION 314
#include "fuse_ring.h"

#include <errno.h>
#include <fuse3/fuse_lowlevel.h>
#include <linux/fuse.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

// FUSE_OVER_IO_URING is bit 41 of the INIT flags, bit 9 of the flags2 word.
#define LF_OVER_IO_URING_FLAGS2 (1u << 9)
#define LF_CMD_REGISTER 1
#define LF_CMD_COMMIT_AND_FETCH 2
#define LF_STOP_TAG 0  // user_data of the eventfd poll that ends a ring thread

struct lf_ent_in_out {
  uint64_t flags;
  uint64_t commit_id;  // the request's unique, given back on commit
  uint32_t payload_sz;  // bytes valid in the payload buffer, either way
  uint32_t padding;
  uint64_t reserved;
};

struct lf_req_header {
  char in_out[128];  // fuse_in_header on fetch, fuse_out_header on commit
  char op_in[128];  // the opcode's fixed argument struct (the kernel's in_args[0])
  struct lf_ent_in_out ent;
};

struct lf_cmd_req {  // in the 80-byte command area of a 128-byte SQE
  uint64_t flags;
  uint64_t commit_id;
  uint16_t qid;
  uint8_t padding[6];
};

struct lf_queue;

struct lf_entry {
  struct lf_queue *queue;
  struct lf_req_header *header;
  char *payload;
  struct iovec iov[2];
  uint64_t commit_id;
  int last_cmd;
  int busy;  // a request is being served and not yet committed (only the ring thread touches it)
  int deferred;  // its handler handed the reply to another thread (lf_ring_defer_current)
  struct lf_entry *next_deferred;  // in the ring's list of deferred entries, under deferred_lock
};

struct lf_queue {
  lf_ring *ring;
  unsigned qid;
  int ring_fd, event_fd;
  pthread_t thread;
  int thread_started;
  pthread_mutex_t lock;  // the SQ ring and to_submit
  unsigned to_submit;
  void *sq_map, *cq_map;
  size_t sq_map_len, cq_map_len, sqes_len;
  struct io_uring_sqe *sqes;  // 128 bytes each (IORING_SETUP_SQE128)
  struct io_uring_cqe *cqes;
  _Atomic unsigned *sq_tail, *cq_head, *cq_tail;
  unsigned *sq_mask, *cq_mask, *sq_array;
  struct lf_entry *entries;
  unsigned live;  // entries the kernel has not refused
  char *request;  // one request in /dev/fuse layout, for fuse_session_process_buf
  void *region;  // the entries' headers and payloads and the request buffer, one mapping
  size_t region_len;
  const char *setup_failure;  // what failed while the thread set the queue up
};

struct lf_ring {
  struct fuse_session *se;
  int fd;
  unsigned nqueues, depth;
  size_t payload_size;
  struct lf_queue *queues;
  _Atomic int init_seen;  // every /dev/fuse reader looks; the one that reads INIT sets it
  int offered, init_replied;  // written by that reader before it answers INIT, read by the writer of INIT's reply
  uint64_t init_unique;
  _Atomic int accepted;
  _Atomic uint64_t requests;
  const char *_Atomic failure;
  char abort_path[96];  // /sys/fs/fuse/connections/N/abort, once known
  _Atomic int stopping;
  pthread_mutex_t deferred_lock;  // with deferred: entries whose reply another thread will write
  struct lf_entry *deferred;
  pthread_mutex_t start_lock;  // with start_cond: ready and start
  pthread_cond_t start_cond;
  unsigned ready;  // queues whose thread has finished setting up (or failed to)
  int start;  // 1: register with the kernel, -1: give up
};

// libfuse hands custom I/O the session's userdata (the file system), not ours: the ring is found by fd.
#define LF_SLOTS 64
static struct {
  _Atomic int fd;
  lf_ring *_Atomic ring;
} lf_registry[LF_SLOTS];

static lf_ring *lf_lookup(int fd) {
  for (int i = 0; i < LF_SLOTS; i++)
    if (atomic_load_explicit(&lf_registry[i].fd, memory_order_acquire) == fd + 1)
      return atomic_load_explicit(&lf_registry[i].ring, memory_order_relaxed);
  return NULL;
}

// The entry whose request the current thread is serving, when that thread is its ring's; and whether its
// handler deferred the reply (read back by the same thread: the entry itself may be committed already).
static __thread struct lf_entry *lf_current;
static __thread int lf_current_deferred;

static int lf_io_uring_setup(unsigned entries, struct io_uring_params *p) {
  return (int)syscall(__NR_io_uring_setup, entries, p);
}

static int lf_io_uring_enter(int fd, unsigned submit, unsigned wait, unsigned flags) {
  return (int)syscall(__NR_io_uring_enter, fd, submit, wait, flags, NULL, 0);
}

/// Size of the opcode's fixed argument struct, which the kernel puts in op_in (payload gets the rest);
/// -1 for an opcode a read-only file system is not sent (it is answered ENOSYS without libfuse).
static int lf_op_size(uint32_t opcode) {
  switch (opcode) {
    case FUSE_LOOKUP: case FUSE_READLINK: case FUSE_STATFS: case FUSE_DESTROY: return 0;
    case FUSE_GETATTR: return sizeof(struct fuse_getattr_in);
    case FUSE_OPEN: case FUSE_OPENDIR: return sizeof(struct fuse_open_in);
    case FUSE_READ: case FUSE_READDIR: case FUSE_READDIRPLUS: return sizeof(struct fuse_read_in);
    case FUSE_RELEASE: case FUSE_RELEASEDIR: return sizeof(struct fuse_release_in);
    case FUSE_FLUSH: return sizeof(struct fuse_flush_in);
    case FUSE_FSYNC: case FUSE_FSYNCDIR: return sizeof(struct fuse_fsync_in);
    case FUSE_GETXATTR: case FUSE_LISTXATTR: return sizeof(struct fuse_getxattr_in);
    case FUSE_ACCESS: return sizeof(struct fuse_access_in);
    case FUSE_IOCTL: return sizeof(struct fuse_ioctl_in);
    case FUSE_POLL: return sizeof(struct fuse_poll_in);
    case FUSE_LSEEK: return sizeof(struct fuse_lseek_in);
    case FUSE_BMAP: return sizeof(struct fuse_bmap_in);
    case FUSE_GETLK: return sizeof(struct fuse_lk_in);
    default: return -1;
  }
}

/// Queues one command for `e` (caller holds the queue's lock); it goes to the kernel with the next enter.
static void lf_prep(struct lf_queue *q, struct lf_entry *e, int cmd) {
  unsigned tail = atomic_load_explicit(q->sq_tail, memory_order_relaxed);
  unsigned index = tail & *q->sq_mask;
  struct io_uring_sqe *sqe = (struct io_uring_sqe *)((char *)q->sqes + (size_t)index * 128);
  memset(sqe, 0, 128);
  if (e == NULL) {  // the stop poll on the queue's eventfd
    sqe->opcode = IORING_OP_POLL_ADD;
    sqe->fd = q->event_fd;
    sqe->poll32_events = POLLIN;
    sqe->user_data = LF_STOP_TAG;
  } else {
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = q->ring->fd;
    sqe->cmd_op = (uint32_t)cmd;
    sqe->user_data = (uint64_t)(uintptr_t)e;
    struct lf_cmd_req *req = (struct lf_cmd_req *)sqe->cmd;
    req->qid = (uint16_t)q->qid;
    if (cmd == LF_CMD_REGISTER) {
      sqe->addr = (uint64_t)(uintptr_t)e->iov;
      sqe->len = 2;
    } else {
      req->commit_id = e->commit_id;
    }
    e->last_cmd = cmd;
  }
  q->sq_array[index] = index;
  atomic_store_explicit(q->sq_tail, tail + 1, memory_order_release);
  q->to_submit++;
}

/// Submits what is queued and, with `wait`, sleeps until a completion arrives.
static int lf_enter(struct lf_queue *q, int wait) {
  pthread_mutex_lock(&q->lock);
  unsigned n = q->to_submit;
  q->to_submit = 0;
  pthread_mutex_unlock(&q->lock);
  int rc = lf_io_uring_enter(q->ring_fd, n, wait ? 1 : 0, wait ? IORING_ENTER_GETEVENTS : 0);
  int err = errno;
  unsigned done = rc > 0 ? (unsigned)rc : 0;
  if (done < n) {
    pthread_mutex_lock(&q->lock);
    q->to_submit += n - done;
    pthread_mutex_unlock(&q->lock);
  }
  if (rc < 0 && err != EINTR && err != EAGAIN && err != EBUSY) return -err;
  return 0;
}

/// Copies a reply (libfuse's iovec: out header, then arguments) into the entry and queues its commit,
/// which the ring thread submits with its next enter. Once per request: a second reply is refused.
static ssize_t lf_commit(struct lf_entry *e, const struct iovec *iov, int count) {
  struct lf_queue *q = e->queue;
  if (!e->busy) {
    errno = ENOENT;
    return -1;
  }
  size_t total = iov[0].iov_len, len = 0;
  struct fuse_out_header out = *(const struct fuse_out_header *)iov[0].iov_base;
  for (int i = 1; i < count; i++) {
    total += iov[i].iov_len;
    if (len + iov[i].iov_len > q->ring->payload_size) {
      out.error = -EIO;  // cannot happen with libfuse's limits; never send a partial reply
      len = 0;
      break;
    }
    memcpy(e->payload + len, iov[i].iov_base, iov[i].iov_len);
    len += iov[i].iov_len;
  }
  out.len = (uint32_t)(sizeof out + len);
  memcpy(e->header->in_out, &out, sizeof out);
  e->header->ent.payload_sz = (uint32_t)len;
  e->busy = 0;
  e->deferred = 0;
  pthread_mutex_lock(&q->lock);
  lf_prep(q, e, LF_CMD_COMMIT_AND_FETCH);
  pthread_mutex_unlock(&q->lock);
  return (ssize_t)total;
}

static void lf_reply_error(struct lf_entry *e, uint64_t unique, int error) {
  struct fuse_out_header out = {.len = sizeof out, .error = -error, .unique = unique};
  struct iovec iov = {.iov_base = &out, .iov_len = sizeof out};
  lf_commit(e, &iov, 1);
}

/// Serves one request fetched into `e`, in this thread: libfuse's handlers here all reply before they
/// return. A request left without a reply gets EIO, so that the entry goes back to the kernel.
static void lf_serve(struct lf_queue *q, struct lf_entry *e) {
  lf_ring *r = q->ring;
  struct fuse_in_header in;
  memcpy(&in, e->header->in_out, sizeof in);
  e->commit_id = e->header->ent.commit_id;
  uint32_t payload = e->header->ent.payload_sz;
  e->busy = 1;
  e->deferred = 0;
  // The kernel's in.len counts the header and every argument; op_in holds the first argument, the
  // payload the rest. The table cross-checks what a kernel that leaves len at 0 would make of it.
  long op = (long)in.len - (long)sizeof in - (long)payload;
  if (op < 0 || op > 128) op = lf_op_size(in.opcode);
  if (op < 0 || payload > r->payload_size) {
    lf_reply_error(e, in.unique, ENOSYS);
  } else {
    in.len = (uint32_t)(sizeof in + (size_t)op + payload);
    memcpy(q->request, &in, sizeof in);
    memcpy(q->request + sizeof in, e->header->op_in, (size_t)op);
    memcpy(q->request + sizeof in + (size_t)op, e->payload, payload);
    struct fuse_buf buf = {.size = in.len, .mem = q->request};
    lf_current = e;
    lf_current_deferred = 0;
    fuse_session_process_buf(r->se, &buf);
    lf_current = NULL;
    // A deferred request is answered by another thread, perhaps already: not this one's to touch.
    if (!lf_current_deferred && e->busy) {
      fprintf(stderr, "lazyfs: a request (opcode %u) came back from libfuse without a reply: EIO\n", in.opcode);
      lf_reply_error(e, in.unique, EIO);
    }
  }
  atomic_fetch_add_explicit(&r->requests, 1, memory_order_relaxed);
}

/// A queue that has lost every entry while the kernel uses the rings would leave every request made on
/// its CPU waiting forever: abort the connection instead (every access fails, the daemon's loop ends and
/// the mount goes), and say why.
static void lf_queue_lost(struct lf_queue *q) {
  lf_ring *r = q->ring;
  fprintf(stderr, "lazyfs: io_uring queue %u has no entries left; aborting the FUSE connection\n", q->qid);
  if (r->abort_path[0] == 0) return;
  FILE *f = fopen(r->abort_path, "we");
  if (f) {
    fputs("1\n", f);
    fclose(f);
  }
}

static const char *lf_queue_setup(lf_ring *r, struct lf_queue *q);

static void *lf_queue_main(void *arg) {
  struct lf_queue *q = arg;
  lf_ring *r = q->ring;
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  CPU_SET(q->qid, &cpus);
  sched_setaffinity(0, sizeof cpus, &cpus);  // best effort: a cpuset may forbid it; then only slower
  // SCHED_IDLE, so that the CPU still counts as idle for the task that made the request. The reply wakes
  // that task while this thread is still running; a CPU busy with a normal task would send it to the
  // other CPU (the idle one), and its next request to the other queue: every request would cross CPUs
  // again (measured: 40 µs a FUSE_IOCTL instead of 13; /dev/fuse takes 24). Starving is not what happens:
  // with eight CPU-bound tasks on the two CPUs here a request took 34-40 µs (/dev/fuse: 79-113 µs), as
  // the task waiting for it sleeps and the scheduler still runs idle-policy tasks within its period.
  struct sched_param idle = {0};
  sched_setscheduler(0, SCHED_IDLE, &idle);
  char name[16];
  snprintf(name, sizeof name, "lazyfs-ring-%u", q->qid);
  pthread_setname_np(pthread_self(), name);

  const char *failed = lf_queue_setup(r, q);
  pthread_mutex_lock(&r->start_lock);
  q->setup_failure = failed;
  r->ready++;
  pthread_cond_broadcast(&r->start_cond);
  while (r->start == 0) pthread_cond_wait(&r->start_cond, &r->start_lock);
  int start = r->start;
  pthread_mutex_unlock(&r->start_lock);
  if (failed || start < 0) return NULL;

  pthread_mutex_lock(&q->lock);
  for (unsigned i = 0; i < r->depth; i++) lf_prep(q, &q->entries[i], LF_CMD_REGISTER);
  lf_prep(q, NULL, 0);
  pthread_mutex_unlock(&q->lock);
  q->live = r->depth;
  for (;;) {
    int rc = lf_enter(q, 1);
    if (rc < 0) {  // not one the kernel returns for a sound ring; try again rather than drop the queue
      if (atomic_load(&r->stopping)) return NULL;
      usleep(1000);
      continue;
    }
    unsigned head = atomic_load_explicit(q->cq_head, memory_order_relaxed);
    unsigned tail = atomic_load_explicit(q->cq_tail, memory_order_acquire);
    int stop = 0;
    for (; head != tail; head++) {
      struct io_uring_cqe *cqe = &q->cqes[head & *q->cq_mask];
      struct lf_entry *e = (struct lf_entry *)(uintptr_t)cqe->user_data;
      int res = cqe->res;
      if (e == NULL && res >= 0 && !atomic_load(&r->stopping)) {
        // A deferred reply was committed from another thread: drain the eventfd, poll it again; the
        // enter at the top of the loop submits the commit.
        uint64_t count;
        if (read(q->event_fd, &count, sizeof count) < 0) { /* EAGAIN: another wake-up took it */ }
        pthread_mutex_lock(&q->lock);
        lf_prep(q, NULL, 0);
        pthread_mutex_unlock(&q->lock);
      } else if (e == NULL || res == -ENOTCONN || res == -ECONNABORTED || res == -ECANCELED) {
        stop = 1;  // lf_ring_destroy, or the connection is gone (unmounted, aborted)
      } else if (res == -EINTR || res == -EAGAIN) {
        pthread_mutex_lock(&q->lock);
        lf_prep(q, e, e->last_cmd);
        pthread_mutex_unlock(&q->lock);
      } else if (res < 0) {
        // The kernel refused this entry. Before the rings are in use a refused REGISTER makes the kernel
        // fall back to /dev/fuse; after, the queue goes on with its other entries.
        q->live--;  // this entry is out of the ring for good
        const char *none = NULL;
        atomic_compare_exchange_strong(&r->failure, &none, "registering a ring entry");
        if (q->live == 0 && atomic_load(&r->requests) > 0) lf_queue_lost(q);
      } else {
        lf_serve(q, e);
        // Replies go to the kernel before the next request of a batch is served.
        if (head + 1 != tail) lf_enter(q, 0);
      }
      atomic_store_explicit(q->cq_head, head + 1, memory_order_release);
    }
    if (stop) {
      lf_enter(q, 0);
      return NULL;
    }
  }
}

static void lf_queue_free(struct lf_queue *q) {
  free(q->entries);
  if (q->region) munmap(q->region, q->region_len);
  if (q->sqes) munmap(q->sqes, q->sqes_len);
  if (q->cq_map && q->cq_map != q->sq_map) munmap(q->cq_map, q->cq_map_len);
  if (q->sq_map) munmap(q->sq_map, q->sq_map_len);
  if (q->ring_fd >= 0) close(q->ring_fd);
  if (q->event_fd >= 0) close(q->event_fd);
  pthread_mutex_destroy(&q->lock);
}

/// Creates a queue's ring and buffers, in its own thread; the failing step's name, or NULL.
static const char *lf_queue_setup(lf_ring *r, struct lf_queue *q) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  p.flags = IORING_SETUP_SQE128 | IORING_SETUP_CQSIZE;
  p.cq_entries = 2 * (r->depth + 1);
  q->ring_fd = lf_io_uring_setup(r->depth + 1, &p);
  if (q->ring_fd < 0) return "io_uring_setup";
  q->sq_map_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  q->cq_map_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  if (p.features & IORING_FEAT_SINGLE_MMAP) {
    if (q->cq_map_len > q->sq_map_len) q->sq_map_len = q->cq_map_len;
  }
  q->sq_map = mmap(NULL, q->sq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED, q->ring_fd,
                   IORING_OFF_SQ_RING);
  if (q->sq_map == MAP_FAILED) return q->sq_map = NULL, "mmap of the submission ring";
  q->cq_map = q->sq_map;
  if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
    q->cq_map = mmap(NULL, q->cq_map_len, PROT_READ | PROT_WRITE, MAP_SHARED, q->ring_fd,
                     IORING_OFF_CQ_RING);
    if (q->cq_map == MAP_FAILED) return q->cq_map = NULL, "mmap of the completion ring";
  }
  q->sqes_len = (size_t)p.sq_entries * 128;
  q->sqes = mmap(NULL, q->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED, q->ring_fd,
                 IORING_OFF_SQES);
  if (q->sqes == MAP_FAILED) return q->sqes = NULL, "mmap of the submission entries";
  char *sq = q->sq_map, *cq = q->cq_map;
  q->sq_tail = (_Atomic unsigned *)(sq + p.sq_off.tail);
  q->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  q->sq_array = (unsigned *)(sq + p.sq_off.array);
  q->cq_head = (_Atomic unsigned *)(cq + p.cq_off.head);
  q->cq_tail = (_Atomic unsigned *)(cq + p.cq_off.tail);
  q->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
  q->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);

  q->event_fd = eventfd(0, EFD_CLOEXEC);
  if (q->event_fd < 0) return "eventfd";
  // Page-aligned headers and payloads, as the kernel maps them; touched only as far as requests fill them.
  size_t page = (size_t)sysconf(_SC_PAGESIZE), stride = page + r->payload_size;
  size_t request = (sizeof(struct fuse_in_header) + 128 + r->payload_size + page - 1) & ~(page - 1);
  q->region_len = r->depth * stride + request;
  q->region = mmap(NULL, q->region_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (q->region == MAP_FAILED) return q->region = NULL, "memory for the ring";
  q->request = (char *)q->region + r->depth * stride;
  q->entries = calloc(r->depth, sizeof *q->entries);
  if (!q->entries) return "memory for the ring";
  for (unsigned i = 0; i < r->depth; i++) {
    struct lf_entry *e = &q->entries[i];
    e->queue = q;
    e->header = (struct lf_req_header *)((char *)q->region + i * stride);
    e->payload = (char *)e->header + page;
    e->iov[0] = (struct iovec){.iov_base = e->header, .iov_len = sizeof(struct lf_req_header)};
    e->iov[1] = (struct iovec){.iov_base = e->payload, .iov_len = r->payload_size};
  }
  // A command sent before INIT is answered comes back at once with EAGAIN ("not initialised yet") from
  // a kernel that will take the rings. Anything else (no io_uring commands on /dev/fuse, a security
  // module refusing them, io_uring_enter failing) means the kernel is told no, and nothing waits.
  pthread_mutex_lock(&q->lock);
  lf_prep(q, &q->entries[0], LF_CMD_REGISTER);
  pthread_mutex_unlock(&q->lock);
  if (lf_io_uring_enter(q->ring_fd, 1, 1, IORING_ENTER_GETEVENTS) != 1) return "io_uring_enter";
  q->to_submit = 0;
  unsigned head = atomic_load_explicit(q->cq_head, memory_order_relaxed);
  if (head == atomic_load_explicit(q->cq_tail, memory_order_acquire)) return "a probe of the ring";
  int probe = q->cqes[head & *q->cq_mask].res;
  atomic_store_explicit(q->cq_head, head + 1, memory_order_release);
  if (probe != -EAGAIN) return "a probe of the ring";
  return NULL;
}

static void lf_release_threads(lf_ring *r, int start) {
  pthread_mutex_lock(&r->start_lock);
  if (r->start == 0) r->start = start;
  pthread_cond_broadcast(&r->start_cond);
  pthread_mutex_unlock(&r->start_lock);
}

static void lf_queues_free(lf_ring *r) {
  atomic_store(&r->stopping, 1);
  lf_release_threads(r, -1);
  for (unsigned i = 0; i < r->nqueues; i++) {
    struct lf_queue *q = &r->queues[i];
    if (q->thread_started) {
      uint64_t one = 1;
      if (q->event_fd >= 0 && write(q->event_fd, &one, sizeof one) < 0) { /* the thread may be gone */ }
      pthread_join(q->thread, NULL);
    }
    lf_queue_free(q);
  }
  free(r->queues);
  r->queues = NULL;
}

/// The INIT reply: once every queue is set up (their threads started with the session), say yes to
/// io_uring in it, then let the queues register.
static ssize_t lf_reply_init(lf_ring *r, int fd, struct iovec *iov, int count) {
  struct fuse_out_header *out = iov[0].iov_base;
  struct fuse_init_out *init = count >= 2 ? iov[1].iov_base : NULL;
  const char *failed = NULL;
  if (out->error != 0 || init == NULL || iov[1].iov_len < offsetof(struct fuse_init_out, flags2) + 4) {
    failed = "answering INIT (no room for flags2)";
  } else {
    // The kernel's own bound (max_payload_sz): the largest of 8 KiB, max_write and max_pages pages (32
    // pages where the reply does not set them). A smaller buffer would be refused at REGISTER.
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t pages = (init->flags & FUSE_MAX_PAGES) ? init->max_pages : 32;
    size_t payload = 8192;
    if (init->max_write > payload) payload = init->max_write;
    if (pages * page > payload) payload = pages * page;
    if (payload > r->payload_size) failed = "sizing the ring buffers";
  }
  pthread_mutex_lock(&r->start_lock);
  while (r->ready < r->nqueues) pthread_cond_wait(&r->start_cond, &r->start_lock);
  for (unsigned i = 0; !failed && i < r->nqueues; i++) failed = r->queues[i].setup_failure;
  pthread_mutex_unlock(&r->start_lock);
  if (failed) {
    atomic_store(&r->failure, failed);
    lf_release_threads(r, -1);
    return writev(fd, iov, count);
  }
  init->flags |= FUSE_INIT_EXT;
  init->flags2 |= LF_OVER_IO_URING_FLAGS2;
  ssize_t n = writev(fd, iov, count);
  if (n < 0) {
    lf_release_threads(r, -1);
    return n;
  }
  atomic_store(&r->accepted, 1);
  lf_release_threads(r, 1);
  return n;
}

static ssize_t lf_read(int fd, void *buf, size_t len, void *userdata) {
  (void)userdata;
  ssize_t n = read(fd, buf, len);
  lf_ring *r = n > 0 ? lf_lookup(fd) : NULL;
  if (r && !atomic_load_explicit(&r->init_seen, memory_order_relaxed) &&
      (size_t)n >= sizeof(struct fuse_in_header) + offsetof(struct fuse_init_in, flags2) + 4) {
    const struct fuse_in_header *in = buf;
    if (in->opcode == FUSE_INIT) {
      const struct fuse_init_in *arg = (const void *)(in + 1);
      atomic_store_explicit(&r->init_seen, 1, memory_order_relaxed);
      if (arg->major == 7 && (arg->flags & FUSE_INIT_EXT) && (arg->flags2 & LF_OVER_IO_URING_FLAGS2)) {
        r->init_unique = in->unique;
        r->offered = 1;
      } else {
        lf_release_threads(r, -1);  // not offered: the ring threads end
      }
    }
  }
  return n;
}

int lf_ring_defer_current(void) {
  struct lf_entry *e = lf_current;
  if (e == NULL) return 0;
  lf_ring *r = e->queue->ring;
  e->deferred = 1;
  lf_current_deferred = 1;
  pthread_mutex_lock(&r->deferred_lock);
  e->next_deferred = r->deferred;
  r->deferred = e;
  pthread_mutex_unlock(&r->deferred_lock);
  return 1;
}

/// The deferred entry waiting for the reply to request `unique`, taken off the list; NULL if none.
static struct lf_entry *lf_take_deferred(lf_ring *r, uint64_t unique) {
  pthread_mutex_lock(&r->deferred_lock);
  struct lf_entry **at = &r->deferred;
  while (*at && (*at)->commit_id != unique) at = &(*at)->next_deferred;
  struct lf_entry *e = *at;
  if (e) *at = e->next_deferred;
  pthread_mutex_unlock(&r->deferred_lock);
  return e;
}

static ssize_t lf_writev(int fd, struct iovec *iov, int count, void *userdata) {
  (void)userdata;
  const struct fuse_out_header *out = iov[0].iov_base;
  // The reply to the request this ring thread serves. Anything else written while serving it (libfuse
  // answering a stale INTERRUPT with EAGAIN, a notification) is not, and goes to /dev/fuse.
  if (lf_current != NULL && out->unique == lf_current->commit_id) return lf_commit(lf_current, iov, count);
  lf_ring *r = lf_lookup(fd);
  // The reply to a deferred request, from the thread it was handed to: into its entry, and the ring
  // thread, asleep in io_uring_enter, woken through its eventfd to submit the commit.
  struct lf_entry *deferred = r && lf_current == NULL ? lf_take_deferred(r, out->unique) : NULL;
  if (deferred) {
    ssize_t n = lf_commit(deferred, iov, count);
    uint64_t one = 1;
    if (write(deferred->queue->event_fd, &one, sizeof one) < 0) { /* the queue is stopping */ }
    return n;
  }
  if (r && r->offered && !r->init_replied && out->unique == r->init_unique) {
    r->init_replied = 1;
    return lf_reply_init(r, fd, iov, count);
  }
  return writev(fd, iov, count);
}

/// Number of queues the kernel makes (one per possible CPU), from /sys; 0 if it cannot be read or the
/// CPU numbers are not 0..n-1.
static unsigned lf_possible_cpus(void) {
  FILE *f = fopen("/sys/devices/system/cpu/possible", "re");
  if (!f) return 0;
  unsigned a = 0, b = 0;
  char tail[64] = {0};
  int got = fscanf(f, "%u-%u%63s", &a, &b, tail);
  fclose(f);
  if (got == 1) return a == 0 ? 1 : 0;
  if (got == 2 && a == 0) return b + 1;
  return 0;
}

static int lf_uring_enabled(void) {
  FILE *f = fopen("/sys/module/fuse/parameters/enable_uring", "re");
  if (!f) return 0;
  int c = fgetc(f);
  fclose(f);
  return c == 'Y' || c == 'y' || c == '1';
}

lf_ring *lf_ring_create(struct fuse_session *se, unsigned queue_depth) {
  unsigned n = lf_possible_cpus();
  if (n == 0 || n > 1024 || queue_depth == 0 || !lf_uring_enabled()) return NULL;
  lf_ring *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->queues = calloc(n, sizeof *r->queues);
  if (!r->queues) return free(r), NULL;
  r->se = se;
  r->fd = -1;
  r->nqueues = n;
  r->depth = queue_depth;
  // libfuse 3.14's largest request and reply (FUSE_MAX_MAX_PAGES pages), which bounds max_write and
  // max_pages at INIT and so the kernel's payload size.
  r->payload_size = 256 * (size_t)sysconf(_SC_PAGESIZE);
  pthread_mutex_init(&r->start_lock, NULL);
  pthread_mutex_init(&r->deferred_lock, NULL);
  pthread_cond_init(&r->start_cond, NULL);
  for (unsigned i = 0; i < n; i++) {
    struct lf_queue *q = &r->queues[i];
    q->ring = r;
    q->qid = i;
    q->ring_fd = q->event_fd = -1;
    pthread_mutex_init(&q->lock, NULL);
  }
  return r;
}

void lf_ring_start(lf_ring *r) {
  if (!r) return;
  // The threads take no signals: libfuse's handlers (SIGTERM, SIGINT, SIGHUP) run on its own threads.
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (unsigned i = 0; i < r->nqueues; i++) {
    struct lf_queue *q = &r->queues[i];
    if (pthread_create(&q->thread, NULL, lf_queue_main, q) == 0) {
      q->thread_started = 1;
    } else {
      pthread_mutex_lock(&r->start_lock);
      q->setup_failure = "pthread_create";
      r->ready++;
      pthread_mutex_unlock(&r->start_lock);
    }
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int lf_ring_install(struct fuse_session *se, int fd, lf_ring *ring) {
  if (ring) {
    int slot = -1;
    for (int i = 0; i < LF_SLOTS && slot < 0; i++) {
      int expected = 0;
      if (atomic_compare_exchange_strong(&lf_registry[i].fd, &expected, -1)) slot = i;
    }
    if (slot < 0) return -EMFILE;
    ring->fd = fd;
    atomic_store(&lf_registry[slot].ring, ring);
    atomic_store_explicit(&lf_registry[slot].fd, fd + 1, memory_order_release);
  }
  static const struct fuse_custom_io io = {.read = lf_read, .writev = lf_writev};
  return fuse_session_custom_io(se, &io, fd);
}

uint64_t lf_ring_requests(const lf_ring *ring) { return ring ? atomic_load(&ring->requests) : 0; }

int lf_ring_accepted(const lf_ring *ring) {
  return ring ? atomic_load(&ring->accepted) && atomic_load(&ring->failure) == NULL : 0;
}

const char *lf_ring_failure(const lf_ring *ring) { return ring ? atomic_load(&ring->failure) : NULL; }

void lf_ring_set_connection(lf_ring *ring, unsigned minor) {
  if (ring) snprintf(ring->abort_path, sizeof ring->abort_path, "/sys/fs/fuse/connections/%u/abort", minor);
}

void lf_ring_destroy(lf_ring *ring) {
  if (!ring) return;
  lf_queues_free(ring);
  for (int i = 0; i < LF_SLOTS; i++)
    if (atomic_load(&lf_registry[i].ring) == ring) {
      atomic_store(&lf_registry[i].ring, NULL);
      atomic_store(&lf_registry[i].fd, 0);
    }
  pthread_mutex_destroy(&ring->start_lock);
  pthread_mutex_destroy(&ring->deferred_lock);
  pthread_cond_destroy(&ring->start_cond);
  free(ring);
}
