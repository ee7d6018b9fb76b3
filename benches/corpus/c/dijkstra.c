/*
 * dijkstra: single-source shortest paths on a random sparse directed graph
 * (compressed adjacency arrays), with a binary min-heap that supports
 * decrease-key through a position index. Runs from several sources and
 * checks the triangle inequality on every edge afterwards.
 *
 * argv[1]: number of vertices (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SIZE 80000
#define DEG 6
#define INF UINT64_MAX

static uint64_t rng = 0x853c49e6748fea9bull;
static uint32_t next(void) {
    uint64_t old = rng;
    rng = old * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t x = (uint32_t)(((old >> 18) ^ old) >> 27), r = (uint32_t)(old >> 59);
    return (x >> r) | (x << ((32 - r) & 31));
}

static uint32_t *heap, *pos; /* pos[v] = index in heap + 1, 0 = not in heap */
static uint64_t *dist;
static uint32_t hn;

static void swap_at(uint32_t i, uint32_t j) {
    uint32_t a = heap[i], b = heap[j];
    heap[i] = b; heap[j] = a;
    pos[b] = i + 1; pos[a] = j + 1;
}
static void up(uint32_t i) {
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (dist[heap[p]] <= dist[heap[i]]) break;
        swap_at(i, p);
        i = p;
    }
}
static void down(uint32_t i) {
    for (;;) {
        uint32_t l = 2 * i + 1, m = i;
        if (l < hn && dist[heap[l]] < dist[heap[m]]) m = l;
        if (l + 1 < hn && dist[heap[l + 1]] < dist[heap[m]]) m = l + 1;
        if (m == i) return;
        swap_at(i, m);
        i = m;
    }
}
static void push_or_decrease(uint32_t v) {
    if (pos[v]) { up(pos[v] - 1); return; }
    heap[hn] = v; pos[v] = hn + 1; hn++;
    up(hn - 1);
}
static uint32_t pop(void) {
    uint32_t v = heap[0];
    hn--;
    if (hn) { heap[0] = heap[hn]; pos[heap[0]] = 1; down(0); }
    pos[v] = 0;
    return v;
}

int main(int argc, char **argv) {
    uint32_t n = argc > 1 ? (uint32_t)atol(argv[1]) : DEFAULT_SIZE;
    uint32_t m = n * DEG;
    uint32_t *start = malloc((n + 1) * 4), *to = malloc(m * 4), *w = malloc(m * 4);
    heap = malloc(n * 4); pos = calloc(n, 4); dist = malloc(n * 8);
    /* every vertex has DEG edges: one to its successor (so all are reachable) and random ones */
    for (uint32_t v = 0; v <= n; v++) start[v] = v * DEG;
    for (uint32_t v = 0; v < n; v++) {
        for (uint32_t k = 0; k < DEG; k++) {
            uint32_t e = v * DEG + k;
            to[e] = k == 0 ? (v + 1) % n : (k < 3 ? (v + next() % 64) % n : next() % n);
            w[e] = 1 + next() % (k == 0 ? 1000 : 100);
        }
    }
    uint64_t sum = 0;
    for (int src = 0; src < 8; src++) {
        uint32_t s0 = (uint32_t)src * (n / 8);
        for (uint32_t v = 0; v < n; v++) dist[v] = INF;
        dist[s0] = 0;
        hn = 0;
        push_or_decrease(s0);
        uint64_t pops = 0;
        while (hn) {
            uint32_t u = pop();
            pops++;
            for (uint32_t e = start[u]; e < start[u + 1]; e++) {
                uint64_t d = dist[u] + w[e];
                if (d < dist[to[e]]) { dist[to[e]] = d; push_or_decrease(to[e]); }
            }
        }
        for (uint32_t u = 0; u < n; u++)
            for (uint32_t e = start[u]; e < start[u + 1]; e++)
                if (dist[u] + w[e] < dist[to[e]]) { printf("checksum: not-shortest\n"); return 1; }
        uint64_t h = pops;
        for (uint32_t v = 0; v < n; v++) h = h * 31 + dist[v];
        sum = sum * 1000003 + h;
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
