/*
 * editdist: dynamic programming over generated strings. Levenshtein
 * distance (two-row), longest common subsequence length with a full table
 * and a traceback that rebuilds one LCS, and a 0/1 knapsack over items
 * derived from the strings.
 *
 * argv[1]: string length (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 2300

static uint32_t s = 2463534242u;
static uint32_t next(void) { s ^= s << 13; s ^= s >> 17; s ^= s << 5; return s; }

static uint32_t levenshtein(const char *a, int n, const char *b, int m, uint32_t *row0, uint32_t *row1) {
    for (int j = 0; j <= m; j++) row0[j] = (uint32_t)j;
    for (int i = 1; i <= n; i++) {
        row1[0] = (uint32_t)i;
        for (int j = 1; j <= m; j++) {
            uint32_t del = row0[j] + 1, ins = row1[j - 1] + 1, sub = row0[j - 1] + (a[i - 1] != b[j - 1]);
            uint32_t v = del < ins ? del : ins;
            row1[j] = v < sub ? v : sub;
        }
        uint32_t *t = row0; row0 = row1; row1 = t;
    }
    return row0[m];
}

static uint64_t lcs(const char *a, int n, const char *b, int m, uint16_t *tab, char *outbuf) {
    int w = m + 1;
    for (int j = 0; j <= m; j++) tab[j] = 0;
    for (int i = 1; i <= n; i++) {
        tab[i * w] = 0;
        for (int j = 1; j <= m; j++) {
            uint16_t v;
            if (a[i - 1] == b[j - 1]) v = (uint16_t)(tab[(i - 1) * w + j - 1] + 1);
            else {
                uint16_t u = tab[(i - 1) * w + j], l = tab[i * w + j - 1];
                v = u > l ? u : l;
            }
            tab[i * w + j] = v;
        }
    }
    int len = tab[n * w + m], k = len, i = n, j = m;
    while (i > 0 && j > 0) {
        if (a[i - 1] == b[j - 1]) { outbuf[--k] = a[i - 1]; i--; j--; }
        else if (tab[(i - 1) * w + j] >= tab[i * w + j - 1]) i--;
        else j--;
    }
    uint64_t h = (uint64_t)len;
    for (int q = 0; q < len; q++) h = h * 131 + (uint8_t)outbuf[q];
    return h;
}

static uint64_t knapsack(const char *a, int n, uint32_t cap, uint32_t *best) {
    for (uint32_t c = 0; c <= cap; c++) best[c] = 0;
    for (int i = 0; i + 1 < n; i += 2) {
        uint32_t wgt = (uint32_t)(a[i] - 'a') * 3 + 1, val = (uint32_t)(a[i + 1] - 'a') * 5 + (uint32_t)i % 7;
        for (uint32_t c = cap; c >= wgt; c--) {
            uint32_t v = best[c - wgt] + val;
            if (v > best[c]) best[c] = v;
        }
    }
    return best[cap];
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : DEFAULT_SIZE;
    char *a = malloc((size_t)n + 1), *b = malloc((size_t)n + 1), *buf = malloc((size_t)n + 1);
    uint32_t *r0 = malloc(((size_t)n + 1) * 4), *r1 = malloc(((size_t)n + 1) * 4);
    uint16_t *tab = malloc(((size_t)n + 1) * ((size_t)n + 1) * 2);
    uint32_t cap = (uint32_t)n * 4;
    uint32_t *best = malloc(((size_t)cap + 1) * 4);
    uint64_t sum = 0;
    for (int round = 0; round < 3; round++) {
        int alpha = 4 + round * 8;
        for (int i = 0; i < n; i++) a[i] = (char)('a' + next() % (uint32_t)alpha);
        /* b is a mutated copy of a */
        for (int i = 0; i < n; i++) b[i] = next() % 5 == 0 ? (char)('a' + next() % (uint32_t)alpha) : a[(i + round) % n];
        a[n] = b[n] = 0;
        sum = sum * 31 + levenshtein(a, n, b, n, r0, r1);
        sum = sum * 31 + lcs(a, n, b, n, tab, buf);
        sum = sum * 31 + knapsack(a, n, cap, best);
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
