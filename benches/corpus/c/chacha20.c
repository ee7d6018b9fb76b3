/*
 * chacha20: the ChaCha20 stream cipher (RFC 8439 block function, written
 * here) encrypting a buffer in place, many times with changing nonces,
 * plus a check that decrypting restores the plaintext. 32-bit adds, xors
 * and rotates.
 *
 * argv[1]: number of 64 KiB passes (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 240
#define BUF (64 * 1024)

static inline uint32_t rotl(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }
#define QR(a, b, c, d)                \
    a += b; d ^= a; d = rotl(d, 16);  \
    c += d; b ^= c; b = rotl(b, 12);  \
    a += b; d ^= a; d = rotl(d, 8);   \
    c += d; b ^= c; b = rotl(b, 7);

static void block(const uint32_t key[8], uint32_t counter, const uint32_t nonce[3], uint8_t out[64]) {
    uint32_t s[16] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574,
                      key[0], key[1], key[2], key[3], key[4], key[5], key[6], key[7],
                      counter, nonce[0], nonce[1], nonce[2]};
    uint32_t x[16];
    memcpy(x, s, sizeof x);
    for (int i = 0; i < 10; i++) {
        QR(x[0], x[4], x[8], x[12]) QR(x[1], x[5], x[9], x[13])
        QR(x[2], x[6], x[10], x[14]) QR(x[3], x[7], x[11], x[15])
        QR(x[0], x[5], x[10], x[15]) QR(x[1], x[6], x[11], x[12])
        QR(x[2], x[7], x[8], x[13]) QR(x[3], x[4], x[9], x[14])
    }
    for (int i = 0; i < 16; i++) {
        uint32_t v = x[i] + s[i];
        out[4 * i] = (uint8_t)v; out[4 * i + 1] = (uint8_t)(v >> 8);
        out[4 * i + 2] = (uint8_t)(v >> 16); out[4 * i + 3] = (uint8_t)(v >> 24);
    }
}

static void xor_stream(const uint32_t key[8], const uint32_t nonce[3], uint8_t *buf, size_t n) {
    uint8_t ks[64];
    for (size_t off = 0; off < n; off += 64) {
        block(key, (uint32_t)(off / 64) + 1, nonce, ks);
        size_t m = n - off < 64 ? n - off : 64;
        for (size_t i = 0; i < m; i++) buf[off + i] ^= ks[i];
    }
}

int main(int argc, char **argv) {
    long passes = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    uint8_t *buf = malloc(BUF), *orig = malloc(BUF);
    uint32_t key[8], nonce[3] = {0x09000000, 0x4a000000, 0};
    for (int i = 0; i < 8; i++) key[i] = 0x03020100u + 0x04040404u * (uint32_t)i;
    uint32_t s = 1;
    for (int i = 0; i < BUF; i++) { s = s * 1664525u + 1013904223u; buf[i] = orig[i] = (uint8_t)(s >> 24); }
    uint64_t sum = 0;
    for (long p = 0; p < passes; p++) {
        nonce[2] = (uint32_t)p;
        size_t n = BUF - (size_t)(p % 61);
        xor_stream(key, nonce, buf, n);
        uint64_t h = 1469598103934665603ull;
        for (size_t i = 0; i < n; i += 8) h = (h ^ buf[i] ^ ((uint64_t)buf[i + 3] << 8)) * 1099511628211ull;
        sum = sum * 31 + h;
        if (p % 2 == 1) { /* decrypt the last two passes and check */
            xor_stream(key, nonce, buf, n);
            nonce[2] = (uint32_t)p - 1;
            xor_stream(key, nonce, buf, BUF - (size_t)((p - 1) % 61));
            if (memcmp(buf, orig, BUF) != 0) { printf("checksum: mismatch\n"); return 1; }
            key[p % 8] ^= (uint32_t)sum;
        }
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
