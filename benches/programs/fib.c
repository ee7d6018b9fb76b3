/*
 * fib: call-heavy recursion.
 *
 *   - naive doubly recursive Fibonacci (depth n, ~1.6^n calls),
 *   - the Takeuchi function tak(x, y, z) (three-way recursion),
 *   - Ackermann A(2, k) (recursion depth about 2k + 3),
 *   - a mutually recursive even/odd pair walking down a counter.
 * None of these functions take the address of a local, so in wasm they use
 * no shadow-stack memory; the deepest recursion is a few thousand frames
 * (Ackermann, mutual recursion), well inside any engine's default stack.
 *
 * argv[1]: n for fib(n) (default DEFAULT_SIZE); the other workloads are
 *          scaled from n.
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SIZE 42

__attribute__((noinline)) static uint32_t fib(uint32_t n) {
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
}

__attribute__((noinline)) static int32_t tak(int32_t x, int32_t y, int32_t z) {
    if (y >= x) return z;
    return tak(tak(x - 1, y, z), tak(y - 1, z, x), tak(z - 1, x, y));
}

__attribute__((noinline)) static uint32_t ack(uint32_t m, uint32_t n) {
    if (m == 0) return n + 1;
    if (n == 0) return ack(m - 1, 1);
    return ack(m - 1, ack(m, n - 1));
}

__attribute__((noinline)) static uint32_t is_odd(uint32_t n, uint32_t acc);
__attribute__((noinline)) static uint32_t is_even(uint32_t n, uint32_t acc) {
    if (n == 0) return acc ^ 1;
    return is_odd(n - 1, acc * 3 + n) + 1;
}
__attribute__((noinline)) static uint32_t is_odd(uint32_t n, uint32_t acc) {
    if (n == 0) return acc;
    return is_even(n - 1, acc + n * 7) + 1;
}

int main(int argc, char **argv) {
    uint32_t n = argc > 1 ? (uint32_t)atoi(argv[1]) : DEFAULT_SIZE;
    if (n > 60) n = 60;
    uint64_t sum = 0;

    sum = sum * 31 + fib(n);

    /* tak(3k, 2k, k) grows quickly with k; keep it a fraction of fib */
    int32_t k = (int32_t)(n / 5);
    if (k < 1) k = 1;
    sum = sum * 31 + (uint32_t)tak(3 * k, 2 * k, k);

    /* Ackermann A(2, j): many calls, depth ~2j */
    uint32_t reps = n * 8;
    for (uint32_t r = 0; r < reps; r++) sum = sum * 31 + ack(2, 600 + (r % 64));

    /* mutual recursion 2000 deep, repeated */
    for (uint32_t r = 0; r < reps * 20; r++) sum = sum * 31 + is_even(2000 + (r & 15), r);

    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
