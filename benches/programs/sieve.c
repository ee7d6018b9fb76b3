/*
 * sieve: prime sieve of Eratosthenes.
 *
 * Phase 1 is a plain byte sieve up to sqrt(N) that yields the base primes.
 * Phase 2 is a segmented, odd-only sieve over [0, N) with 32 KiB segments
 * (cache-sized, so the benchmark measures loops and stores rather than
 * DRAM), counting the primes and summing them.  Phase 3 re-sieves a
 * smaller range with a plain bit-array sieve to cross-check the count.
 *
 * argv[1]: N, the upper bound (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 1000000000
#define SEGMENT 32768

static uint32_t isqrt64(uint64_t n) {
    uint64_t r = 0;
    uint64_t bit = 1ull << 62;
    while (bit > n) bit >>= 2;
    while (bit) {
        if (n >= r + bit) {
            n -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return (uint32_t)r;
}

/* base primes up to limit (inclusive) */
static uint32_t *small_primes(uint32_t limit, uint32_t *count) {
    uint8_t *is = malloc((size_t)limit + 1);
    memset(is, 1, (size_t)limit + 1);
    is[0] = 0;
    if (limit >= 1) is[1] = 0;
    for (uint32_t i = 2; (uint64_t)i * i <= limit; i++)
        if (is[i])
            for (uint32_t j = i * i; j <= limit; j += i) is[j] = 0;
    uint32_t c = 0;
    for (uint32_t i = 2; i <= limit; i++) c += is[i];
    uint32_t *p = malloc(sizeof(uint32_t) * (c + 1));
    c = 0;
    for (uint32_t i = 2; i <= limit; i++)
        if (is[i]) p[c++] = i;
    free(is);
    *count = c;
    return p;
}

/* count and sum primes < n with an odd-only segmented sieve */
static void segmented(uint64_t n, uint64_t *count_out, uint64_t *sum_out) {
    uint64_t count = 0, sum = 0;
    if (n > 2) {
        count = 1;
        sum = 2;
    }
    uint32_t nb;
    uint32_t *base = small_primes(isqrt64(n) + 1, &nb);
    /* next odd multiple to strike for each odd base prime (index into odds) */
    uint64_t *next = malloc(sizeof(uint64_t) * (nb + 1));
    for (uint32_t i = 0; i < nb; i++) {
        uint64_t p = base[i];
        next[i] = (p * p) / 2; /* index of p*p in the odd numbers 1,3,5,... */
    }
    uint8_t *seg = malloc(SEGMENT); /* heap: wasm's shadow stack is only 64 KiB */
    uint64_t odds = n / 2; /* odd numbers below n: 1, 3, ..., indices 0..odds-1 */
    for (uint64_t lo = 0; lo < odds; lo += SEGMENT) {
        uint64_t hi = lo + SEGMENT < odds ? lo + SEGMENT : odds;
        uint32_t len = (uint32_t)(hi - lo);
        memset(seg, 1, len);
        for (uint32_t i = 1; i < nb; i++) { /* skip p = 2 */
            uint64_t p = base[i];
            uint64_t j = next[i];
            if (j >= hi) continue;
            for (; j < hi; j += p) seg[j - lo] = 0;
            next[i] = j;
        }
        if (lo == 0) seg[0] = 0; /* 1 is not prime */
        for (uint32_t k = 0; k < len; k++) {
            if (seg[k]) {
                count++;
                sum += 2 * (lo + k) + 1;
            }
        }
    }
    free(seg);
    free(next);
    free(base);
    *count_out = count;
    *sum_out = sum;
}

/* plain bit sieve for cross-checking on a smaller range */
static uint64_t bit_sieve_count(uint32_t n) {
    uint32_t words = n / 32 + 1;
    uint32_t *bits = calloc(words, sizeof(uint32_t)); /* 1 = composite */
    bits[0] |= 3u;                                    /* 0 and 1 */
    for (uint32_t i = 2; (uint64_t)i * i < n; i++)
        if (!(bits[i >> 5] & (1u << (i & 31))))
            for (uint32_t j = i * i; j < n; j += i) bits[j >> 5] |= 1u << (j & 31);
    uint64_t c = 0;
    for (uint32_t i = 0; i < n; i++) c += !(bits[i >> 5] & (1u << (i & 31)));
    free(bits);
    return c;
}

int main(int argc, char **argv) {
    uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : DEFAULT_SIZE;
    if (n < 2) n = 2;
    uint64_t count, sum;
    segmented(n, &count, &sum);
    uint32_t small = n < 4000000 ? (uint32_t)n : 4000000u;
    uint64_t c2, s2;
    segmented(small, &c2, &s2);
    if (bit_sieve_count(small) != c2) {
        fprintf(stderr, "cross-check failed\n");
        return 1;
    }
    uint64_t checksum = count * 1000000007ull ^ sum;
    printf("checksum: %llu\n", (unsigned long long)checksum);
    return 0;
}
