// Helpers shared by the files of the child's code (container_init.c, start_hooks.c, console.c). Like all of
// the child's code they only make system calls on memory prepared before clone. Not part of the module's
// public header: Swift never calls them.
#pragma once
#include "container_init.h"

#include <stddef.h>

#define CFI_HIDDEN __attribute__((visibility("hidden")))

/// Copies at most capacity - 1 bytes of `src` (NULL: nothing) and terminates `dst`.
CFI_HIDDEN void cfi_copy_string(char *dst, size_t capacity, const char *src);
/// write(2) until all of `s` is written or it fails.
CFI_HIDDEN void cfi_write_all(int fd, const char *s);
/// Reports a failed step to the parent (or on stderr once it is gone) and exits; errno is the failed call's.
CFI_HIDDEN __attribute__((noreturn)) void cfi_fail(const struct cfi_config *c, const char *call, const char *path);
/// Creates an empty file at `path`, and its parent directories; an existing one is fine.
CFI_HIDDEN int cfi_make_file(const char *path);
/// Decimal digits of a non-negative number into `out` (at least 12 bytes), NUL-terminated.
CFI_HIDDEN void cfi_format_number(int value, char *out);
/// Runs the startContainer hooks in order; the first failure is reported (through `fifo` when it is not -1)
/// and ends the child.
CFI_HIDDEN void cfi_run_start_hooks(const struct cfi_config *c, int fifo);
/// The pty of `process.terminal` (see cfi_config.console).
CFI_HIDDEN void cfi_setup_console(const struct cfi_config *c);
