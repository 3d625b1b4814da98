// SHA-256 (FIPS 180-4), the one implementation every program here uses: the store's chunk, pack and image
// digests (lazyfs) and the seccomp cache key (crun-fast). In C so that it can use the CPU's SHA
// extensions (SHA-NI: about as fast as OpenSSL, several times a portable loop) without linking libcrypto,
// whose start-up and size neither program should pay for; a portable loop where the CPU lacks them.
#pragma once
#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint32_t state[8];
  uint64_t length;      // bytes hashed so far
  uint8_t pending[64];  // a partial block
  size_t pending_count;
} csha256_context;

void csha256_init(csha256_context *context);
void csha256_update(csha256_context *context, const void *data, size_t count);
/// Writes the 32-byte digest; the context must be initialised again before reuse.
void csha256_final(csha256_context *context, uint8_t out[32]);
/// The digest of one buffer.
void csha256(const void *data, size_t count, uint8_t out[32]);
/// 1 when blocks are compressed with the SHA extensions, 0 with the portable loop.
int csha256_accelerated(void);
/// For tests: 1 forces the portable loop, 0 lets the CPU decide.
void csha256_force_portable(int portable);
