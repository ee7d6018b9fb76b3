/*
 * compress: LZ77 compression and decompression with a round-trip check.
 *
 * Input is generated text-like data (words from a pseudo-random vocabulary
 * with a skewed distribution, punctuation, and occasional noise bytes).
 * The compressor uses a 64 KiB sliding window with hash chains (3-byte
 * hash, bounded chain length, lazy evaluation of one position).  The
 * format groups 8 tokens behind a flag byte; a literal is one byte, a match
 * is a 16-bit distance and an 8-bit (length - 3).  The decompressor
 * rebuilds the data, which must equal the input.
 *
 * argv[1]: input size in KiB (default DEFAULT_SIZE).
 * Output : "checksum: <u64>" (compressed size and a hash of the stream).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 20480

#define WINDOW (1 << 16)
#define HASH_BITS 15
#define HASH_SIZE (1 << HASH_BITS)
#define MIN_MATCH 3
#define MAX_MATCH 258
#define MAX_CHAIN 48

static uint32_t rs = 2463534242u;
static uint32_t rnd(void) {
    rs ^= rs << 13;
    rs ^= rs >> 17;
    rs ^= rs << 5;
    return rs;
}

static size_t gen_input(uint8_t *out, size_t n) {
    /* build a vocabulary of 512 words */
    static char words[512][12];
    static int wlen[512];
    for (int w = 0; w < 512; w++) {
        int len = 2 + (int)(rnd() % 9);
        for (int k = 0; k < len; k++) words[w][k] = (char)('a' + rnd() % 26);
        wlen[w] = len;
    }
    size_t pos = 0;
    while (pos < n) {
        uint32_t r = rnd();
        if ((r & 1023) == 0) {
            /* a burst of noise */
            int burst = 1 + (int)((r >> 10) % 40);
            for (int k = 0; k < burst && pos < n; k++) out[pos++] = (uint8_t)rnd();
            continue;
        }
        /* skewed choice: small indices are much more frequent */
        uint32_t a = (r >> 10) % 512, b = rnd() % 512;
        uint32_t w = a < b ? a : b;
        if ((r >> 20) % 4 == 0) w = (w * w) % 512;
        for (int k = 0; k < wlen[w] && pos < n; k++) out[pos++] = (uint8_t)words[w][k];
        if (pos < n) {
            uint32_t p = (r >> 24) % 16;
            out[pos++] = p == 0 ? '.' : p == 1 ? ',' : p == 2 ? '\n' : ' ';
        }
    }
    return n;
}

static inline uint32_t hash3(const uint8_t *p) {
    uint32_t v = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

typedef struct {
    int32_t head[HASH_SIZE];
    int32_t prev[WINDOW];
} matcher_t;

static void insert_pos(matcher_t *m, const uint8_t *in, size_t pos) {
    uint32_t h = hash3(in + pos);
    m->prev[pos & (WINDOW - 1)] = m->head[h];
    m->head[h] = (int32_t)pos;
}

/* small struct returned by value: with the multi-value ABI (features build)
 * this becomes a wasm function with two i32 results */
typedef struct {
    int len;
    int dist;
} match_t;

__attribute__((noinline)) static match_t find_match(const matcher_t *m, const uint8_t *in, size_t n,
                                                    size_t pos) {
    match_t r = {0, 0};
    size_t maxlen = n - pos < MAX_MATCH ? n - pos : MAX_MATCH;
    if (maxlen < MIN_MATCH) return r;
    int best = 0, dist = 0, chain = MAX_CHAIN;
    int32_t cand = m->head[hash3(in + pos)];
    while (cand >= 0 && chain-- > 0) {
        size_t c = (size_t)cand;
        if (pos - c >= WINDOW) break;
        if (in[c + (size_t)best] == in[pos + (size_t)best] && in[c] == in[pos]) {
            size_t l = 0;
            while (l < maxlen && in[c + l] == in[pos + l]) l++;
            if ((int)l > best) {
                best = (int)l;
                dist = (int)(pos - c);
                if (l == maxlen) break;
            }
        }
        int32_t nx = m->prev[c & (WINDOW - 1)];
        if (nx >= cand) break; /* stale entry from an older window */
        cand = nx;
    }
    if (best >= MIN_MATCH) {
        r.len = best;
        r.dist = dist;
    }
    return r;
}

/* returns the compressed size; out must hold n + n/8 + 16 bytes */
static size_t lz_compress(const uint8_t *in, size_t n, uint8_t *out, matcher_t *m) {
    for (int i = 0; i < HASH_SIZE; i++) m->head[i] = -1;
    size_t op = 0, pos = 0;
    size_t flag_pos = op++;
    uint8_t flags = 0;
    int nt = 0;
    while (pos < n) {
        int dist = 0, len = 0;
        if (n - pos >= MIN_MATCH) {
            match_t mt = find_match(m, in, n, pos);
            len = mt.len;
            dist = mt.dist;
        }
        if (len && pos + 1 + MIN_MATCH <= n) {
            /* lazy matching: prefer a longer match one byte later */
            insert_pos(m, in, pos);
            match_t m2 = find_match(m, in, n, pos + 1);
            int l2 = m2.len, d2 = m2.dist;
            if (l2 > len + 1) {
                out[op++] = in[pos];
                pos++;
                len = l2;
                dist = d2;
                nt++;
                if (nt == 8) {
                    out[flag_pos] = flags;
                    flag_pos = op++;
                    flags = 0;
                    nt = 0;
                }
            } else {
                /* position pos already inserted */
                flags |= (uint8_t)(1u << nt);
                out[op++] = (uint8_t)(dist & 0xFF);
                out[op++] = (uint8_t)(dist >> 8);
                out[op++] = (uint8_t)(len - MIN_MATCH);
                for (int k = 1; k < len; k++)
                    if (pos + (size_t)k + MIN_MATCH <= n) insert_pos(m, in, pos + (size_t)k);
                pos += (size_t)len;
                goto next_token;
            }
        }
        if (len) {
            flags |= (uint8_t)(1u << nt);
            out[op++] = (uint8_t)(dist & 0xFF);
            out[op++] = (uint8_t)(dist >> 8);
            out[op++] = (uint8_t)(len - MIN_MATCH);
            for (int k = 0; k < len; k++)
                if (pos + (size_t)k + MIN_MATCH <= n) insert_pos(m, in, pos + (size_t)k);
            pos += (size_t)len;
        } else {
            if (n - pos >= MIN_MATCH) insert_pos(m, in, pos);
            out[op++] = in[pos++];
        }
    next_token:
        nt++;
        if (nt == 8) {
            out[flag_pos] = flags;
            flag_pos = op++;
            flags = 0;
            nt = 0;
        }
    }
    out[flag_pos] = flags;
    return op;
}

static size_t lz_decompress(const uint8_t *in, size_t n, uint8_t *out, size_t cap) {
    size_t ip = 0, op = 0;
    while (ip < n) {
        uint8_t flags = in[ip++];
        for (int t = 0; t < 8 && ip < n; t++) {
            if (flags & (1u << t)) {
                if (ip + 3 > n) return (size_t)-1;
                size_t dist = (size_t)in[ip] | (size_t)in[ip + 1] << 8;
                size_t len = (size_t)in[ip + 2] + MIN_MATCH;
                ip += 3;
                if (dist == 0 || dist > op || op + len > cap) return (size_t)-1;
                const uint8_t *src = out + op - dist;
                /* byte-wise copy: overlapping matches are allowed */
                for (size_t k = 0; k < len; k++) out[op + k] = src[k];
                op += len;
            } else {
                if (op >= cap) return (size_t)-1;
                out[op++] = in[ip++];
            }
        }
    }
    return op;
}

int main(int argc, char **argv) {
    long kib = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    if (kib < 1) kib = 1;
    size_t n = (size_t)kib * 1024;
    uint8_t *in = malloc(n);
    uint8_t *comp = malloc(n + n / 8 + 16);
    uint8_t *back = malloc(n);
    matcher_t *m = malloc(sizeof(matcher_t));
    if (!in || !comp || !back || !m) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    gen_input(in, n);
    size_t clen = lz_compress(in, n, comp, m);
    size_t dlen = lz_decompress(comp, clen, back, n);
    if (dlen != n || memcmp(in, back, n) != 0) {
        fprintf(stderr, "round trip failed (%zu of %zu bytes)\n", dlen, n);
        return 1;
    }
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < clen; i++) {
        h ^= comp[i];
        h *= 0x100000001b3ull;
    }
    uint64_t sum = h ^ ((uint64_t)clen << 32);
    printf("checksum: %llu\n", (unsigned long long)sum);
    free(in); free(comp); free(back); free(m);
    return 0;
}
