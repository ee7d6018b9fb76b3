/*
 * matmul: dense matrix multiplication, f64 and i32.
 *
 * C = A * B for N x N matrices in f64 (i-k-j loop order, row-major), then
 * the same with 32-bit integer matrices (wrapping arithmetic done in
 * uint32_t, so no signed overflow).  Matrix entries of the f64 matrices are
 * small multiples of 1/8, so every product is exact and each sum is formed
 * in a fixed order: the result is bit-identical on every IEEE 754 target.
 *
 * argv[1]: N (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 1400

static uint32_t seed = 12345u;

static uint32_t lcg(void) {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static void matmul_f64(int n, const double *a, const double *b, double *c) {
    memset(c, 0, sizeof(double) * (size_t)n * (size_t)n);
    for (int i = 0; i < n; i++) {
        double *ci = c + (size_t)i * n;
        for (int k = 0; k < n; k++) {
            double aik = a[(size_t)i * n + k];
            const double *bk = b + (size_t)k * n;
            for (int j = 0; j < n; j++) ci[j] += aik * bk[j];
        }
    }
}

static void matmul_u32(int n, const uint32_t *a, const uint32_t *b, uint32_t *c) {
    memset(c, 0, sizeof(uint32_t) * (size_t)n * (size_t)n);
    for (int i = 0; i < n; i++) {
        uint32_t *ci = c + (size_t)i * n;
        for (int k = 0; k < n; k++) {
            uint32_t aik = a[(size_t)i * n + k];
            const uint32_t *bk = b + (size_t)k * n;
            for (int j = 0; j < n; j++) ci[j] += aik * bk[j];
        }
    }
}

/* transpose-based variant: dot products of rows (different memory pattern) */
static uint32_t trace_product_u32(int n, const uint32_t *a, const uint32_t *bt) {
    uint32_t tr = 0;
    for (int i = 0; i < n; i++) {
        const uint32_t *ai = a + (size_t)i * n;
        const uint32_t *bi = bt + (size_t)i * n;
        uint32_t s = 0;
        for (int k = 0; k < n; k++) s += ai[k] * bi[k];
        tr = tr * 7u + s;
    }
    return tr;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : DEFAULT_SIZE;
    if (n < 1) n = 1;
    size_t nn = (size_t)n * (size_t)n;
    double *a = malloc(nn * sizeof(double));
    double *b = malloc(nn * sizeof(double));
    double *c = malloc(nn * sizeof(double));
    uint32_t *ia = malloc(nn * sizeof(uint32_t));
    uint32_t *ib = malloc(nn * sizeof(uint32_t));
    uint32_t *ic = malloc(nn * sizeof(uint32_t));
    if (!a || !b || !c || !ia || !ib || !ic) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (double)((int)(lcg() % 33) - 16) / 8.0;
        b[i] = (double)((int)(lcg() % 33) - 16) / 8.0;
        ia[i] = lcg();
        ib[i] = lcg();
    }

    matmul_f64(n, a, b, c);
    uint64_t sum = 0;
    for (size_t i = 0; i < nn; i++) {
        /* c is a multiple of 1/64 with |c| < 2^20: exact as an integer */
        int64_t v = (int64_t)(c[i] * 64.0);
        sum = sum * 1000003u + (uint64_t)v;
    }

    matmul_u32(n, ia, ib, ic);
    for (size_t i = 0; i < nn; i++) sum = sum * 1000003u + ic[i];

    sum ^= trace_product_u32(n, ic, ia);

    printf("checksum: %llu\n", (unsigned long long)sum);
    free(a); free(b); free(c);
    free(ia); free(ib); free(ic);
    return 0;
}
