/*
 * hashtable: a chained hash table with heavy allocation churn.
 *
 * Keys are short strings generated from a PRNG ("k" + base-36 digits),
 * stored inline in malloc'ed entries of varying size.  The workload mixes
 * inserts (new entry or value update), lookups, and deletes (free), and the
 * bucket array is grown and shrunk with realloc-free rehashing.  The key
 * space is bounded, so the table hovers around a steady-state size while
 * entries are continuously freed and reallocated.
 *
 * argv[1]: number of operations (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 4500000
#define KEY_SPACE 200000u

typedef struct entry {
    struct entry *next;
    uint32_t hash;
    uint32_t len;
    uint64_t value;
    char *payload; /* separately allocated blob of variable size */
    char key[];    /* NUL-terminated */
} entry_t;

typedef struct {
    entry_t **buckets;
    size_t nbuckets; /* power of two */
    size_t count;
} table_t;

static uint32_t hash_str(const char *s, uint32_t len) {
    uint32_t h = 2166136261u;
    for (uint32_t i = 0; i < len; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    h ^= h >> 15;
    h *= 0x2c1b3c6du;
    h ^= h >> 12;
    return h;
}

static void table_init(table_t *t, size_t n) {
    t->nbuckets = n;
    t->count = 0;
    t->buckets = calloc(n, sizeof(entry_t *));
}

static void table_resize(table_t *t, size_t n) {
    entry_t **nb = calloc(n, sizeof(entry_t *));
    for (size_t i = 0; i < t->nbuckets; i++) {
        entry_t *e = t->buckets[i];
        while (e) {
            entry_t *nx = e->next;
            size_t b = e->hash & (n - 1);
            e->next = nb[b];
            nb[b] = e;
            e = nx;
        }
    }
    free(t->buckets);
    t->buckets = nb;
    t->nbuckets = n;
}

static entry_t *table_find(const table_t *t, const char *k, uint32_t len, uint32_t h) {
    for (entry_t *e = t->buckets[h & (t->nbuckets - 1)]; e; e = e->next)
        if (e->hash == h && e->len == len && memcmp(e->key, k, len) == 0) return e;
    return NULL;
}

/* returns 1 if a new entry was created */
static int table_put(table_t *t, const char *k, uint32_t len, uint64_t v) {
    uint32_t h = hash_str(k, len);
    entry_t *e = table_find(t, k, len, h);
    if (e) {
        e->value = v;
        /* replace the payload with one of a different size */
        free(e->payload);
        size_t plen = 8 + (v & 63);
        e->payload = malloc(plen);
        memset(e->payload, (int)(v & 0xFF), plen);
        return 0;
    }
    e = malloc(sizeof(entry_t) + len + 1);
    memcpy(e->key, k, len);
    e->key[len] = 0;
    e->len = len;
    e->hash = h;
    e->value = v;
    size_t plen = 8 + (v & 63);
    e->payload = malloc(plen);
    memset(e->payload, (int)(v & 0xFF), plen);
    size_t b = h & (t->nbuckets - 1);
    e->next = t->buckets[b];
    t->buckets[b] = e;
    t->count++;
    if (t->count > t->nbuckets) table_resize(t, t->nbuckets * 2);
    return 1;
}

static int table_del(table_t *t, const char *k, uint32_t len) {
    uint32_t h = hash_str(k, len);
    entry_t **pp = &t->buckets[h & (t->nbuckets - 1)];
    while (*pp) {
        entry_t *e = *pp;
        if (e->hash == h && e->len == len && memcmp(e->key, k, len) == 0) {
            *pp = e->next;
            free(e->payload);
            free(e);
            t->count--;
            if (t->nbuckets > 64 && t->count < t->nbuckets / 8) table_resize(t, t->nbuckets / 2);
            return 1;
        }
        pp = &e->next;
    }
    return 0;
}

static void table_free(table_t *t) {
    for (size_t i = 0; i < t->nbuckets; i++) {
        entry_t *e = t->buckets[i];
        while (e) {
            entry_t *nx = e->next;
            free(e->payload);
            free(e);
            e = nx;
        }
    }
    free(t->buckets);
}

static uint64_t st = 0x9E3779B97F4A7C15ull;
static uint64_t next64(void) {
    /* splitmix64-style generator */
    uint64_t z = (st += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint32_t make_key(char *buf, uint32_t id) {
    static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    uint32_t n = 0;
    buf[n++] = 'k';
    /* variable length: a prefix repeated depending on the id */
    for (uint32_t r = 0; r < (id % 4); r++) buf[n++] = '_';
    do {
        buf[n++] = digits[id % 36];
        id /= 36;
    } while (id);
    buf[n] = 0;
    return n;
}

int main(int argc, char **argv) {
    long ops = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    table_t t;
    table_init(&t, 16);
    uint64_t sum = 0;
    char key[32];
    for (long i = 0; i < ops; i++) {
        uint64_t r = next64();
        /* phase-dependent key space so the table grows and shrinks */
        uint32_t space = (i / 500000) % 2 ? KEY_SPACE / 10 : KEY_SPACE;
        uint32_t id = (uint32_t)(r >> 32) % space;
        uint32_t len = make_key(key, id);
        uint32_t kind = (uint32_t)r % 10;
        if (kind < 4) {
            sum += (uint64_t)table_put(&t, key, len, r >> 8) * 3;
        } else if (kind < 8) {
            entry_t *e = table_find(&t, key, len, hash_str(key, len));
            if (e) sum += e->value ^ (uint8_t)e->payload[0];
            else sum += 1;
        } else {
            sum += (uint64_t)table_del(&t, key, len) * 5;
        }
        sum = (sum << 1) | (sum >> 63);
    }
    sum ^= t.count * 0x100000001b3ull;
    sum ^= t.nbuckets;
    table_free(&t);
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
