/*
 * sort: quicksort and mergesort of pseudo-random 32-bit integers.
 *
 * The same random array is sorted with a hand-written introspective-style
 * quicksort (median-of-three, insertion sort for short ranges, recursion on
 * the smaller half only so the stack stays shallow) and with a bottom-up
 * mergesort using a scratch buffer.  Both results are verified to be
 * sorted and identical.  Several rounds with different value ranges are
 * done (many duplicates / few duplicates).
 *
 * argv[1]: number of elements (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 3000000

static uint64_t prng = 88172645463325252ull;

static uint32_t next_u32(void) {
    prng ^= prng << 13;
    prng ^= prng >> 7;
    prng ^= prng << 17;
    return (uint32_t)(prng >> 16);
}

static void insertion_sort(int32_t *a, long lo, long hi) {
    for (long i = lo + 1; i <= hi; i++) {
        int32_t v = a[i];
        long j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static inline void swap32(int32_t *a, long i, long j) {
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

/* the two ends of a partition, returned by value: with the multi-value ABI
 * (features build) partition() has two wasm results */
typedef struct {
    long i, j;
} split_t;

__attribute__((noinline)) static split_t partition(int32_t *a, long lo, long hi) {
    long mid = lo + (hi - lo) / 2;
    /* median of three into a[mid] */
    if (a[mid] < a[lo]) swap32(a, mid, lo);
    if (a[hi] < a[lo]) swap32(a, hi, lo);
    if (a[hi] < a[mid]) swap32(a, hi, mid);
    int32_t pivot = a[mid];
    long i = lo, j = hi;
    while (i <= j) {
        while (a[i] < pivot) i++;
        while (a[j] > pivot) j--;
        if (i <= j) {
            swap32(a, i, j);
            i++;
            j--;
        }
    }
    split_t s = {i, j};
    return s;
}

static void quick_sort(int32_t *a, long lo, long hi) {
    while (hi - lo > 16) {
        split_t s = partition(a, lo, hi);
        long i = s.i, j = s.j;
        /* recurse into the smaller part, loop on the larger */
        if (j - lo < hi - i) {
            if (lo < j) quick_sort(a, lo, j);
            lo = i;
        } else {
            if (i < hi) quick_sort(a, i, hi);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

static void merge_sort(int32_t *a, int32_t *tmp, long n) {
    /* sort runs of 8 by insertion first */
    const long RUN = 8;
    for (long s = 0; s < n; s += RUN) {
        long e = s + RUN - 1 < n - 1 ? s + RUN - 1 : n - 1;
        insertion_sort(a, s, e);
    }
    int32_t *src = a, *dst = tmp;
    for (long width = RUN; width < n; width *= 2) {
        for (long lo = 0; lo < n; lo += 2 * width) {
            long mid = lo + width < n ? lo + width : n;
            long hi = lo + 2 * width < n ? lo + 2 * width : n;
            long i = lo, j = mid, k = lo;
            while (i < mid && j < hi) dst[k++] = src[i] <= src[j] ? src[i++] : src[j++];
            while (i < mid) dst[k++] = src[i++];
            while (j < hi) dst[k++] = src[j++];
        }
        int32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a) memcpy(a, src, sizeof(int32_t) * (size_t)n);
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    if (n < 1) n = 1;
    int32_t *orig = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *q = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *m = malloc(sizeof(int32_t) * (size_t)n);
    int32_t *tmp = malloc(sizeof(int32_t) * (size_t)n);
    if (!orig || !q || !m || !tmp) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    uint64_t sum = 0;
    static const uint32_t ranges[3] = {0xFFFFFFFFu, 1000000u, 100u};
    for (int round = 0; round < 3; round++) {
        for (long i = 0; i < n; i++) {
            uint32_t v = next_u32();
            if (ranges[round] != 0xFFFFFFFFu) v %= ranges[round];
            orig[i] = (int32_t)v;
        }
        memcpy(q, orig, sizeof(int32_t) * (size_t)n);
        memcpy(m, orig, sizeof(int32_t) * (size_t)n);
        quick_sort(q, 0, n - 1);
        merge_sort(m, tmp, n);
        for (long i = 0; i < n; i++) {
            if (q[i] != m[i] || (i > 0 && q[i - 1] > q[i])) {
                fprintf(stderr, "sort mismatch at %ld\n", i);
                return 1;
            }
        }
        for (long i = 0; i < n; i += 1 + (i & 7))
            sum = sum * 1099511628211ull + (uint32_t)q[i] + (uint64_t)i;
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    free(orig); free(q); free(m); free(tmp);
    return 0;
}
