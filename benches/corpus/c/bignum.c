/*
 * bignum: arbitrary-precision unsigned arithmetic on 32-bit limbs with
 * 64-bit intermediates: schoolbook multiplication, addition, division by a
 * small number, decimal conversion. Computes n! by repeated
 * multiplication, Fibonacci numbers by fast doubling (big x big products)
 * and prints nothing but a digest of their decimal digits.
 *
 * argv[1]: n (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 7000

typedef struct { uint32_t *d; size_t n, cap; } big_t;

static void reserve(big_t *a, size_t cap) {
    if (a->cap >= cap) return;
    a->d = realloc(a->d, cap * 4);
    a->cap = cap;
}
static void set_small(big_t *a, uint32_t v) { reserve(a, 1); a->d[0] = v; a->n = v != 0; }
static void trim(big_t *a) { while (a->n && a->d[a->n - 1] == 0) a->n--; }
static void copy(big_t *dst, const big_t *src) { reserve(dst, src->n + 1); memcpy(dst->d, src->d, src->n * 4); dst->n = src->n; }

static void mul_small(big_t *a, uint32_t m) {
    uint64_t carry = 0;
    for (size_t i = 0; i < a->n; i++) {
        uint64_t t = (uint64_t)a->d[i] * m + carry;
        a->d[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) { reserve(a, a->n + 1); a->d[a->n++] = (uint32_t)carry; }
}
static uint32_t div_small(big_t *a, uint32_t m) {
    uint64_t rem = 0;
    for (size_t i = a->n; i-- > 0;) {
        uint64_t cur = (rem << 32) | a->d[i];
        a->d[i] = (uint32_t)(cur / m);
        rem = cur % m;
    }
    trim(a);
    return (uint32_t)rem;
}
static void mul(big_t *r, const big_t *a, const big_t *b) {
    reserve(r, a->n + b->n + 1);
    memset(r->d, 0, (a->n + b->n + 1) * 4);
    for (size_t i = 0; i < a->n; i++) {
        uint64_t carry = 0, ai = a->d[i];
        for (size_t j = 0; j < b->n; j++) {
            uint64_t t = ai * b->d[j] + r->d[i + j] + carry;
            r->d[i + j] = (uint32_t)t;
            carry = t >> 32;
        }
        r->d[i + b->n] = (uint32_t)carry;
    }
    r->n = a->n + b->n;
    trim(r);
}
static void add(big_t *r, const big_t *a, const big_t *b) { /* r may alias a */
    size_t n = a->n > b->n ? a->n : b->n;
    reserve(r, n + 1);
    uint64_t carry = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = carry + (i < a->n ? a->d[i] : 0) + (i < b->n ? b->d[i] : 0);
        r->d[i] = (uint32_t)t;
        carry = t >> 32;
    }
    r->d[n] = (uint32_t)carry;
    r->n = n + 1;
    trim(r);
}
static void sub(big_t *r, const big_t *a, const big_t *b) { /* a >= b; r may alias a */
    reserve(r, a->n);
    int64_t borrow = 0;
    for (size_t i = 0; i < a->n; i++) {
        int64_t t = (int64_t)a->d[i] - (i < b->n ? b->d[i] : 0) - borrow;
        borrow = t < 0;
        r->d[i] = (uint32_t)(t + (borrow << 32));
    }
    r->n = a->n;
    trim(r);
}
/* digest of the decimal representation (destroys a) */
static uint64_t decimal_digest(big_t *a) {
    uint64_t h = 0, digits = 0;
    while (a->n) {
        uint32_t chunk = div_small(a, 1000000000u);
        for (int k = 0; k < 9; k++) { h = h * 10 + chunk % 10; chunk /= 10; digits++; }
    }
    return h ^ (digits << 48);
}

int main(int argc, char **argv) {
    uint32_t n = argc > 1 ? (uint32_t)atol(argv[1]) : DEFAULT_SIZE;
    big_t f = {0}, a = {0}, b = {0}, t1 = {0}, t2 = {0}, t3 = {0};
    uint64_t sum = 0;
    set_small(&f, 1);
    for (uint32_t i = 2; i <= n; i++) mul_small(&f, i);
    sum = sum * 31 + f.n;
    sum = sum * 31 + decimal_digest(&f);

    /* fast doubling: F(2k) = F(k) (2F(k+1) - F(k)), F(2k+1) = F(k)^2 + F(k+1)^2 */
    uint32_t k = n * 40;
    set_small(&a, 0); set_small(&b, 1); /* a = F(0), b = F(1) */
    for (int bit = 31; bit >= 0; bit--) {
        copy(&t1, &b); add(&t1, &t1, &b); sub(&t1, &t1, &a); /* 2b - a */
        mul(&t2, &a, &t1);                                  /* F(2k) */
        mul(&t1, &a, &a); mul(&t3, &b, &b); add(&t3, &t3, &t1); /* F(2k+1) */
        if ((k >> bit) & 1) { add(&t1, &t2, &t3); copy(&a, &t3); copy(&b, &t1); }
        else { copy(&a, &t2); copy(&b, &t3); }
    }
    sum = sum * 31 + a.n;
    copy(&t1, &a);
    sum = sum * 31 + decimal_digest(&t1);
    /* F(k) mod small primes, by div_small, as a cross-check of the limbs */
    for (uint32_t p = 1000003; p < 1000003 + 200; p += 2) { copy(&t1, &a); sum = sum * 31 + div_small(&t1, p); }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
