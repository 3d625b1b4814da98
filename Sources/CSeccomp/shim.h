// libseccomp, plus functions for its action macros (SCMP_ACT_ERRNO(x) and friends), which Swift cannot call.
#pragma once
#include <seccomp.h>

static inline uint32_t cs_act_errno(uint16_t e) { return SCMP_ACT_ERRNO(e); }
static inline uint32_t cs_act_trace(uint16_t m) { return SCMP_ACT_TRACE(m); }
static inline uint32_t cs_act_allow(void) { return SCMP_ACT_ALLOW; }
static inline uint32_t cs_act_log(void) { return SCMP_ACT_LOG; }
static inline uint32_t cs_act_trap(void) { return SCMP_ACT_TRAP; }
static inline uint32_t cs_act_kill_thread(void) { return SCMP_ACT_KILL_THREAD; }
static inline uint32_t cs_act_kill_process(void) { return SCMP_ACT_KILL_PROCESS; }
static inline uint32_t cs_act_notify(void) { return SCMP_ACT_NOTIFY; }
static inline int cs_error_syscall(void) { return __NR_SCMP_ERROR; }

#include <sys/syscall.h>
#include <unistd.h>
/// A close-on-exec memfd to export a program into (memfd_create is hidden behind _GNU_SOURCE in glibc).
static inline int cs_memfd(void) { return (int)syscall(SYS_memfd_create, "seccomp-bpf", 1U /* MFD_CLOEXEC */); }
