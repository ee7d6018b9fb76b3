/*
 * fnptr: indirect calls through function-pointer tables.
 *
 * A table of 16 small functions of type uint32_t (*)(uint32_t, uint32_t)
 * is filled at run time (so the compiler cannot devirtualise the calls) and
 * called in a loop with a data-dependent index; in wasm every call is a
 * call_indirect.  A second, "object-like" part stores a vtable pointer in
 * heap objects of different classes and dispatches through it, and a third
 * calls through a pointer to a pointer-taking function (callback style).
 *
 * argv[1]: number of loop iterations (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SIZE 110000000

typedef uint32_t (*binop_t)(uint32_t, uint32_t);

#define NOINL __attribute__((noinline))
NOINL static uint32_t op_add(uint32_t a, uint32_t b) { return a + b; }
NOINL static uint32_t op_sub(uint32_t a, uint32_t b) { return a - b; }
NOINL static uint32_t op_xor(uint32_t a, uint32_t b) { return a ^ b; }
NOINL static uint32_t op_mul(uint32_t a, uint32_t b) { return a * (b | 1); }
NOINL static uint32_t op_rotl(uint32_t a, uint32_t b) { return (a << (b & 31)) | (a >> ((32 - b) & 31)); }
NOINL static uint32_t op_rotr(uint32_t a, uint32_t b) { return (a >> (b & 31)) | (a << ((32 - b) & 31)); }
NOINL static uint32_t op_and_not(uint32_t a, uint32_t b) { return a & ~b; }
NOINL static uint32_t op_or(uint32_t a, uint32_t b) { return a | (b >> 3); }
NOINL static uint32_t op_min(uint32_t a, uint32_t b) { return a < b ? a : b + 17; }
NOINL static uint32_t op_max(uint32_t a, uint32_t b) { return a > b ? a : b ^ 0x55; }
NOINL static uint32_t op_avg(uint32_t a, uint32_t b) { return (a >> 1) + (b >> 1) + (a & b & 1); }
NOINL static uint32_t op_mix(uint32_t a, uint32_t b) { return (a ^ (a >> 15)) * 0x2c1b3c6du + b; }
NOINL static uint32_t op_div(uint32_t a, uint32_t b) { return a / ((b & 0xFF) | 1) + b; }
NOINL static uint32_t op_rem(uint32_t a, uint32_t b) { return a % ((b & 0xFFF) | 1) + (a >> 4); }
NOINL static uint32_t op_clz(uint32_t a, uint32_t b) { return a + (uint32_t)__builtin_clz(b | 1); }
NOINL static uint32_t op_pop(uint32_t a, uint32_t b) { return a + (uint32_t)__builtin_popcount(b) * 0x9E37u; }

static binop_t table[16];
/* volatile so the table layout is opaque to the optimiser */
static volatile int table_rotation = 5;

/* ---- object-like dispatch ---- */
typedef struct shape shape_t;
typedef struct {
    int64_t (*area)(const shape_t *);
    int64_t (*perimeter)(const shape_t *);
    void (*grow)(shape_t *, int32_t);
} vtable_t;
struct shape {
    const vtable_t *vt;
    int32_t a, b;
};

NOINL static int64_t rect_area(const shape_t *s) { return (int64_t)s->a * s->b; }
NOINL static int64_t rect_perim(const shape_t *s) { return 2 * ((int64_t)s->a + s->b); }
NOINL static void rect_grow(shape_t *s, int32_t d) { s->a = (s->a + d) & 0xFFFF; s->b = (s->b + 2 * d) & 0xFFFF; }
NOINL static int64_t tri_area(const shape_t *s) { return ((int64_t)s->a * s->b) / 2; }
NOINL static int64_t tri_perim(const shape_t *s) { return (int64_t)s->a + s->b + (s->a > s->b ? s->a : s->b); }
NOINL static void tri_grow(shape_t *s, int32_t d) { s->a = (s->a * 3 + d) & 0xFFFF; s->b = (s->b + d) & 0xFFFF; }
NOINL static int64_t sq_area(const shape_t *s) { return (int64_t)s->a * s->a; }
NOINL static int64_t sq_perim(const shape_t *s) { return 4 * (int64_t)s->a; }
NOINL static void sq_grow(shape_t *s, int32_t d) { s->a = (s->a ^ d) & 0xFFFF; }

static vtable_t vtables[3];

/* ---- callback style ---- */
typedef int64_t (*fold_fn)(int64_t acc, int32_t x, void *ctx);
NOINL static int64_t fold_sum(int64_t acc, int32_t x, void *ctx) { (void)ctx; return acc + x; }
NOINL static int64_t fold_wsum(int64_t acc, int32_t x, void *ctx) { return acc + (int64_t)x * *(int32_t *)ctx; }
NOINL static int64_t fold_hash(int64_t acc, int32_t x, void *ctx) { (void)ctx; return (acc ^ x) * 1099511628211ll; }
NOINL static int64_t fold(const int32_t *v, int n, fold_fn f, void *ctx) {
    int64_t acc = 0;
    for (int i = 0; i < n; i++) acc = f(acc, v[i], ctx);
    return acc;
}

int main(int argc, char **argv) {
    long iters = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    /* fill the tables at run time, in an order the compiler cannot see */
    binop_t fns[16] = {op_add, op_sub, op_xor, op_mul, op_rotl, op_rotr, op_and_not, op_or,
                       op_min, op_max, op_avg, op_mix, op_div, op_rem, op_clz, op_pop};
    for (int i = 0; i < 16; i++) table[(i + table_rotation) & 15] = fns[i];
    vtables[0] = (vtable_t){rect_area, rect_perim, rect_grow};
    vtables[1] = (vtable_t){tri_area, tri_perim, tri_grow};
    vtables[2] = (vtable_t){sq_area, sq_perim, sq_grow};

    /* part 1: table dispatch */
    uint32_t x = 0x12345678u, y = 0x9abcdef0u;
    uint64_t sum = 0;
    for (long i = 0; i < iters; i++) {
        uint32_t idx = (x ^ (x >> 7) ^ (uint32_t)i) & 15;
        x = table[idx](x, y);
        y = y * 1664525u + 1013904223u;
        sum += x;
    }

    /* part 2: vtable dispatch over a heap array of mixed shapes */
    enum { NSHAPES = 1024 };
    shape_t *shapes = malloc(sizeof(shape_t) * NSHAPES);
    for (int i = 0; i < NSHAPES; i++) {
        shapes[i].vt = &vtables[(i * 7 + (i >> 3)) % 3];
        shapes[i].a = i + 1;
        shapes[i].b = (i * 13) % 97 + 1;
    }
    long rounds = iters / (NSHAPES * 8);
    for (long r = 0; r < rounds; r++) {
        for (int i = 0; i < NSHAPES; i++) {
            shape_t *s = &shapes[i];
            sum += (uint64_t)s->vt->area(s);
            sum ^= (uint64_t)s->vt->perimeter(s) << (i & 15);
            s->vt->grow(s, (int32_t)(r & 7));
        }
    }

    /* part 3: callbacks */
    enum { NV = 4096 };
    int32_t *v = malloc(sizeof(int32_t) * NV);
    for (int i = 0; i < NV; i++) v[i] = (int32_t)(x = x * 1103515245u + 12345u) >> 8;
    fold_fn folds[3] = {fold_sum, fold_wsum, fold_hash};
    int32_t weight = 3;
    long frounds = iters / (NV * 8);
    for (long r = 0; r < frounds; r++) sum = sum * 31 + (uint64_t)fold(v, NV, folds[r % 3], &weight);

    printf("checksum: %llu\n", (unsigned long long)sum);
    free(shapes);
    free(v);
    return 0;
}
