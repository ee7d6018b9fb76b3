/*
 * hash: several hash functions over generated data.
 *
 * A 1 MiB buffer is filled from a PRNG and then hashed repeatedly with
 *   - FNV-1a 64-bit (byte at a time, multiply-heavy dependency chain),
 *   - a 64-bit multiply/rotate block hash (4 independent lanes),
 *   - SHA-256 (32-bit rotates, message schedule, 64 rounds per block).
 * Between rounds a few bytes of the buffer are changed, so no round can be
 * skipped.  Everything is integer arithmetic.
 *
 * argv[1]: number of rounds over the buffer (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 200
#define BUF_SIZE (1u << 20)

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static inline uint32_t rotr32(uint32_t x, int r) { return (x >> r) | (x << (32 - r)); }

static inline uint64_t load64le(const uint8_t *p) {
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
           (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
           (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
}

static inline uint32_t load32be(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* A simple 4-lane multiply-rotate hash (our own design, not a standard). */
static uint64_t lanes_hash(const uint8_t *p, size_t n, uint64_t seed) {
    const uint64_t K1 = 0x9E3779B185EBCA87ull, K2 = 0xC2B2AE3D27D4EB4Full;
    uint64_t a = seed + K1, b = seed ^ K2, c = seed * 3 + 1, d = ~seed;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        a = rotl64(a + load64le(p + i) * K2, 31) * K1;
        b = rotl64(b + load64le(p + i + 8) * K2, 29) * K1;
        c = rotl64(c + load64le(p + i + 16) * K2, 27) * K1;
        d = rotl64(d + load64le(p + i + 24) * K2, 33) * K1;
    }
    uint64_t h = rotl64(a, 1) + rotl64(b, 7) + rotl64(c, 12) + rotl64(d, 18);
    for (; i < n; i++) h = rotl64(h ^ (p[i] * K1), 11) * K2;
    h ^= n;
    h ^= h >> 33;
    h *= K2;
    h ^= h >> 29;
    h *= K1;
    h ^= h >> 32;
    return h;
}

/* ---- SHA-256 ---- */
static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static void sha256_block(uint32_t st[8], const uint8_t *blk) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) w[i] = load32be(blk + 4 * i);
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr32(w[i - 15], 7) ^ rotr32(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr32(w[i - 2], 17) ^ rotr32(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
    uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
    for (int i = 0; i < 64; i++) {
        uint32_t S1 = rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = h + S1 + ch + sha_k[i] + w[i];
        uint32_t S0 = rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22);
        uint32_t mj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + mj;
        h = g; g = f; f = e; e = d + t1;
        d = c; c = b; b = a; a = t1 + t2;
    }
    st[0] += a; st[1] += b; st[2] += c; st[3] += d;
    st[4] += e; st[5] += f; st[6] += g; st[7] += h;
}

static void sha256(const uint8_t *p, size_t n, uint8_t out[32]) {
    uint32_t st[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= n; i += 64) sha256_block(st, p + i);
    uint8_t tail[128];
    size_t rem = n - i;
    memset(tail, 0, sizeof tail);
    memcpy(tail, p + i, rem);
    tail[rem] = 0x80;
    size_t tlen = rem + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)n * 8;
    for (int k = 0; k < 8; k++) tail[tlen - 1 - k] = (uint8_t)(bits >> (8 * k));
    for (size_t off = 0; off < tlen; off += 64) sha256_block(st, tail + off);
    for (int k = 0; k < 8; k++) {
        out[4 * k] = (uint8_t)(st[k] >> 24);
        out[4 * k + 1] = (uint8_t)(st[k] >> 16);
        out[4 * k + 2] = (uint8_t)(st[k] >> 8);
        out[4 * k + 3] = (uint8_t)st[k];
    }
}

static int self_test(void) {
    /* SHA-256("abc") */
    static const uint8_t want[32] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t got[32];
    sha256((const uint8_t *)"abc", 3, got);
    return memcmp(got, want, 32) == 0;
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    if (!self_test()) {
        fprintf(stderr, "sha256 self-test failed\n");
        return 1;
    }
    uint8_t *buf = malloc(BUF_SIZE);
    if (!buf) return 1;
    uint64_t x = 0x0123456789ABCDEFull;
    for (size_t i = 0; i < BUF_SIZE; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = (uint8_t)(x >> 56);
    }

    uint64_t sum = 0;
    uint8_t digest[32];
    for (long r = 0; r < rounds; r++) {
        /* different lengths exercise the tail paths */
        size_t len = BUF_SIZE - (size_t)(r % 61);
        sum = sum * 0x100000001b3ull ^ fnv1a64(buf, len);
        sum = sum * 0x100000001b3ull ^ lanes_hash(buf, len, (uint64_t)r);
        sha256(buf, len, digest);
        sum = sum * 0x100000001b3ull ^ load64le(digest) ^ load64le(digest + 24);
        /* perturb the buffer so the next round differs */
        buf[(sum >> 7) % BUF_SIZE] ^= (uint8_t)(sum | 1);
        buf[r % BUF_SIZE] += 1;
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    free(buf);
    return 0;
}
