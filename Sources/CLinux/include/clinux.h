// Linux interfaces that Swift's Glibc module does not bring in: extended attributes (sys/xattr.h) and the
// device-number macros of sys/sysmacros.h, which Swift cannot call because they are macros.
// Everything here is a direct, allocation-free wrapper; names carry the `cl_` prefix.
#pragma once
#include <sys/types.h>
#include <sys/xattr.h>
#include <sys/sysmacros.h>

static inline unsigned int cl_major(dev_t dev) { return major(dev); }
static inline unsigned int cl_minor(dev_t dev) { return minor(dev); }
static inline dev_t cl_makedev(unsigned int ma, unsigned int mi) { return makedev(ma, mi); }
