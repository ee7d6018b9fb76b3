/*
 * exprcalc: a recursive-descent expression parser and evaluator.
 * Generates random expressions as text (integer literals, variables a..h,
 * + - * / % with precedence, unary minus, parentheses, comparisons, the
 * ternary ?: and calls of min/max/abs), parses each one into an AST in an
 * arena, and evaluates the tree for many variable assignments.
 *
 * argv[1]: number of expressions (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 24000

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)((rng >> 20) % n);
}

/* ---- generator ---- */
static char buf[1 << 20];
static int blen;
static void put(const char *s) { while (*s) buf[blen++] = *s++; }
static void gen(int depth) {
    uint32_t r = rnd(depth > 5 ? 3 : 12);
    char tmp[32];
    switch (r) {
    case 0: sprintf(tmp, "%u", rnd(1000)); put(tmp); break;
    case 1: case 2: tmp[0] = (char)('a' + rnd(8)); tmp[1] = 0; put(tmp); break;
    case 3: put("("); gen(depth + 1); put(")"); break;
    case 4: put("-"); gen(depth + 1); break;
    case 5: put(rnd(2) ? "min(" : "max("); gen(depth + 1); put(", "); gen(depth + 1); put(")"); break;
    case 6: put("abs("); gen(depth + 1); put(")"); break;
    case 7: gen(depth + 1); put(" < "); gen(depth + 1); put(" ? "); gen(depth + 1); put(" : "); gen(depth + 1); break;
    default: {
        static const char *ops[] = {" + ", " - ", " * ", " / ", " % ", " == ", " != ", " <= ", " & "};
        put("("); gen(depth + 1); put(ops[rnd(9)]); gen(depth + 1); put(")");
    }
    }
}

/* ---- AST ---- */
enum { N_NUM, N_VAR, N_NEG, N_ADD, N_SUB, N_MUL, N_DIV, N_MOD, N_EQ, N_NE, N_LT, N_LE, N_AND,
       N_MIN, N_MAX, N_ABS, N_COND };
typedef struct { uint8_t kind; int32_t val; int32_t a, b, c; } node_t;
static node_t nodes[1 << 18];
static int nn;
static const char *p;

static int mk(int k, int32_t v, int a, int b, int c) {
    nodes[nn] = (node_t){(uint8_t)k, v, a, b, c};
    return nn++;
}
static void ws(void) { while (*p == ' ') p++; }
static int expr(void);
static int primary(void) {
    ws();
    if (*p == '(') { p++; int e = expr(); ws(); p++; return e; }
    if (*p == '-') { p++; return mk(N_NEG, 0, primary(), -1, -1); }
    if (*p >= '0' && *p <= '9') {
        int32_t v = 0;
        while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
        return mk(N_NUM, v, -1, -1, -1);
    }
    if (!strncmp(p, "min(", 4) || !strncmp(p, "max(", 4)) {
        int k = p[1] == 'i' ? N_MIN : N_MAX;
        p += 4;
        int a = expr(); ws(); p++; /* , */
        int b = expr(); ws(); p++; /* ) */
        return mk(k, 0, a, b, -1);
    }
    if (!strncmp(p, "abs(", 4)) { p += 4; int a = expr(); ws(); p++; return mk(N_ABS, 0, a, -1, -1); }
    return mk(N_VAR, *p++ - 'a', -1, -1, -1);
}
static int term(void) {
    int l = primary();
    for (;;) {
        ws();
        int k = *p == '*' ? N_MUL : *p == '/' ? N_DIV : *p == '%' ? N_MOD : -1;
        if (k < 0) return l;
        p++;
        l = mk(k, 0, l, primary(), -1);
    }
}
static int sum_(void) {
    int l = term();
    for (;;) {
        ws();
        int k = *p == '+' ? N_ADD : *p == '-' ? N_SUB : -1;
        if (k < 0) return l;
        p++;
        l = mk(k, 0, l, term(), -1);
    }
}
static int cmp_(void) {
    int l = sum_();
    for (;;) {
        ws();
        int k = -1;
        if (p[0] == '=' && p[1] == '=') { k = N_EQ; p += 2; }
        else if (p[0] == '!' && p[1] == '=') { k = N_NE; p += 2; }
        else if (p[0] == '<' && p[1] == '=') { k = N_LE; p += 2; }
        else if (p[0] == '<') { k = N_LT; p += 1; }
        else if (p[0] == '&') { k = N_AND; p += 1; }
        if (k < 0) return l;
        l = mk(k, 0, l, sum_(), -1);
    }
}
static int expr(void) {
    int c = cmp_();
    ws();
    if (*p == '?') {
        p++;
        int t = expr(); ws(); p++; /* : */
        int f = expr();
        return mk(N_COND, 0, c, t, f);
    }
    return c;
}

static int32_t vars[8];
static int32_t eval(int i) {
    const node_t *n = &nodes[i];
    switch (n->kind) {
    case N_NUM: return n->val;
    case N_VAR: return vars[n->val];
    case N_NEG: return (int32_t)(0u - (uint32_t)eval(n->a));
    case N_ADD: return (int32_t)((uint32_t)eval(n->a) + (uint32_t)eval(n->b));
    case N_SUB: return (int32_t)((uint32_t)eval(n->a) - (uint32_t)eval(n->b));
    case N_MUL: return (int32_t)((uint32_t)eval(n->a) * (uint32_t)eval(n->b));
    case N_DIV: case N_MOD: {
        int32_t a = eval(n->a), b = eval(n->b);
        if (b == 0 || (a == INT32_MIN && b == -1)) return 0;
        return n->kind == N_DIV ? a / b : a % b;
    }
    case N_EQ: return eval(n->a) == eval(n->b);
    case N_NE: return eval(n->a) != eval(n->b);
    case N_LT: return eval(n->a) < eval(n->b);
    case N_LE: return eval(n->a) <= eval(n->b);
    case N_AND: return eval(n->a) & eval(n->b);
    case N_MIN: { int32_t a = eval(n->a), b = eval(n->b); return a < b ? a : b; }
    case N_MAX: { int32_t a = eval(n->a), b = eval(n->b); return a > b ? a : b; }
    case N_ABS: { int32_t a = eval(n->a); return a < 0 ? (int32_t)(0u - (uint32_t)a) : a; }
    default: return eval(n->a) ? eval(n->b) : eval(n->c);
    }
}

int main(int argc, char **argv) {
    long count = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    uint64_t sum = 0;
    for (long e = 0; e < count; e++) {
        blen = 0;
        gen(0);
        buf[blen] = 0;
        nn = 0;
        p = buf;
        int root = expr();
        sum = sum * 31 + (uint64_t)nn * 7 + (uint64_t)blen;
        for (int k = 0; k < 40; k++) {
            for (int v = 0; v < 8; v++) vars[v] = (int32_t)rnd(200) - 100;
            sum = sum * 1000003 + (uint32_t)eval(root);
        }
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
