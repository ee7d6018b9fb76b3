/*
 * sorts: sorting variants on the same data, each checked against the
 * others: LSD radix sort (8-bit digits, 64-bit keys), top-down merge sort
 * with a scratch buffer, heap sort, and a three-way-partition quicksort on
 * records (key, payload) with many equal keys.
 *
 * argv[1]: number of elements (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 220000

static uint64_t rng = 0x2545F4914F6CDD1Dull;
static uint64_t next(void) {
    rng ^= rng >> 12; rng ^= rng << 25; rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

static void radix(uint64_t *a, uint64_t *tmp, size_t n) {
    for (int shift = 0; shift < 64; shift += 8) {
        size_t cnt[257] = {0};
        for (size_t i = 0; i < n; i++) cnt[((a[i] >> shift) & 255) + 1]++;
        for (int d = 0; d < 256; d++) cnt[d + 1] += cnt[d];
        for (size_t i = 0; i < n; i++) tmp[cnt[(a[i] >> shift) & 255]++] = a[i];
        memcpy(a, tmp, n * sizeof *a);
    }
}

static void merge_rec(uint64_t *a, uint64_t *tmp, size_t lo, size_t hi) {
    if (hi - lo < 2) return;
    size_t mid = lo + (hi - lo) / 2;
    merge_rec(a, tmp, lo, mid);
    merge_rec(a, tmp, mid, hi);
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi) tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < mid) tmp[k++] = a[i++];
    while (j < hi) tmp[k++] = a[j++];
    memcpy(a + lo, tmp + lo, (hi - lo) * sizeof *a);
}

static void sift(uint64_t *a, size_t i, size_t n) {
    uint64_t v = a[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && a[c + 1] > a[c]) c++;
        if (a[c] <= v) break;
        a[i] = a[c];
        i = c;
    }
    a[i] = v;
}
static void heapsort_(uint64_t *a, size_t n) {
    for (size_t i = n / 2; i-- > 0;) sift(a, i, n);
    for (size_t e = n; e-- > 1;) {
        uint64_t t = a[0]; a[0] = a[e]; a[e] = t;
        sift(a, 0, e);
    }
}

typedef struct { uint32_t key; uint32_t payload; } rec_t;
static void qsort3(rec_t *r, long lo, long hi) {
    while (hi - lo > 16) {
        uint32_t p = r[lo + (hi - lo) / 2].key;
        long lt = lo, gt = hi, i = lo;
        while (i <= gt) {
            if (r[i].key < p) { rec_t t = r[i]; r[i] = r[lt]; r[lt] = t; lt++; i++; }
            else if (r[i].key > p) { rec_t t = r[i]; r[i] = r[gt]; r[gt] = t; gt--; }
            else i++;
        }
        if (lt - lo < hi - gt) { qsort3(r, lo, lt - 1); lo = gt + 1; }
        else { qsort3(r, gt + 1, hi); hi = lt - 1; }
    }
    for (long i = lo + 1; i <= hi; i++) {
        rec_t v = r[i];
        long j = i - 1;
        while (j >= lo && r[j].key > v.key) { r[j + 1] = r[j]; j--; }
        r[j + 1] = v;
    }
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? (size_t)atol(argv[1]) : DEFAULT_SIZE;
    uint64_t *a = malloc(n * 8), *b = malloc(n * 8), *c = malloc(n * 8), *tmp = malloc(n * 8);
    rec_t *r = malloc(n * sizeof *r);
    uint64_t sum = 0;
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < n; i++) {
            uint64_t v = next();
            if (round == 1) v >>= 40; /* many duplicates */
            a[i] = b[i] = c[i] = v;
            r[i].key = (uint32_t)(v % (n / 8 + 1));
            r[i].payload = (uint32_t)i;
        }
        radix(a, tmp, n);
        merge_rec(b, tmp, 0, n);
        heapsort_(c, n);
        qsort3(r, 0, (long)n - 1);
        for (size_t i = 0; i < n; i++) {
            if (a[i] != b[i] || b[i] != c[i] || (i && r[i - 1].key > r[i].key)) {
                printf("checksum: unsorted\n");
                return 1;
            }
        }
        for (size_t i = 0; i < n; i += 97) sum = sum * 31 + a[i] + r[i].key;
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
