// FUSE over io_uring (Linux 6.14+) for a libfuse 3.14 low-level session, which predates it.
//
// Why: over /dev/fuse, a request made on one CPU wakes a daemon thread on whichever CPU is idle, and the
// reply wakes the caller back across CPUs. On a VM every such wake-up of a halted vCPU costs tens of
// microseconds, which is most of the price of a short request (Python's isatty() on every open is one
// FUSE_IOCTL each). With io_uring the kernel keeps one queue per CPU and hands a request made on CPU n to
// the daemon thread pinned to CPU n: the caller sleeps, the daemon runs on the same CPU, and the reply
// wakes the caller there.
//
// How it fits libfuse 3.14: the session gets custom I/O (`fuse_session_custom_io`) in place of plain
// read/writev on /dev/fuse. One thread per CPU (pinned to it, SCHED_IDLE: see lf_queue_main) sets up its
// queue's ring and buffers while the session starts, and checks that the kernel takes io_uring commands
// on this /dev/fuse (a probe answered EAGAIN, "not initialised yet"). The read side notices the kernel's
// FUSE_INIT and whether it offers io_uring; the write side holds the INIT reply until every queue is set
// up and says yes only if all are (once it has, every request waits for the rings, so nothing may fail
// after). Each ring thread turns a request from its ring back into the /dev/fuse layout and gives it to
// `fuse_session_process_buf`; the reply to that request comes back through the same write side, which
// copies it into the ring entry and commits it. A handler that must wait (a remote read) defers its
// reply to another thread instead (`lf_ring_defer_current`). FORGET and INTERRUPT still arrive on
// /dev/fuse, served by libfuse's own loop.
//
// All pointers, errno and syscalls stay in here; the Swift side sees an opaque handle and counts.
#pragma once
#include <stdint.h>

struct fuse_session;

/// One session's io_uring transport; NULL where the kernel cannot offer it.
typedef struct lf_ring lf_ring;

/// A transport for `se` if this kernel has FUSE over io_uring enabled (`fuse.enable_uring`) and io_uring
/// is allowed; NULL otherwise. Nothing is set up until the kernel's INIT offers it.
lf_ring *lf_ring_create(struct fuse_session *se, unsigned queue_depth);

/// Gives `se` the /dev/fuse descriptor `fd` (instead of fuse_session_mount) with I/O that goes through
/// `ring` once the kernel agrees; `ring` may be NULL (plain read and writev). 0, or a negative errno.
int lf_ring_install(struct fuse_session *se, int fd, lf_ring *ring);

/// Starts one thread per CPU, each setting up its queue (ring, buffers, a probe of the kernel) while the
/// session starts; the INIT reply waits for them. Call once the process may have threads (after the
/// mount's fork), before the session loop.
void lf_ring_start(lf_ring *ring);

/// The FUSE connection's number (the mount's device minor), so that a queue that has lost every ring entry
/// can abort the connection (/sys/fs/fuse/connections/N/abort) instead of leaving its CPU's requests
/// waiting forever.
void lf_ring_set_connection(lf_ring *ring, unsigned minor);

/// Called by a request's handler on a ring thread that will not reply before it returns: the reply comes
/// later from another thread (a read that waits for the network), and the ring thread goes on serving its
/// CPU's other requests meanwhile. 1 if so; 0 when the caller is not a ring thread (a /dev/fuse worker,
/// which may simply block: libfuse has other threads). The reply must come, exactly once, through
/// libfuse's fuse_reply_* as usual: it is matched to its ring entry by the request's unique, and the ring
/// thread is woken to commit it.
int lf_ring_defer_current(void);

/// Requests served through the rings so far.
uint64_t lf_ring_requests(const lf_ring *ring);

/// Whether requests come through the rings: the kernel was told yes at INIT and took every entry.
int lf_ring_accepted(const lf_ring *ring);

/// What failed, where the kernel offered io_uring and the rings could not be set up or registered (a
/// static string), else NULL.
const char *lf_ring_failure(const lf_ring *ring);

/// Stops the ring threads and frees everything. Call after the session loop has ended.
void lf_ring_destroy(lf_ring *ring);
