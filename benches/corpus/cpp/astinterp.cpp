/*
 * astinterp: a tree-walking interpreter in the object-oriented style: each
 * AST node class overrides a virtual eval() (expressions) or exec()
 * (statements); variables live in a frame of slots, arrays in a heap of
 * integers. A small builder DSL constructs three guest programs: a
 * bubble sort, a nested-loop prime count with modulo, and an iterated
 * cellular automaton over an array.
 *
 * argv[1]: workload scale (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include "rt.h"

#define DEFAULT_SIZE 400

struct Frame {
    int64_t slot[16];
    int64_t *heap;
    uint64_t steps;
};

struct Expr {
    virtual ~Expr() {}
    virtual int64_t eval(Frame &f) const = 0;
};
struct Stmt {
    virtual ~Stmt() {}
    virtual void exec(Frame &f) const = 0;
};

struct Num : Expr {
    int64_t v;
    explicit Num(int64_t x) : v(x) {}
    int64_t eval(Frame &) const override { return v; }
};
struct Var : Expr {
    int s;
    explicit Var(int x) : s(x) {}
    int64_t eval(Frame &f) const override { return f.slot[s]; }
};
struct Load : Expr {
    Expr *idx;
    explicit Load(Expr *i) : idx(i) {}
    ~Load() override { delete idx; }
    int64_t eval(Frame &f) const override { return f.heap[idx->eval(f) & 0xffff]; }
};
enum Op { ADD, SUB, MUL, MOD, LT, EQ, AND };
struct Bin : Expr {
    Op op;
    Expr *l, *r;
    Bin(Op o, Expr *a, Expr *b) : op(o), l(a), r(b) {}
    ~Bin() override {
        delete l;
        delete r;
    }
    int64_t eval(Frame &f) const override {
        int64_t a = l->eval(f);
        if (op == AND && !a) return 0;
        int64_t b = r->eval(f);
        switch (op) {
        case ADD: return (int64_t)((uint64_t)a + (uint64_t)b);
        case SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
        case MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
        case MOD: return b ? a % b : 0;
        case LT: return a < b;
        case EQ: return a == b;
        default: return b != 0;
        }
    }
};

struct Assign : Stmt {
    int s;
    Expr *e;
    Assign(int x, Expr *v) : s(x), e(v) {}
    ~Assign() override { delete e; }
    void exec(Frame &f) const override {
        f.slot[s] = e->eval(f);
        f.steps++;
    }
};
struct Store : Stmt {
    Expr *idx, *e;
    Store(Expr *i, Expr *v) : idx(i), e(v) {}
    ~Store() override {
        delete idx;
        delete e;
    }
    void exec(Frame &f) const override {
        int64_t i = idx->eval(f);
        f.heap[i & 0xffff] = e->eval(f);
        f.steps++;
    }
};
struct Block : Stmt {
    Vec<Stmt *> body;
    ~Block() override {
        for (Stmt *s : body) delete s;
    }
    void exec(Frame &f) const override {
        for (size_t i = 0; i < body.size(); i++) body[i]->exec(f);
    }
};
struct While : Stmt {
    Expr *cond;
    Stmt *body;
    While(Expr *c, Stmt *b) : cond(c), body(b) {}
    ~While() override {
        delete cond;
        delete body;
    }
    void exec(Frame &f) const override {
        while (cond->eval(f)) body->exec(f);
    }
};
struct If : Stmt {
    Expr *cond;
    Stmt *then, *els;
    If(Expr *c, Stmt *t, Stmt *e) : cond(c), then(t), els(e) {}
    ~If() override {
        delete cond;
        delete then;
        delete els;
    }
    void exec(Frame &f) const override {
        if (cond->eval(f)) then->exec(f);
        else if (els) els->exec(f);
    }
};

/* builder helpers */
static Expr *N(int64_t v) { return new Num(v); }
static Expr *V(int s) { return new Var(s); }
static Expr *B(Op o, Expr *a, Expr *b) { return new Bin(o, a, b); }
static Stmt *set(int s, Expr *e) { return new Assign(s, e); }
static Stmt *seq(Stmt *a, Stmt *b, Stmt *c = nullptr, Stmt *d = nullptr, Stmt *e = nullptr) {
    Block *bl = new Block;
    Stmt *all[5] = {a, b, c, d, e};
    for (Stmt *s : all)
        if (s) bl->body.push(s);
    return bl;
}
static Stmt *inc(int s) { return set(s, B(ADD, V(s), N(1))); }

enum { I, J, N_, T, C, K, X };

int main(int argc, char **argv) {
    long scale = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    Frame f;
    memset(&f, 0, sizeof f);
    f.heap = new int64_t[65536];
    uint64_t sum = 0;

    /* 1. bubble sort of heap[0..n) */
    Stmt *bubble = seq(set(I, N(0)),
                       new While(B(LT, V(I), V(N_)),
                                 seq(set(J, N(0)),
                                     new While(B(LT, V(J), B(SUB, B(SUB, V(N_), V(I)), N(1))),
                                               seq(new If(B(LT, new Load(B(ADD, V(J), N(1))), new Load(V(J))),
                                                          seq(set(T, new Load(V(J))),
                                                              new Store(V(J), new Load(B(ADD, V(J), N(1)))),
                                                              new Store(B(ADD, V(J), N(1)), V(T))),
                                                          nullptr),
                                                   inc(J))),
                                     inc(I))));
    uint64_t s = 1;
    for (long i = 0; i < scale; i++) f.heap[i] = (int64_t)((s = s * 6364136223846793005ull + 1) >> 44);
    f.slot[N_] = scale;
    bubble->exec(f);
    for (long i = 0; i < scale; i++) sum = sum * 31 + (uint64_t)f.heap[i];

    /* 2. count primes below n by trial division */
    Stmt *primes =
        seq(set(C, N(0)), set(I, N(2)),
            new While(B(LT, V(I), V(N_)),
                      seq(set(J, N(2)), set(K, N(1)),
                          new While(B(AND, V(K), B(LT, B(MUL, V(J), V(J)), B(ADD, V(I), N(1)))),
                                    seq(new If(B(EQ, B(MOD, V(I), V(J)), N(0)), set(K, N(0)), nullptr), inc(J))),
                          new If(V(K), inc(C), nullptr), inc(I))));
    f.slot[N_] = scale * 60;
    primes->exec(f);
    sum = sum * 31 + (uint64_t)f.slot[C];

    /* 3. rule-110-like automaton over heap[0..w), scale/4 generations */
    /* the rule: new = (110 >> x) & 1, looked up in a table at heap[8192..] */
    Stmt *gen = seq(set(I, N(1)),
              new While(B(LT, V(I), B(SUB, V(N_), N(1))),
                        seq(set(X, B(ADD, B(ADD, B(MUL, new Load(B(SUB, V(I), N(1))), N(4)),
                                                B(MUL, new Load(V(I)), N(2))),
                                     new Load(B(ADD, V(I), N(1))))),
                            new Store(B(ADD, V(I), N(4096)), new Load(B(ADD, V(X), N(8192)))), inc(I))),
              set(I, N(1)),
              new While(B(LT, V(I), B(SUB, V(N_), N(1))),
                        seq(new Store(V(I), new Load(B(ADD, V(I), N(4096)))), inc(I))));
    for (int x = 0; x < 8; x++) f.heap[8192 + x] = (110 >> x) & 1;
    int64_t w = 4000;
    for (int64_t i = 0; i < w; i++) f.heap[i] = i == w - 2;
    f.slot[N_] = w;
    for (long g = 0; g < scale / 4; g++) {
        gen->exec(f);
        uint64_t row = 0;
        for (int64_t i = 0; i < w; i += 61) row = row * 3 + (uint64_t)f.heap[i];
        sum = sum * 31 + row;
    }
    sum = sum * 31 + f.steps;
    delete bubble;
    delete primes;
    delete gen;
    delete[] f.heap;
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
