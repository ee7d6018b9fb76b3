/*
 * raytrace: a small Whitted-style ray tracer in double precision: spheres
 * and a checkered plane, point lights with shadow rays, mirror reflection
 * up to a fixed depth, 2x2 supersampling. Uses only + - * / sqrt, so the
 * result is bit-identical everywhere; pixels are folded in as integers.
 *
 * argv[1]: image width (height is 3/4 of it; default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define DEFAULT_SIZE 460

typedef struct { double x, y, z; } vec;
static vec v(double x, double y, double z) { return (vec){x, y, z}; }
static vec add(vec a, vec b) { return v(a.x + b.x, a.y + b.y, a.z + b.z); }
static vec sub(vec a, vec b) { return v(a.x - b.x, a.y - b.y, a.z - b.z); }
static vec scale(vec a, double s) { return v(a.x * s, a.y * s, a.z * s); }
static double dot(vec a, vec b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
static vec norm(vec a) { return scale(a, 1.0 / sqrt(dot(a, a))); }

typedef struct { vec c; double r; vec color; double refl; } sphere;
#define NS 6
static sphere S[NS];
static const vec LIGHTS[2] = {{-5, 8, -3}, {6, 5, -6}};

/* nearest hit: returns t (or 0) and the object (-1 = plane) */
static double hit(vec o, vec d, int *obj) {
    double best = 1e30;
    *obj = -2;
    for (int i = 0; i < NS; i++) {
        vec oc = sub(o, S[i].c);
        double b = dot(oc, d), c = dot(oc, oc) - S[i].r * S[i].r, disc = b * b - c;
        if (disc <= 0) continue;
        double sq = sqrt(disc), t = -b - sq;
        if (t < 1e-6) t = -b + sq;
        if (t > 1e-6 && t < best) { best = t; *obj = i; }
    }
    if (d.y < -1e-9) { /* plane y = -1 */
        double t = (-1 - o.y) / d.y;
        if (t > 1e-6 && t < 1e4 && t < best) { best = t; *obj = -1; }
    }
    return *obj == -2 ? 0 : best;
}

static vec trace(vec o, vec d, int depth) {
    int obj;
    double t = hit(o, d, &obj);
    if (t == 0) return v(0.2 + 0.3 * d.y, 0.3 + 0.3 * d.y, 0.6);
    vec p = add(o, scale(d, t)), n, color;
    double refl;
    if (obj == -1) {
        n = v(0, 1, 0);
        long cx = (long)(p.x + 1000), cz = (long)(p.z + 1000);
        color = ((cx + cz) & 1) ? v(0.9, 0.9, 0.9) : v(0.2, 0.2, 0.25);
        refl = 0.2;
    } else {
        n = norm(sub(p, S[obj].c));
        color = S[obj].color;
        refl = S[obj].refl;
    }
    vec out = scale(color, 0.1);
    for (int l = 0; l < 2; l++) {
        vec ld = sub(LIGHTS[l], p);
        double dist2 = dot(ld, ld);
        ld = norm(ld);
        double diff = dot(n, ld);
        if (diff <= 0) continue;
        int o2;
        double ts = hit(add(p, scale(n, 1e-4)), ld, &o2);
        if (ts != 0 && ts * ts < dist2) continue;
        out = add(out, scale(color, diff * 0.6));
        vec h = norm(sub(ld, d));
        double spec = dot(n, h);
        if (spec > 0) {
            spec *= spec; spec *= spec; spec *= spec; spec *= spec; spec *= spec; /* ^32 */
            out = add(out, v(spec * 0.5, spec * 0.5, spec * 0.5));
        }
    }
    if (depth < 4 && refl > 0) {
        vec r = sub(d, scale(n, 2 * dot(d, n)));
        out = add(scale(out, 1 - refl), scale(trace(add(p, scale(n, 1e-4)), r, depth + 1), refl));
    }
    return out;
}

int main(int argc, char **argv) {
    int w = argc > 1 ? atoi(argv[1]) : DEFAULT_SIZE, h = w * 3 / 4;
    for (int i = 0; i < NS; i++) {
        double a = i * 1.1;
        S[i] = (sphere){v(-3 + i * 1.3, -0.4 + (i % 3) * 0.5, 4 + (i % 2) * 2.5 + a * 0.1), 0.6 + 0.1 * (i % 3),
                        v(0.3 + 0.1 * i, 0.9 - 0.12 * i, 0.4 + 0.08 * (i % 4)), i % 2 ? 0.5 : 0.15};
    }
    uint64_t sum = 0;
    vec eye = v(0, 1, -3);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            vec c = v(0, 0, 0);
            for (int sy = 0; sy < 2; sy++)
                for (int sx = 0; sx < 2; sx++) {
                    double px = ((x + 0.25 + 0.5 * sx) / w - 0.5) * 2.0 * w / h;
                    double py = 0.5 - (y + 0.25 + 0.5 * sy) / h;
                    vec d = norm(v(px, py * 2.0 - 0.3, 1.5));
                    c = add(c, trace(eye, d, 0));
                }
            c = scale(c, 0.25);
            uint32_t r = (uint32_t)(fmin(c.x, 1.0) * 255), g = (uint32_t)(fmin(c.y, 1.0) * 255),
                     b = (uint32_t)(fmin(c.z, 1.0) * 255);
            sum = sum * 1000003 + (r << 16 | g << 8 | b);
        }
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
