/*
 * regex: a backtracking regular-expression matcher (literals, ., [a-z]
 * classes with negation, * + ? quantifiers, ^ and $ anchors, one level of
 * alternation via |) compiled to a small node list, plus a glob matcher
 * (* ? [..]) with the iterative star algorithm. Both run over generated
 * lines of text.
 *
 * argv[1]: number of lines (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 20000

typedef struct {
    uint8_t set[32]; /* the characters this atom matches */
    uint8_t min, max; /* repetition: max 255 = unbounded */
} atom_t;
typedef struct { atom_t a[64]; int n; int bol, eol; } re_t;

static void set_bit(atom_t *a, unsigned c) { a->set[c >> 3] |= (uint8_t)(1u << (c & 7)); }
static int has(const atom_t *a, unsigned c) { return a->set[c >> 3] >> (c & 7) & 1; }

/* compiles one alternative; returns the end of it */
static const char *compile(const char *s, re_t *re) {
    memset(re, 0, sizeof *re);
    if (*s == '^') { re->bol = 1; s++; }
    while (*s && *s != '|') {
        if (*s == '$' && (s[1] == 0 || s[1] == '|')) { re->eol = 1; s++; continue; }
        atom_t *a = &re->a[re->n++];
        if (*s == '.') { memset(a->set, 0xff, 32); a->set[0] &= (uint8_t)~1; s++; }
        else if (*s == '[') {
            s++;
            int neg = *s == '^';
            if (neg) s++;
            while (*s != ']') {
                unsigned lo = (uint8_t)*s, hi = lo;
                if (s[1] == '-' && s[2] != ']') { hi = (uint8_t)s[2]; s += 2; }
                for (unsigned c = lo; c <= hi; c++) set_bit(a, c);
                s++;
            }
            s++;
            if (neg) { for (int i = 0; i < 32; i++) a->set[i] = (uint8_t)~a->set[i]; a->set[0] &= (uint8_t)~1; }
        } else {
            if (*s == '\\') s++;
            set_bit(a, (uint8_t)*s++);
        }
        a->min = 1; a->max = 1;
        if (*s == '*') { a->min = 0; a->max = 255; s++; }
        else if (*s == '+') { a->max = 255; s++; }
        else if (*s == '?') { a->min = 0; s++; }
    }
    return s;
}

static long steps;
static int match_here(const re_t *re, int i, const char *t) {
    steps++;
    if (i == re->n) return !re->eol || *t == 0;
    const atom_t *a = &re->a[i];
    int k = 0;
    while (k < a->max && t[k] && has(a, (uint8_t)t[k])) k++; /* greedy */
    for (; k >= a->min; k--)
        if (match_here(re, i + 1, t + k)) return 1;
    return 0;
}
/* returns 1 + start offset of the leftmost match, or 0 */
static int search(const re_t *alts, int nalt, const char *t) {
    for (int st = 0;; st++) {
        for (int j = 0; j < nalt; j++) {
            if (alts[j].bol && st > 0) continue;
            if (match_here(&alts[j], 0, t + st)) return st + 1;
        }
        if (!t[st]) return 0;
    }
}

static int glob(const char *pat, const char *t) {
    const char *star = NULL, *resume = NULL;
    while (*t) {
        if (*pat == '*') { star = pat++; resume = t; continue; }
        int ok;
        const char *np = pat + 1;
        if (*pat == '?') ok = 1;
        else if (*pat == '[') {
            ok = 0;
            np = pat + 1;
            while (*np && *np != ']') {
                if (np[1] == '-' && np[2] && np[2] != ']') { ok |= *t >= np[0] && *t <= np[2]; np += 3; }
                else ok |= *np++ == *t;
            }
            if (*np) np++;
        } else ok = *pat == *t;
        if (ok && *pat) { pat = np; t++; continue; }
        if (!star) return 0;
        pat = star + 1;
        t = ++resume;
    }
    while (*pat == '*') pat++;
    return *pat == 0;
}

static const char *PATTERNS[] = {
    "ab+c", "^the", "[0-9]+\\.[0-9]+", "x[^aeiou ]*y$", "q.?u.*k", "foo|bar",
    "[a-f][a-f][a-f][a-f]", "o+p+s", "^[a-z]+ [a-z]+$", "z.*z.*z", "cat|dog|bird", "e[st]+e",
};
static const char *GLOBS[] = {"*ab*", "the *", "*[0-9].[0-9]*", "?o*", "*e?t*e*", "*[xyz]", "a*b*c*d"};

int main(int argc, char **argv) {
    long lines = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    static re_t alts[12][4]; /* static: 100 KiB is more than the default wasm stack */
    int nalts[12];
    for (int i = 0; i < 12; i++) {
        const char *s = PATTERNS[i];
        nalts[i] = 0;
        for (;;) {
            s = compile(s, &alts[i][nalts[i]++]);
            if (*s != '|') break;
            s++;
        }
    }
    static const char *WORDS[] = {"the", "abbbc", "quick", "brown", "fox", "3.14", "oops", "zz",
                                  "cafe", "dead", "beef", "cat", "dog", "xkcdy", "esteem", "ab",
                                  "lazy", "42.0", "queue", "bird", "foo", "z"};
    uint64_t rng = 12345, sum = 0;
    char line[256];
    for (long l = 0; l < lines; l++) {
        int len = 0, nw = 0;
        for (;;) {
            rng = rng * 6364136223846793005ull + 1;
            const char *w = WORDS[(rng >> 33) % 22];
            if (len + (int)strlen(w) + 2 > 120 || nw > 3 + (int)((rng >> 50) % 9)) break;
            if (len) line[len++] = ' ';
            memcpy(line + len, w, strlen(w));
            len += (int)strlen(w);
            if ((rng >> 45) % 5 == 0) line[len++] = (char)('a' + (rng >> 20) % 26);
            nw++;
        }
        line[len] = 0;
        for (int i = 0; i < 12; i++) sum = sum * 31 + (uint64_t)search(alts[i], nalts[i], line);
        for (int i = 0; i < 7; i++) sum = sum * 3 + (uint64_t)glob(GLOBS[i], line);
    }
    sum = sum * 31 + (uint64_t)steps;
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
