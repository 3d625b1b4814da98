// SHA-256: a portable block function and, on x86-64 CPUs that have them, one using the SHA extensions
// (SHA256RNDS2, SHA256MSG1/2), chosen once by CPUID. The SHA-NI rounds follow Intel's published scheme
// (state kept as ABEF/CDGH, four rounds per message register); written here as a loop over 16 groups of
// four rounds that the compiler unrolls.
#include "csha256.h"

#include <string.h>

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
static inline uint32_t load_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void blocks_portable(uint32_t state[8], const uint8_t *data, size_t blocks) {
  for (; blocks > 0; blocks--, data += 64) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = load_be32(data + 4 * i);
    for (int i = 16; i < 64; i++) {
      uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
      uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
      uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    state[0] += a, state[1] += b, state[2] += c, state[3] += d;
    state[4] += e, state[5] += f, state[6] += g, state[7] += h;
  }
}

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1,ssse3"))) static void blocks_shani(uint32_t state[8], const uint8_t *data,
                                                                      size_t blocks) {
  const __m128i byteswap = _mm_set_epi64x(0x0c0d0e0f08090a0bLL, 0x0405060700010203LL);
  // The instructions keep the state as (A, B, E, F) and (C, D, G, H).
  __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1);  // C D A B
  __m128i cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B);  // E F G H
  __m128i abef = _mm_alignr_epi8(tmp, cdgh, 8);
  cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);
  for (; blocks > 0; blocks--, data += 64) {
    const __m128i abef_saved = abef, cdgh_saved = cdgh;
    __m128i m[4];
#pragma clang loop unroll(full)
    for (int j = 0; j < 16; j++) {
      if (j < 4) m[j] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * j)), byteswap);
      __m128i w = _mm_add_epi32(m[j & 3], _mm_loadu_si128((const __m128i *)&K[4 * j]));
      cdgh = _mm_sha256rnds2_epu32(cdgh, abef, w);
      if (j >= 3 && j < 15) {  // the schedule's next four words, from the last two registers
        __m128i next = _mm_add_epi32(m[(j + 1) & 3], _mm_alignr_epi8(m[j & 3], m[(j - 1) & 3], 4));
        m[(j + 1) & 3] = _mm_sha256msg2_epu32(next, m[j & 3]);
      }
      abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(w, 0x0E));
      if (j >= 1 && j < 13) m[(j - 1) & 3] = _mm_sha256msg1_epu32(m[(j - 1) & 3], m[j & 3]);
    }
    abef = _mm_add_epi32(abef, abef_saved);
    cdgh = _mm_add_epi32(cdgh, cdgh_saved);
  }
  tmp = _mm_shuffle_epi32(abef, 0x1B);                                       // F E B A
  cdgh = _mm_shuffle_epi32(cdgh, 0xB1);                                      // D C H G
  _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, cdgh, 0xF0));  // D C B A
  _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(cdgh, tmp, 8));     // H G F E
}

static int cpu_has_sha(void) {
  unsigned int a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(b & (1u << 29))) return 0;  // SHA
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  return (c & (1u << 19)) && (c & (1u << 9));  // SSE4.1, SSSE3
}
#else
static int cpu_has_sha(void) { return 0; }
#endif

// -1: not yet asked. Threads asking at once all compute the same answer; the accesses are atomic so that
// none reads a torn or stale value.
static int accelerated = -1;
static int forced_portable = 0;

int csha256_accelerated(void) {
  if (__atomic_load_n(&forced_portable, __ATOMIC_RELAXED)) return 0;
  int known = __atomic_load_n(&accelerated, __ATOMIC_RELAXED);
  if (known < 0) {
    known = cpu_has_sha();
    __atomic_store_n(&accelerated, known, __ATOMIC_RELAXED);
  }
  return known;
}

void csha256_force_portable(int portable) { __atomic_store_n(&forced_portable, portable, __ATOMIC_RELAXED); }

static void blocks(uint32_t state[8], const uint8_t *data, size_t count) {
#if defined(__x86_64__)
  if (csha256_accelerated()) {
    blocks_shani(state, data, count);
    return;
  }
#endif
  blocks_portable(state, data, count);
}

void csha256_init(csha256_context *context) {
  static const uint32_t initial[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  memcpy(context->state, initial, sizeof initial);
  context->length = 0;
  context->pending_count = 0;
}

void csha256_update(csha256_context *context, const void *data, size_t count) {
  if (count == 0) return;
  const uint8_t *p = data;
  context->length += count;
  if (context->pending_count > 0) {
    size_t take = 64 - context->pending_count < count ? 64 - context->pending_count : count;
    memcpy(context->pending + context->pending_count, p, take);
    context->pending_count += take;
    p += take;
    count -= take;
    if (context->pending_count < 64) return;
    blocks(context->state, context->pending, 1);
    context->pending_count = 0;
  }
  if (count >= 64) {
    blocks(context->state, p, count / 64);
    p += count / 64 * 64;
    count %= 64;
  }
  memcpy(context->pending, p, count);
  context->pending_count = count;
}

void csha256_final(csha256_context *context, uint8_t out[32]) {
  uint64_t bits = context->length * 8;
  uint8_t tail[128] = {0};
  size_t n = context->pending_count;
  memcpy(tail, context->pending, n);
  tail[n] = 0x80;
  size_t total = n + 1 + 8 <= 64 ? 64 : 128;
  for (int i = 0; i < 8; i++) tail[total - 1 - i] = (uint8_t)(bits >> (8 * i));
  blocks(context->state, tail, total / 64);
  for (int i = 0; i < 8; i++) {
    out[4 * i] = (uint8_t)(context->state[i] >> 24);
    out[4 * i + 1] = (uint8_t)(context->state[i] >> 16);
    out[4 * i + 2] = (uint8_t)(context->state[i] >> 8);
    out[4 * i + 3] = (uint8_t)context->state[i];
  }
}

void csha256(const void *data, size_t count, uint8_t out[32]) {
  csha256_context context;
  csha256_init(&context);
  csha256_update(&context, data, count);
  csha256_final(&context, out);
}
