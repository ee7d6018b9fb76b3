/*
 * nbody: gravitational N-body simulation in f64.
 *
 * A small cluster of bodies (positions/velocities/masses derived from an
 * integer PRNG, so the start state is exact) is advanced with a
 * semi-implicit Euler integrator.  Only +, -, *, / and sqrt are used, all of
 * which are correctly rounded in IEEE 754 on both native x86-64 (SSE2) and
 * WebAssembly, so the result is bit-identical everywhere as long as no
 * fast-math / FMA contraction is enabled.
 *
 * argv[1]: number of time steps (default DEFAULT_SIZE).
 * Output : "checksum: <u64>" built from the bit patterns of the final
 *          energy and of the rounded positions.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

#define DEFAULT_SIZE 5000000
#define NBODIES 9

typedef struct {
    double x, y, z;
    double vx, vy, vz;
    double m;
} body_t;

static uint64_t rng_state = 0x243F6A8885A308D3ull;

static uint32_t rng_next(void) {
    /* xorshift64 with a multiplicative output step */
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)((rng_state * 0x9E3779B97F4A7C15ull) >> 32);
}

/* a value in [-range, range) with 1/1024 resolution, exact in f64 */
static double rng_coord(int range) {
    int32_t v = (int32_t)(rng_next() % (uint32_t)(2 * range * 1024)) - range * 1024;
    return (double)v / 1024.0;
}

static void init_bodies(body_t *b, int n) {
    /* a heavy central body plus lighter satellites */
    memset(b, 0, sizeof(body_t) * (size_t)n);
    b[0].m = 1000.0;
    for (int i = 1; i < n; i++) {
        b[i].x = rng_coord(40);
        b[i].y = rng_coord(40);
        b[i].z = rng_coord(4);
        b[i].vx = rng_coord(2);
        b[i].vy = rng_coord(2);
        b[i].vz = rng_coord(1) / 8.0;
        b[i].m = 1.0 + (double)(rng_next() % 64) / 16.0;
    }
    /* remove net momentum so the cluster stays centred */
    double px = 0, py = 0, pz = 0;
    for (int i = 1; i < n; i++) {
        px += b[i].vx * b[i].m;
        py += b[i].vy * b[i].m;
        pz += b[i].vz * b[i].m;
    }
    b[0].vx = -px / b[0].m;
    b[0].vy = -py / b[0].m;
    b[0].vz = -pz / b[0].m;
}

static void step(body_t *b, int n, double dt) {
    const double soft = 0.01; /* softening avoids singular close encounters */
    for (int i = 0; i < n; i++) {
        body_t *bi = &b[i];
        for (int j = i + 1; j < n; j++) {
            body_t *bj = &b[j];
            double dx = bi->x - bj->x;
            double dy = bi->y - bj->y;
            double dz = bi->z - bj->z;
            double d2 = dx * dx + dy * dy + dz * dz + soft;
            double d = sqrt(d2);
            double mag = dt / (d2 * d);
            double mi = bi->m * mag;
            double mj = bj->m * mag;
            bi->vx -= dx * mj;
            bi->vy -= dy * mj;
            bi->vz -= dz * mj;
            bj->vx += dx * mi;
            bj->vy += dy * mi;
            bj->vz += dz * mi;
        }
    }
    for (int i = 0; i < n; i++) {
        b[i].x += dt * b[i].vx;
        b[i].y += dt * b[i].vy;
        b[i].z += dt * b[i].vz;
    }
}

static double energy(const body_t *b, int n) {
    const double soft = 0.01;
    double e = 0.0;
    for (int i = 0; i < n; i++) {
        e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < n; j++) {
            double dx = b[i].x - b[j].x;
            double dy = b[i].y - b[j].y;
            double dz = b[i].z - b[j].z;
            e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz + soft);
        }
    }
    return e;
}

/* round to integer; out-of-range values (never expected) map to a constant,
 * because wasm's trapping float->int conversion would otherwise trap */
static int64_t q(double d) {
    double s = d * 1000.0;
    if (!(s > -1e15 && s < 1e15)) return 0x7777;
    return (int64_t)s;
}

static uint64_t bits_of(double d) {
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

int main(int argc, char **argv) {
    long steps = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    body_t bodies[NBODIES];
    init_bodies(bodies, NBODIES);

    double e0 = energy(bodies, NBODIES);
    uint64_t sum = bits_of(e0);
    for (long s = 0; s < steps; s++) {
        step(bodies, NBODIES, 0.001);
        if ((s & 65535) == 65535) {
            /* fold an intermediate sample in as well */
            sum = sum * 31 + bits_of(energy(bodies, NBODIES));
        }
    }
    double e1 = energy(bodies, NBODIES);
    sum = sum * 31 + bits_of(e1);
    for (int i = 0; i < NBODIES; i++) {
        /* integer-rounded positions (scaled) are also folded in */
        int64_t qx = q(bodies[i].x);
        int64_t qy = q(bodies[i].y);
        int64_t qz = q(bodies[i].z);
        sum = sum * 31 + (uint64_t)qx;
        sum = sum * 31 + (uint64_t)qy;
        sum = sum * 31 + (uint64_t)qz;
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
