/*
 * hash_lanes: a multi-lane hash of a byte buffer, written for clang's
 * autovectorizer (-O3 -msimd128): the buffer is read as 32-bit words, each
 * of 16 independent lanes is mixed with multiply / xor / rotate (the shape of
 * xxHash's and MurmurHash3's inner loops), and the lanes are folded at the
 * end. Then a per-word mixing pass over a u32 array (map + reduce).
 *
 * All arithmetic is in uint32_t (wrapping), so the result is exact on every
 * target.
 *
 * argv[1]: megabytes hashed (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 512
#define LANES 16
#define BUF_WORDS (1u << 16) /* 256 KiB, hashed again and again */

static const uint32_t P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u;

static inline uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }

static void hash_block(uint32_t *restrict acc, const uint32_t *restrict w, size_t words) {
    for (size_t i = 0; i + LANES <= words; i += LANES) {
        for (int l = 0; l < LANES; l++) {
            uint32_t v = acc[l] + w[i + l] * P2;
            acc[l] = rotl(v, 13) * P1;
        }
    }
}

static uint64_t mix_pass(uint32_t *restrict out, const uint32_t *restrict in, size_t n, uint32_t salt) {
    for (size_t i = 0; i < n; i++) {
        uint32_t x = in[i] ^ salt;
        x ^= x >> 15;
        x *= P2;
        x ^= x >> 13;
        x *= P3;
        x ^= x >> 16;
        out[i] = x;
    }
    uint32_t s = 0, t = 0;
    for (size_t i = 0; i < n; i++) {
        s += out[i];
        t ^= out[i];
    }
    return ((uint64_t)s << 32) | t;
}

int main(int argc, char **argv) {
    long mb = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    if (mb < 1) mb = 1;
    uint32_t *buf = malloc(BUF_WORDS * sizeof(uint32_t));
    uint32_t *out = malloc(BUF_WORDS * sizeof(uint32_t));
    if (!buf || !out) return 1;
    uint32_t x = 0x9e3779b9u;
    for (size_t i = 0; i < BUF_WORDS; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        buf[i] = x;
    }
    uint32_t acc[LANES];
    for (int l = 0; l < LANES; l++) acc[l] = P1 * (uint32_t)(l + 1);
    long rounds = mb * 4; /* 256 KiB per round */
    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++) {
        hash_block(acc, buf, BUF_WORDS);
        buf[r % BUF_WORDS] ^= acc[r % LANES];
        if (r % 4 == 0) sum = sum * 31u + mix_pass(out, buf, BUF_WORDS, (uint32_t)r);
    }
    uint32_t h = 0;
    for (int l = 0; l < LANES; l++) h = rotl(h, 7) ^ acc[l];
    sum = sum * 1000003u + h;
    printf("checksum: %llu\n", (unsigned long long)sum);
    free(buf); free(out);
    return 0;
}
