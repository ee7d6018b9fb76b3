/*
 * jsonparse: a JSON-like parser. Generates documents (nested objects and
 * arrays, integers, decimals, strings with escapes, true/false/null),
 * parses them into a tree of nodes in an arena (child/sibling links),
 * walks the tree, and serializes it back to text, checking that parsing the
 * output again gives the same shape.
 *
 * argv[1]: number of documents (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 4000

static uint64_t rng = 0xDEADBEEFCAFEull;
static uint32_t rnd(uint32_t n) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng >> 33) % n);
}

static char *out;
static size_t olen;
static void put(const char *s) { while (*s) out[olen++] = *s++; }
static void putc_(char c) { out[olen++] = c; }

static void gen_string(void) {
    putc_('"');
    int n = (int)rnd(12);
    for (int i = 0; i < n; i++) {
        uint32_t r = rnd(40);
        if (r == 0) put("\\n");
        else if (r == 1) put("\\\"");
        else if (r == 2) put("\\u00e9");
        else putc_((char)('a' + r % 26));
    }
    putc_('"');
}
static void gen_value(int depth) {
    char tmp[32];
    uint32_t r = rnd(depth > 4 ? 6 : 9);
    switch (r) {
    case 0: sprintf(tmp, "%d", (int)rnd(100000) - 50000); put(tmp); break;
    case 1: sprintf(tmp, "%u.%02u", rnd(1000), rnd(100)); put(tmp); break;
    case 2: case 3: gen_string(); break;
    case 4: put(rnd(2) ? "true" : "false"); break;
    case 5: put("null"); break;
    case 6: case 7: {
        putc_('{');
        int n = (int)rnd(6);
        for (int i = 0; i < n; i++) {
            if (i) put(", ");
            gen_string(); put(": "); gen_value(depth + 1);
        }
        putc_('}');
        break;
    }
    default: {
        putc_('[');
        int n = (int)rnd(8);
        for (int i = 0; i < n; i++) { if (i) putc_(','); gen_value(depth + 1); }
        putc_(']');
    }
    }
}

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct {
    uint8_t kind;
    int32_t first, next; /* first child, next sibling */
    int32_t key;         /* index of the key string node, for object members */
    int64_t num;         /* numbers in 1/100 units; bools 0/1; strings: hash */
    uint32_t len;
} jnode_t;
static jnode_t *nodes;
static int nn;
static const char *p;
static int err;

static void ws(void) { while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++; }
static int node(int kind) { nodes[nn] = (jnode_t){(uint8_t)kind, -1, -1, -1, 0, 0}; return nn++; }
static int hexval(char c) { return c <= '9' ? c - '0' : (c | 32) - 'a' + 10; }

static int parse_string(void) {
    int n = node(J_STR);
    uint64_t h = 14695981039346656037ull;
    uint32_t len = 0;
    p++;
    while (*p != '"') {
        uint32_t c = (uint8_t)*p++;
        if (c == '\\') {
            char e = *p++;
            if (e == 'n') c = '\n';
            else if (e == 't') c = '\t';
            else if (e == 'u') { c = 0; for (int i = 0; i < 4; i++) c = c * 16 + (uint32_t)hexval(*p++); }
            else c = (uint8_t)e;
        } else if (c == 0) { err = 1; return n; }
        h = (h ^ c) * 1099511628211ull;
        len++;
    }
    p++;
    nodes[n].num = (int64_t)h;
    nodes[n].len = len;
    return n;
}

static int parse_value(void) {
    ws();
    char c = *p;
    if (c == '{' || c == '[') {
        int n = node(c == '{' ? J_OBJ : J_ARR), last = -1;
        char close = c == '{' ? '}' : ']';
        p++; ws();
        while (*p != close) {
            int key = -1;
            if (c == '{') {
                ws();
                if (*p != '"') { err = 1; return n; }
                key = parse_string(); ws();
                if (*p++ != ':') { err = 1; return n; }
            }
            int v = parse_value();
            if (err) return n;
            nodes[v].key = key;
            if (last < 0) nodes[n].first = v; else nodes[last].next = v;
            last = v;
            nodes[n].len++;
            ws();
            if (*p == ',') p++;
            else if (*p != close) { err = 1; return n; }
            ws();
        }
        p++;
        return n;
    }
    if (c == '"') return parse_string();
    if (c == 't' || c == 'f') { int n = node(J_BOOL); nodes[n].num = c == 't'; p += c == 't' ? 4 : 5; return n; }
    if (c == 'n') { p += 4; return node(J_NULL); }
    int n = node(J_NUM);
    int neg = 0;
    if (*p == '-') { neg = 1; p++; }
    int64_t v = 0;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    v *= 100;
    if (*p == '.') { p++; v += (p[0] - '0') * 10 + (p[1] - '0'); p += 2; }
    nodes[n].num = neg ? -v : v;
    return n;
}

static uint64_t walk(int n, int depth) {
    const jnode_t *j = &nodes[n];
    uint64_t h = (uint64_t)j->kind * 1000003 + (uint64_t)j->num + j->len * 7 + (uint64_t)depth;
    if (j->key >= 0) h ^= (uint64_t)nodes[j->key].num;
    for (int c = j->first; c >= 0; c = nodes[c].next) h = h * 31 + walk(c, depth + 1);
    return h;
}

static void serialize(int n) {
    const jnode_t *j = &nodes[n];
    char tmp[40];
    switch (j->kind) {
    case J_NULL: put("null"); break;
    case J_BOOL: put(j->num ? "true" : "false"); break;
    case J_NUM: {
        int64_t v = j->num < 0 ? -j->num : j->num;
        sprintf(tmp, "%s%lld.%02lld", j->num < 0 ? "-" : "", (long long)(v / 100), (long long)(v % 100));
        put(tmp);
        break;
    }
    case J_STR: sprintf(tmp, "\"s%llx\"", (unsigned long long)(j->num & 0xffffff)); put(tmp); break;
    default:
        putc_(j->kind == J_OBJ ? '{' : '[');
        for (int c = j->first; c >= 0; c = nodes[c].next) {
            if (c != j->first) putc_(',');
            if (j->kind == J_OBJ) { serialize(nodes[c].key); putc_(':'); }
            serialize(c);
        }
        putc_(j->kind == J_OBJ ? '}' : ']');
    }
}

int main(int argc, char **argv) {
    long docs = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    char *doc = malloc(1 << 22);
    out = malloc(1 << 22);
    nodes = malloc(sizeof(jnode_t) << 18);
    uint64_t sum = 0;
    for (long d = 0; d < docs; d++) {
        olen = 0;
        putc_('[');
        for (int i = 0; i < 20; i++) { if (i) put(",\n  "); gen_value(1); }
        putc_(']');
        out[olen] = 0;
        memcpy(doc, out, olen + 1);
        size_t dlen = olen;
        nn = 0; err = 0; p = doc;
        int root = parse_value();
        if (err) { printf("checksum: parse-error\n"); return 1; }
        uint64_t h1 = walk(root, 0);
        int n1 = nn;
        olen = 0;
        serialize(root);
        out[olen] = 0;
        nn = 0; p = out;
        int root2 = parse_value();
        if (err || nn != n1) { printf("checksum: reparse-error\n"); return 1; }
        sum = sum * 31 + h1;
        sum = sum * 31 + walk(root2, 0) + dlen + olen;
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
