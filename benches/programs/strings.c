/*
 * strings: string processing with the C library's string functions.
 *
 * Each round builds a text of a few KiB by appending words (memcpy),
 * then measures it (strlen), searches it (strstr, strchr, memchr),
 * reverses it as a whole and word by word, changes case, compares copies
 * (strcmp, memcmp), formats and parses integers by hand, and clears
 * buffers (memset).  Word choice is driven by a PRNG.
 *
 * argv[1]: number of rounds (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 48000
#define TEXT_CAP 8192

static const char *const vocab[] = {
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    "india", "juliett", "kilo", "lima", "mike", "november", "oscar", "papa",
    "quebec", "romeo", "sierra", "tango", "uniform", "victor", "whiskey", "xray",
    "yankee", "zulu", "the", "a", "of", "wasm", "engine", "stack",
};
#define NVOCAB (sizeof(vocab) / sizeof(vocab[0]))

static uint32_t seed = 0xC0FFEEu;
static uint32_t rnd(void) {
    seed = seed * 1664525u + 1013904223u;
    return seed >> 8;
}

static size_t build_text(char *buf, size_t cap, size_t *nwords) {
    size_t len = 0, w = 0;
    for (;;) {
        const char *word = vocab[rnd() % NVOCAB];
        size_t wl = strlen(word);
        if (len + wl + 2 >= cap) break;
        memcpy(buf + len, word, wl);
        len += wl;
        buf[len++] = (rnd() & 15) == 0 ? '\n' : ' ';
        w++;
    }
    buf[len] = 0;
    *nwords = w;
    return len;
}

static void reverse(char *s, size_t n) {
    if (n == 0) return;
    size_t i = 0, j = n - 1;
    while (i < j) {
        char t = s[i];
        s[i++] = s[j];
        s[j--] = t;
    }
}

static void reverse_words(char *s, size_t n) {
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == ' ' || s[i] == '\n') {
            reverse(s + start, i - start);
            start = i + 1;
        }
    }
}

static size_t count_occurrences(const char *hay, const char *needle) {
    size_t c = 0, nl = strlen(needle);
    const char *p = hay;
    while ((p = strstr(p, needle)) != NULL) {
        c++;
        p += nl;
    }
    return c;
}

static int utoa10(uint32_t v, char *out) {
    char tmp[12];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (int i = 0; i < n; i++) out[i] = tmp[n - 1 - i];
    out[n] = 0;
    return n;
}

static uint32_t parse_u32(const char **pp) {
    const char *p = *pp;
    uint32_t v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (uint32_t)(*p++ - '0');
    *pp = p;
    return v;
}

static void to_upper(char *s) {
    for (; *s; s++)
        if (*s >= 'a' && *s <= 'z') *s = (char)(*s - 'a' + 'A');
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    char *text = malloc(TEXT_CAP);
    char *copy = malloc(TEXT_CAP);
    char *nums = malloc(TEXT_CAP);
    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++) {
        size_t cap = 1024 + (size_t)(r % 4) * 1024;
        size_t nwords;
        size_t len = build_text(text, cap, &nwords);
        sum += strlen(text) * 3 + nwords;

        /* searching */
        sum += count_occurrences(text, vocab[r % NVOCAB]) * 7;
        sum += count_occurrences(text, "an");
        const char *nl = strchr(text, '\n');
        sum += nl ? (size_t)(nl - text) : 0;
        const char *z = memchr(text, 'z', len);
        sum += z ? (size_t)(z - text) * 5 : 1;

        /* copy, reverse, compare */
        memcpy(copy, text, len + 1);
        reverse(copy, len);
        reverse_words(copy, len);
        /* reversing the words of the reversed text gives the words in
           reverse order; compare the first bytes with the original's end */
        sum += (uint64_t)(memcmp(copy, text + len / 2, 16) > 0);
        reverse_words(copy, len);
        reverse(copy, len);
        if (strcmp(copy, text) != 0) {
            fprintf(stderr, "reverse round trip failed\n");
            return 1;
        }
        to_upper(copy);
        sum += (uint64_t)(strcmp(copy, text) < 0) + (uint64_t)(uint8_t)copy[len / 3];

        /* integer formatting and parsing */
        size_t np = 0;
        for (int k = 0; k < 64; k++) {
            np += (size_t)utoa10(rnd() ^ (uint32_t)r, nums + np);
            nums[np++] = ',';
        }
        nums[np] = 0;
        const char *p = nums;
        uint32_t acc = 0;
        while (*p) {
            acc = acc * 31u + parse_u32(&p);
            if (*p == ',') p++;
        }
        sum += acc;

        /* clearing */
        memset(copy, 'x', len);
        copy[len] = 0;
        sum += strlen(copy) + (uint64_t)(strspn(copy, "x") == len);
        memset(text, 0, cap);
        sum = (sum << 3) | (sum >> 61);
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    free(text);
    free(copy);
    free(nums);
    return 0;
}
