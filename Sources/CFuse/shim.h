// libfuse 3 low-level API, pinned to the 3.14 interface: FUSE_USE_VERSION must be defined before the
// header is read, and it selects fuse_session_loop_mt's config-struct signature (3.12+).
//
// The inline functions below exist because Swift cannot use a few things libfuse declares:
// - bitfields of fuse_file_info are imported by Swift, but setting them through a C function keeps the
//   callers independent of how a given Swift/Clang version imports bitfields;
// - POSIX_SPAWN_SETSID and closefrom are GNU extensions that Swift's Glibc module does not declare; the
//   daemon is started in a session of its own with no stray descriptors.
// Names carry the `lf_` prefix.
#pragma once
#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>
#include <sys/statfs.h>
#include <sys/mount.h>
#include <sys/xattr.h>
#include <sys/uio.h>
#include <spawn.h>

/// glibc's closefrom (2.34+, under _GNU_SOURCE): a forked daemon keeps none of its caller's descriptors.
extern void closefrom(int lowfd);

/// Tell the kernel to keep a file's page cache across opens (the image never changes).
static inline void lf_file_info_keep_cache(struct fuse_file_info *fi) {
  fi->keep_cache = 1;
  fi->direct_io = 0;
}

/// Tell the kernel to cache a directory's listing (the image never changes).
static inline void lf_file_info_cache_dir(struct fuse_file_info *fi) {
  fi->cache_readdir = 1;
  fi->keep_cache = 1;
}
