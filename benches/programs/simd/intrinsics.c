/*
 * intrinsics: kernels written with <wasm_simd128.h> intrinsics (the way
 * hand-tuned libraries such as simdjson, meshoptimizer or hex-simd use wasm
 * SIMD), each with a scalar twin that computes the same bits:
 *
 *  - hex encoding: nibbles looked up with i8x16.swizzle and interleaved with
 *    i8x16.shuffle;
 *  - byte counting: i8x16.eq, i8x16.bitmask and popcount;
 *  - motion search: sum of absolute differences of 16x16 blocks
 *    (u8x16 saturating subtractions, extadd_pairwise, i32x4 sums);
 *  - a clamped saxpy in f32x4 (mul, add, pmin/pmax) on integer-valued floats
 *    (exact in every lane order).
 *
 * The wasm build (-msimd128) uses the intrinsics; the native build (used for
 * the expected checksum) the scalar twins.
 *
 * argv[1]: rounds (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __wasm_simd128__
#include <wasm_simd128.h>
#endif

#define DEFAULT_SIZE 600
#define N (1 << 16)   /* bytes per buffer */
#define FW 256        /* motion-search frame width */
#define FH 128

static const char HEX[16] = "0123456789abcdef";

static void hex_encode(char *restrict out, const uint8_t *restrict in, size_t n) {
#ifdef __wasm_simd128__
    const v128_t table = wasm_v128_load(HEX);
    const v128_t low = wasm_i8x16_splat(0x0f);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        v128_t v = wasm_v128_load(in + i);
        v128_t hi = wasm_u8x16_shr(v, 4);
        v128_t lo = wasm_v128_and(v, low);
        v128_t h = wasm_i8x16_swizzle(table, hi);
        v128_t l = wasm_i8x16_swizzle(table, lo);
        v128_t a = wasm_i8x16_shuffle(h, l, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        v128_t b = wasm_i8x16_shuffle(h, l, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        wasm_v128_store(out + 2 * i, a);
        wasm_v128_store(out + 2 * i + 16, b);
    }
    for (; i < n; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
#else
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = HEX[in[i] >> 4];
        out[2 * i + 1] = HEX[in[i] & 15];
    }
#endif
}

static uint32_t count_byte(const uint8_t *in, size_t n, uint8_t c) {
    uint32_t count = 0;
    size_t i = 0;
#ifdef __wasm_simd128__
    const v128_t needle = wasm_i8x16_splat((int8_t)c);
    for (; i + 16 <= n; i += 16) {
        v128_t eq = wasm_i8x16_eq(wasm_v128_load(in + i), needle);
        count += (uint32_t)__builtin_popcount(wasm_i8x16_bitmask(eq));
    }
#endif
    for (; i < n; i++) count += in[i] == c;
    return count;
}

/* Sum of absolute differences of the 16x16 block at (bx, by) of `cur` and
 * the one at (bx + dx, by + dy) of `ref`. */
static uint32_t sad16(const uint8_t *cur, const uint8_t *ref, int bx, int by, int dx, int dy) {
#ifdef __wasm_simd128__
    v128_t acc = wasm_i32x4_splat(0);
    for (int y = 0; y < 16; y++) {
        v128_t a = wasm_v128_load(cur + (size_t)(by + y) * FW + bx);
        v128_t b = wasm_v128_load(ref + (size_t)(by + dy + y) * FW + bx + dx);
        v128_t d = wasm_v128_or(wasm_u8x16_sub_sat(a, b), wasm_u8x16_sub_sat(b, a));
        v128_t s16 = wasm_u16x8_extadd_pairwise_u8x16(d);
        acc = wasm_i32x4_add(acc, wasm_u32x4_extadd_pairwise_u16x8(s16));
    }
    return (uint32_t)(wasm_i32x4_extract_lane(acc, 0) + wasm_i32x4_extract_lane(acc, 1) +
                      wasm_i32x4_extract_lane(acc, 2) + wasm_i32x4_extract_lane(acc, 3));
#else
    uint32_t s = 0;
    for (int y = 0; y < 16; y++)
        for (int x = 0; x < 16; x++) {
            int a = cur[(size_t)(by + y) * FW + bx + x];
            int b = ref[(size_t)(by + dy + y) * FW + bx + dx + x];
            s += (uint32_t)(a > b ? a - b : b - a);
        }
    return s;
#endif
}

static uint64_t motion_search(const uint8_t *cur, const uint8_t *ref) {
    uint64_t h = 0;
    for (int by = 8; by + 16 + 8 <= FH; by += 16)
        for (int bx = 8; bx + 16 + 8 <= FW; bx += 16) {
            uint32_t best = UINT32_MAX;
            int bestv = 0;
            for (int dy = -4; dy <= 4; dy++)
                for (int dx = -4; dx <= 4; dx++) {
                    uint32_t s = sad16(cur, ref, bx, by, dx, dy);
                    if (s < best) {
                        best = s;
                        bestv = (dy + 4) * 9 + dx + 4;
                    }
                }
            h = h * 131u + best * 97u + (uint32_t)bestv;
        }
    return h;
}

static void saxpy_clamp(float *restrict y, const float *restrict x, float a, size_t n) {
    size_t i = 0;
#ifdef __wasm_simd128__
    const v128_t va = wasm_f32x4_splat(a);
    const v128_t lo = wasm_f32x4_splat(-1024.0f), hi = wasm_f32x4_splat(1024.0f);
    for (; i + 4 <= n; i += 4) {
        v128_t v = wasm_f32x4_add(wasm_f32x4_mul(va, wasm_v128_load(x + i)), wasm_v128_load(y + i));
        v = wasm_f32x4_pmax(lo, wasm_f32x4_pmin(hi, v));
        wasm_v128_store(y + i, v);
    }
#endif
    for (; i < n; i++) {
        float v = a * x[i] + y[i];
        v = v < 1024.0f ? v : 1024.0f;
        v = -1024.0f < v ? v : -1024.0f;
        y[i] = v;
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : DEFAULT_SIZE;
    if (rounds < 1) rounds = 1;
    uint8_t *buf = malloc(N);
    char *hex = malloc(2 * N);
    uint8_t *cur = malloc(FW * FH), *ref = malloc(FW * FH);
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    if (!buf || !hex || !cur || !ref || !x || !y) return 1;
    uint32_t s = 88172645u;
    for (size_t i = 0; i < N; i++) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        buf[i] = (uint8_t)(s >> 3);
        x[i] = (float)((int)(s % 64) - 32);
        y[i] = (float)((int)((s >> 8) % 32) - 16);
    }
    for (size_t i = 0; i < FW * FH; i++)
        ref[i] = (uint8_t)((i % FW) * 3 + (i / FW) * 5 + (buf[i % N] & 15));
    /* the current frame: the reference moved by one row and two columns */
    for (size_t i = 0; i < FW * FH; i++) cur[i] = ref[(i + FW + 2) % (FW * FH)];
    uint64_t sum = 0;
    for (int r = 0; r < rounds; r++) {
        hex_encode(hex, buf, N);
        uint32_t h = 0;
        for (size_t i = 0; i < 2 * N; i += 61) h = h * 33u + (uint8_t)hex[i];
        sum = sum * 31u + h;
        sum = sum * 31u + count_byte(buf, N, (uint8_t)r);
        sum = sum * 31u + count_byte((const uint8_t *)hex, 2 * N, (uint8_t)HEX[r & 15]);
        if (r % 10 == 0) sum = sum * 1000003u + motion_search(cur, ref);
        saxpy_clamp(y, x, (float)((r % 5) - 2), N);
        sum = sum * 31u + (uint64_t)(int64_t)y[(size_t)r * 97 % N];
        buf[(size_t)r * 131 % N] ^= (uint8_t)r;
        cur[(size_t)r * 71 % (FW * FH)] += 1;
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    free(buf); free(hex); free(cur); free(ref); free(x); free(y);
    return 0;
}
