/*
 * wordfreq: string processing. Generates pseudo-English text from a
 * syllable table, then tokenizes it (letters, digits, punctuation, mixed
 * case), lower-cases words, counts them in an open-addressing hash table
 * keyed by string, and sorts the vocabulary by (count desc, word asc).
 *
 * argv[1]: text length in kilobytes (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 800

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next(void) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static const char *SYL[] = {"th", "er", "on", "an", "re", "he", "in", "ed", "nd", "ha",
                            "at", "en", "es", "of", "or", "nt", "ea", "ti", "to", "it",
                            "st", "io", "le", "is", "ou", "ar", "as", "de", "rt", "ve"};
#define NSYL (sizeof SYL / sizeof SYL[0])

typedef struct { const char *s; uint32_t len, count, hash; } entry_t;
static entry_t *table;
static uint32_t cap, used;

static uint32_t hash_word(const char *s, uint32_t n) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

static void grow(void) {
    uint32_t ncap = cap ? cap * 2 : 1024;
    entry_t *nt = calloc(ncap, sizeof *nt);
    for (uint32_t i = 0; i < cap; i++) {
        if (!table[i].s) continue;
        uint32_t j = table[i].hash & (ncap - 1);
        while (nt[j].s) j = (j + 1) & (ncap - 1);
        nt[j] = table[i];
    }
    free(table);
    table = nt;
    cap = ncap;
}

static void count_word(const char *s, uint32_t n) {
    if (used * 4 >= cap * 3) grow();
    uint32_t h = hash_word(s, n), j = h & (cap - 1);
    while (table[j].s) {
        if (table[j].hash == h && table[j].len == n && memcmp(table[j].s, s, n) == 0) {
            table[j].count++;
            return;
        }
        j = (j + 1) & (cap - 1);
    }
    table[j] = (entry_t){s, n, 1, h};
    used++;
}

static int cmp_entry(const void *a, const void *b) {
    const entry_t *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    uint32_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->s, y->s, n);
    if (c) return c;
    return (int)x->len - (int)y->len;
}

int main(int argc, char **argv) {
    long kb = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    size_t n = (size_t)kb * 1024;
    char *text = malloc(n + 64);
    size_t pos = 0;
    while (pos < n) {
        uint32_t r = next();
        int nsyl = 1 + (int)(r % 4);
        if ((r >> 8) % 53 == 0) { /* a number */
            pos += (size_t)sprintf(text + pos, "%u", next() % 1000);
        } else {
            /* a Zipf-like skew: low syllable indices are more common */
            for (int k = 0; k < nsyl; k++) {
                uint32_t q = next() % (NSYL * NSYL);
                uint32_t idx = 0;
                while ((idx + 1) * (idx + 1) <= q) idx++;
                idx = NSYL - 1 - idx;
                const char *s = SYL[idx];
                text[pos] = s[0]; text[pos + 1] = s[1];
                if (k == 0 && (r >> 20) % 7 == 0) text[pos] -= 32; /* capitalised */
                pos += 2;
            }
        }
        uint32_t p = (r >> 24) % 16;
        text[pos++] = p == 0 ? ',' : p == 1 ? '.' : p == 2 ? '\n' : ' ';
        if (p < 2) text[pos++] = ' ';
    }
    text[pos] = 0;

    uint64_t sum = 0;
    for (int pass = 0; pass < 3; pass++) {
        /* lower-case copy, then tokenize */
        char *low = malloc(pos + 1);
        for (size_t i = 0; i <= pos; i++) {
            char c = text[i];
            low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
        }
        table = NULL; cap = 0; used = 0;
        grow();
        size_t i = 0, tokens = 0;
        while (i < pos) {
            char c = low[i];
            if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
                size_t st = i;
                while (i < pos && ((low[i] >= 'a' && low[i] <= 'z') || (low[i] >= '0' && low[i] <= '9'))) i++;
                if (pass == 0 || i - st > (size_t)pass) count_word(low + st, (uint32_t)(i - st));
                tokens++;
            } else {
                i++;
            }
        }
        entry_t *list = malloc(used * sizeof *list);
        uint32_t m = 0;
        for (uint32_t k = 0; k < cap; k++)
            if (table[k].s) list[m++] = table[k];
        qsort(list, m, sizeof *list, cmp_entry);
        sum = sum * 1000003 + tokens;
        sum = sum * 1000003 + m;
        for (uint32_t k = 0; k < m && k < 200; k++)
            sum = sum * 31 + list[k].count * 7 + hash_word(list[k].s, list[k].len);
        free(list); free(table); free(low);
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
