/*
 * huffman: canonical Huffman coding. Builds byte frequencies of generated
 * text with a skewed distribution, a code tree with a binary heap of
 * nodes, canonical code lengths (limited to 15 bits by rebalancing),
 * encodes to a bit stream with a 64-bit bit buffer, and decodes it back
 * with a table-driven decoder, checking the round trip.
 *
 * argv[1]: input size in kilobytes (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 2048
#define MAXLEN 15

typedef struct { uint64_t w; int sym, l, r; } hnode_t;
static hnode_t nd[512];
static int heap[512], hn;

static int less(int a, int b) { return nd[a].w < nd[b].w || (nd[a].w == nd[b].w && a < b); }
static void hpush(int x) {
    int i = hn++;
    heap[i] = x;
    while (i && less(heap[i], heap[(i - 1) / 2])) { int t = heap[i]; heap[i] = heap[(i - 1) / 2]; heap[(i - 1) / 2] = t; i = (i - 1) / 2; }
}
static int hpop(void) {
    int top = heap[0];
    heap[0] = heap[--hn];
    int i = 0;
    for (;;) {
        int l = 2 * i + 1, m = i;
        if (l < hn && less(heap[l], heap[m])) m = l;
        if (l + 1 < hn && less(heap[l + 1], heap[m])) m = l + 1;
        if (m == i) break;
        int t = heap[i]; heap[i] = heap[m]; heap[m] = t; i = m;
    }
    return top;
}
static void depths(int n, int d, uint8_t *len) {
    if (nd[n].sym >= 0) { len[nd[n].sym] = (uint8_t)(d ? d : 1); return; }
    depths(nd[n].l, d + 1, len);
    depths(nd[n].r, d + 1, len);
}

static void build_lengths(const uint64_t freq[256], uint8_t len[256]) {
    int nn = 0;
    hn = 0;
    memset(len, 0, 256);
    for (int s = 0; s < 256; s++)
        if (freq[s]) { nd[nn] = (hnode_t){freq[s], s, -1, -1}; hpush(nn++); }
    while (hn > 1) {
        int a = hpop(), b = hpop();
        nd[nn] = (hnode_t){nd[a].w + nd[b].w, -1, a, b};
        hpush(nn++);
    }
    depths(heap[0], 0, len);
    /* limit lengths: while the Kraft sum exceeds 1, lengthen the shortest over-limit victims */
    for (;;) {
        uint64_t kraft = 0;
        for (int s = 0; s < 256; s++) {
            if (len[s] > MAXLEN) len[s] = MAXLEN;
            if (len[s]) kraft += 1u << (MAXLEN - len[s]);
        }
        if (kraft <= (1u << MAXLEN)) break;
        int best = -1;
        for (int s = 0; s < 256; s++)
            if (len[s] && len[s] < MAXLEN && (best < 0 || len[s] > len[best])) best = s;
        len[best]++;
    }
}

int main(int argc, char **argv) {
    size_t n = (size_t)(argc > 1 ? atol(argv[1]) : DEFAULT_SIZE) * 1024;
    uint8_t *in = malloc(n), *dec = malloc(n);
    uint64_t *outw = malloc(n + 64);
    uint64_t sum = 0, s = 99;
    for (int round = 0; round < 4; round++) {
        for (size_t i = 0; i < n; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t r = (uint32_t)(s >> 40);
            /* geometric-ish: small values common, widened by the round */
            uint32_t v = 0;
            while ((r & 3) != 0 && v < (uint32_t)(60 + round * 60)) { v++; r >>= 1; if (!r) r = (uint32_t)(s >> 20) | 1; }
            in[i] = (uint8_t)(v * 3 + round);
        }
        uint64_t freq[256] = {0};
        for (size_t i = 0; i < n; i++) freq[in[i]]++;
        uint8_t len[256];
        build_lengths(freq, len);
        /* canonical codes */
        uint32_t code[256], cnt[MAXLEN + 1] = {0}, first[MAXLEN + 2];
        for (int q = 0; q < 256; q++) cnt[len[q]]++;
        cnt[0] = 0;
        uint32_t c = 0;
        for (int l = 1; l <= MAXLEN; l++) { c = (c + cnt[l - 1]) << 1; first[l] = c; }
        uint32_t nextc[MAXLEN + 2];
        memcpy(nextc, first, sizeof first);
        for (int q = 0; q < 256; q++) if (len[q]) code[q] = nextc[len[q]]++;
        /* decode table over MAXLEN-bit prefixes */
        static uint16_t table[1 << MAXLEN];
        for (int q = 0; q < 256; q++) {
            if (!len[q]) continue;
            uint32_t lo = code[q] << (MAXLEN - len[q]), hi = lo + (1u << (MAXLEN - len[q]));
            for (uint32_t k = lo; k < hi; k++) table[k] = (uint16_t)(q | len[q] << 8);
        }
        /* encode MSB-first */
        size_t nw = 0;
        uint64_t acc = 0;
        int used = 0;
        for (size_t i = 0; i < n; i++) {
            uint32_t l = len[in[i]], cd = code[in[i]];
            if (used + (int)l <= 64) { acc = (acc << l) | cd; used += (int)l; }
            else {
                int fit = 64 - used;
                acc = (acc << fit) | (cd >> (l - (uint32_t)fit));
                outw[nw++] = acc;
                acc = cd & ((1u << (l - (uint32_t)fit)) - 1);
                used = (int)l - fit;
            }
        }
        outw[nw++] = used ? acc << (64 - used) : 0;
        outw[nw] = 0;
        /* decode */
        size_t bitpos = 0;
        for (size_t i = 0; i < n; i++) {
            size_t wi = bitpos >> 6;
            int off = (int)(bitpos & 63);
            uint64_t window = outw[wi] << off;
            if (off) window |= outw[wi + 1] >> (64 - off);
            uint16_t e = table[window >> (64 - MAXLEN)];
            dec[i] = (uint8_t)e;
            bitpos += e >> 8;
        }
        if (memcmp(in, dec, n) != 0) { printf("checksum: roundtrip\n"); return 1; }
        sum = sum * 31 + bitpos;
        for (int q = 0; q < 256; q++) sum = sum * 3 + len[q];
        for (size_t i = 0; i < nw; i += 64) sum = sum * 31 + outw[i];
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
