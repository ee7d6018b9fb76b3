/*
 * treemap: a generic ordered map as a template (a treap: a binary search
 * tree with random heap priorities, split/merge based), instantiated for
 * integer keys and for fixed-size string keys with a comparator class.
 * Inserts, lookups, erases, in-order iteration and rank queries.
 *
 * argv[1]: number of operations (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include "rt.h"

#define DEFAULT_SIZE 200000

template <typename K, typename V, typename Less> class TreapMap {
    struct Node {
        K key;
        V val;
        uint32_t prio, size;
        Node *l = nullptr, *r = nullptr;
        Node(const K &k, const V &v, uint32_t p) : key(k), val(v), prio(p), size(1) {}
    };
    Node *root_ = nullptr;
    Less less_;
    Rng rng_{12345};

    static uint32_t sz(Node *n) { return n ? n->size : 0; }
    static void fix(Node *n) { n->size = 1 + sz(n->l) + sz(n->r); }
    /* splits n into keys < k and keys >= k */
    void split(Node *n, const K &k, Node *&a, Node *&b) {
        if (!n) {
            a = b = nullptr;
            return;
        }
        if (less_(n->key, k)) {
            split(n->r, k, n->r, b);
            a = n;
        } else {
            split(n->l, k, a, n->l);
            b = n;
        }
        fix(n);
    }
    Node *merge(Node *a, Node *b) {
        if (!a) return b;
        if (!b) return a;
        if (a->prio > b->prio) {
            a->r = merge(a->r, b);
            fix(a);
            return a;
        }
        b->l = merge(a, b->l);
        fix(b);
        return b;
    }
    static void destroy(Node *n) {
        if (!n) return;
        destroy(n->l);
        destroy(n->r);
        delete n;
    }
    template <typename F> static void walk(Node *n, F &f) {
        if (!n) return;
        walk(n->l, f);
        f(n->key, n->val);
        walk(n->r, f);
    }

  public:
    ~TreapMap() { destroy(root_); }
    V *find(const K &k) {
        Node *n = root_;
        while (n) {
            if (less_(k, n->key)) n = n->l;
            else if (less_(n->key, k)) n = n->r;
            else return &n->val;
        }
        return nullptr;
    }
    void put(const K &k, const V &v) {
        if (V *p = find(k)) {
            *p = v;
            return;
        }
        Node *a, *b;
        split(root_, k, a, b);
        root_ = merge(merge(a, new Node(k, v, (uint32_t)rng_.next())), b);
    }
    bool erase(const K &k) {
        Node **link = &root_;
        while (*link) {
            Node *n = *link;
            if (less_(k, n->key)) link = &n->l;
            else if (less_(n->key, k)) link = &n->r;
            else {
                *link = merge(n->l, n->r);
                delete n;
                /* the ancestors of the erased node each lost one descendant */
                Node *m = root_;
                while (m && m != *link) {
                    m->size--;
                    m = less_(k, m->key) ? m->l : m->r;
                }
                return true;
            }
        }
        return false;
    }
    uint32_t rank(const K &k) const { /* number of keys < k */
        uint32_t r = 0;
        Node *n = root_;
        while (n) {
            if (less_(n->key, k)) {
                r += sz(n->l) + 1;
                n = n->r;
            } else
                n = n->l;
        }
        return r;
    }
    uint32_t size() const { return sz(root_); }
    template <typename F> void for_each(F f) { walk(root_, f); }
};

struct IntLess {
    bool operator()(uint32_t a, uint32_t b) const { return a < b; }
};
struct Name {
    char s[12];
};
struct NameLess {
    bool operator()(const Name &a, const Name &b) const { return strcmp(a.s, b.s) < 0; }
};

int main(int argc, char **argv) {
    long ops = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    Rng rng(7);
    uint64_t sum = 0;
    {
        TreapMap<uint32_t, uint64_t, IntLess> m;
        for (long i = 0; i < ops; i++) {
            uint32_t k = rng.below((uint32_t)ops);
            switch (rng.below(4)) {
            case 0:
            case 1: m.put(k, (uint64_t)i * 3); break;
            case 2: {
                uint64_t *v = m.find(k);
                sum = sum * 31 + (v ? *v : 7);
                break;
            }
            default: {
                bool erased = m.erase(k);
                sum = sum * 31 + erased + m.rank(k);
                break;
            }
            }
        }
        uint64_t acc = 0;
        m.for_each([&acc](uint32_t k, uint64_t v) { acc = acc * 1000003 + k + v; });
        sum = sum * 31 + acc + m.size();
    }
    {
        TreapMap<Name, uint32_t, NameLess> m;
        for (long i = 0; i < ops / 3; i++) {
            Name n;
            uint32_t v = rng.below(20000);
            for (int c = 0; c < 6; c++) {
                n.s[c] = (char)('a' + v % 7 + c);
                v /= 3;
            }
            n.s[6] = 0;
            if (uint32_t *p = m.find(n)) ++*p;
            else m.put(n, 1);
        }
        uint64_t acc = 0;
        m.for_each([&acc](const Name &k, uint32_t v) { acc = acc * 31 + (uint8_t)k.s[0] * v + (uint8_t)k.s[5]; });
        sum = sum * 31 + acc + m.size();
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
