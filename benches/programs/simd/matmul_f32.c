/*
 * matmul_f32: dense f32 matrix multiplication and an i16 dot-product pass,
 * written as plain C loops for clang's autovectorizer (-O3 -msimd128:
 * f32x4.mul/add over rows, i32x4.extmul/add for the integer dot products).
 *
 * C = A * B for N x N matrices (i-k-j order, row-major): each c[i][j] is
 * summed over k in the same order whether the j loop runs in lanes or not,
 * and the entries are small integers, so every sum is exact and the result
 * is bit-identical on every IEEE 754 target, vectorized or not.
 *
 * argv[1]: N (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 800

static uint32_t seed = 12345u;

static uint32_t lcg(void) {
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static void matmul(int n, const float *restrict a, const float *restrict b, float *restrict c) {
    memset(c, 0, sizeof(float) * (size_t)n * (size_t)n);
    for (int i = 0; i < n; i++) {
        float *restrict ci = c + (size_t)i * n;
        for (int k = 0; k < n; k++) {
            float aik = a[(size_t)i * n + k];
            const float *restrict bk = b + (size_t)k * n;
            for (int j = 0; j < n; j++) ci[j] += aik * bk[j];
        }
    }
}

/* Row-by-row dot products of 16-bit vectors into 32-bit sums. */
static uint32_t dots_i16(int n, const int16_t *restrict a, const int16_t *restrict b) {
    uint32_t h = 0;
    for (int i = 0; i < n; i++) {
        const int16_t *ai = a + (size_t)i * n;
        const int16_t *bi = b + (size_t)((i * 7) % n) * n;
        int32_t s = 0;
        for (int k = 0; k < n; k++) s += (int32_t)ai[k] * (int32_t)bi[k];
        h = h * 31u + (uint32_t)s;
    }
    return h;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : DEFAULT_SIZE;
    if (n < 1) n = 1;
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof(float));
    float *b = malloc(nn * sizeof(float));
    float *c = malloc(nn * sizeof(float));
    int16_t *p = malloc(nn * sizeof(int16_t));
    int16_t *q = malloc(nn * sizeof(int16_t));
    if (!a || !b || !c || !p || !q) return 1;
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)((int)(lcg() % 17) - 8);
        b[i] = (float)((int)(lcg() % 13) - 6);
        p[i] = (int16_t)(lcg() & 0xffff);
        q[i] = (int16_t)(lcg() & 0xffff);
    }
    uint64_t sum = 0;
    for (int rep = 0; rep < 2; rep++) {
        matmul(n, a, b, c);
        for (size_t i = 0; i < nn; i++) sum = sum * 1000003u + (uint64_t)(int64_t)c[i];
        /* feed back: b = c scaled down to keep the values small and exact */
        for (size_t i = 0; i < nn; i++) b[i] = (float)((int)c[i] % 7);
    }
    for (int rep = 0; rep < 8; rep++) {
        sum = sum * 31u + dots_i16(n, p, q);
        p[rep % nn] ^= (int16_t)rep;
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    free(a); free(b); free(c); free(p); free(q);
    return 0;
}
