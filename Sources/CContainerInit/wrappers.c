// One-line wrappers for calls Swift cannot make itself: variadic ones (prctl, syscall) and ones glibc
// declares only under _GNU_SOURCE.
#define _GNU_SOURCE
#include "container_init.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int cfi_set_child_subreaper(void) { return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); }

int cfi_memfd(const char *name) { return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC); }
