/*
 * shapes: virtual dispatch over a class hierarchy. A scene of shapes
 * (circle, rectangle, triangle, polygon, group of shapes) built from a
 * PRNG; every frame each shape is moved, its area, perimeter and bounding
 * box are queried through virtual calls, and a visitor (double dispatch)
 * counts kinds. Fixed-point integers (1/1024 units) keep it exact.
 *
 * argv[1]: number of frames (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include "rt.h"

#define DEFAULT_SIZE 1000

struct Circle;
struct Rect;
struct Tri;
struct Poly;
struct Group;
struct Visitor {
    virtual void visit(Circle &) = 0;
    virtual void visit(Rect &) = 0;
    virtual void visit(Tri &) = 0;
    virtual void visit(Poly &) = 0;
    virtual void visit(Group &) = 0;
    virtual ~Visitor() {}
};

struct Box {
    int64_t x0, y0, x1, y1;
};

struct Shape {
    int64_t x, y;
    Shape(int64_t x_, int64_t y_) : x(x_), y(y_) {}
    virtual ~Shape() {}
    virtual int64_t area() const = 0;
    virtual int64_t perimeter() const = 0;
    virtual Box bounds() const = 0;
    virtual void move(int64_t dx, int64_t dy) {
        x += dx;
        y += dy;
    }
    virtual void accept(Visitor &v) = 0;
};

static int64_t isqrt(int64_t v) {
    if (v <= 0) return 0;
    int64_t r = 0, bit = (int64_t)1 << 62;
    while (bit > v) bit >>= 2;
    while (bit) {
        if (v >= r + bit) {
            v -= r + bit;
            r = (r >> 1) + bit;
        } else
            r >>= 1;
        bit >>= 2;
    }
    return r;
}

struct Circle : Shape {
    int64_t r;
    Circle(int64_t x_, int64_t y_, int64_t r_) : Shape(x_, y_), r(r_) {}
    int64_t area() const override { return r * r * 3217 / 1024; }
    int64_t perimeter() const override { return 2 * r * 3217 / 1024; }
    Box bounds() const override { return {x - r, y - r, x + r, y + r}; }
    void accept(Visitor &v) override { v.visit(*this); }
};
struct Rect : Shape {
    int64_t w, h;
    Rect(int64_t x_, int64_t y_, int64_t w_, int64_t h_) : Shape(x_, y_), w(w_), h(h_) {}
    int64_t area() const override { return w * h; }
    int64_t perimeter() const override { return 2 * (w + h); }
    Box bounds() const override { return {x, y, x + w, y + h}; }
    void accept(Visitor &v) override { v.visit(*this); }
};
struct Poly : Shape {
    int n;
    int64_t px[8], py[8];
    Poly(int64_t x_, int64_t y_, int n_, Rng &rng) : Shape(x_, y_), n(n_) {
        for (int i = 0; i < n; i++) {
            px[i] = rng.below(4096);
            py[i] = rng.below(4096);
        }
    }
    int64_t area() const override {
        int64_t a = 0;
        for (int i = 0; i < n; i++) {
            int j = (i + 1) % n;
            a += px[i] * py[j] - px[j] * py[i];
        }
        return (a < 0 ? -a : a) / 2;
    }
    int64_t perimeter() const override {
        int64_t p = 0;
        for (int i = 0; i < n; i++) {
            int j = (i + 1) % n;
            int64_t dx = px[j] - px[i], dy = py[j] - py[i];
            p += isqrt(dx * dx + dy * dy);
        }
        return p;
    }
    Box bounds() const override {
        Box b{INT64_MAX, INT64_MAX, INT64_MIN, INT64_MIN};
        for (int i = 0; i < n; i++) {
            b.x0 = px[i] < b.x0 ? px[i] : b.x0;
            b.y0 = py[i] < b.y0 ? py[i] : b.y0;
            b.x1 = px[i] > b.x1 ? px[i] : b.x1;
            b.y1 = py[i] > b.y1 ? py[i] : b.y1;
        }
        return {b.x0 + x, b.y0 + y, b.x1 + x, b.y1 + y};
    }
    void accept(Visitor &v) override { v.visit(*this); }
};
struct Tri : Poly {
    Tri(int64_t x_, int64_t y_, Rng &rng) : Poly(x_, y_, 3, rng) {}
    void accept(Visitor &v) override { v.visit(*this); }
};
struct Group : Shape {
    Vec<Shape *> kids;
    Group(int64_t x_, int64_t y_) : Shape(x_, y_) {}
    ~Group() override {
        for (Shape *s : kids) delete s;
    }
    int64_t area() const override {
        int64_t a = 0;
        for (size_t i = 0; i < kids.size(); i++) a += kids[i]->area();
        return a;
    }
    int64_t perimeter() const override {
        int64_t p = 0;
        for (size_t i = 0; i < kids.size(); i++) p += kids[i]->perimeter();
        return p;
    }
    Box bounds() const override {
        Box b{INT64_MAX, INT64_MAX, INT64_MIN, INT64_MIN};
        for (size_t i = 0; i < kids.size(); i++) {
            Box k = kids[i]->bounds();
            b.x0 = k.x0 < b.x0 ? k.x0 : b.x0;
            b.y0 = k.y0 < b.y0 ? k.y0 : b.y0;
            b.x1 = k.x1 > b.x1 ? k.x1 : b.x1;
            b.y1 = k.y1 > b.y1 ? k.y1 : b.y1;
        }
        return b;
    }
    void move(int64_t dx, int64_t dy) override {
        Shape::move(dx, dy);
        for (size_t i = 0; i < kids.size(); i++) kids[i]->move(dx, dy);
    }
    void accept(Visitor &v) override { v.visit(*this); }
};

struct Counter : Visitor {
    uint64_t counts[5] = {0, 0, 0, 0, 0};
    void visit(Circle &c) override { counts[0] += (uint64_t)c.r; }
    void visit(Rect &r) override { counts[1] += (uint64_t)(r.w ^ r.h); }
    void visit(Tri &t) override { counts[2] += (uint64_t)t.px[0]; }
    void visit(Poly &p) override { counts[3] += (uint64_t)p.n; }
    void visit(Group &g) override {
        counts[4]++;
        for (size_t i = 0; i < g.kids.size(); i++) g.kids[i]->accept(*this);
    }
};

static Shape *make(Rng &rng, int depth) {
    int64_t x = rng.below(100000), y = rng.below(100000);
    switch (rng.below(depth < 2 ? 5 : 4)) {
    case 0: return new Circle(x, y, 1 + rng.below(5000));
    case 1: return new Rect(x, y, 1 + rng.below(5000), 1 + rng.below(5000));
    case 2: return new Tri(x, y, rng);
    case 3: return new Poly(x, y, 4 + (int)rng.below(5), rng);
    default: {
        Group *g = new Group(x, y);
        int n = 2 + (int)rng.below(4);
        for (int i = 0; i < n; i++) g->kids.push(make(rng, depth + 1));
        return g;
    }
    }
}

int main(int argc, char **argv) {
    long frames = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    Rng rng(42);
    Vec<Shape *> scene;
    for (int i = 0; i < 400; i++) scene.push(make(rng, 0));
    uint64_t sum = 0;
    for (long f = 0; f < frames; f++) {
        int64_t area = 0, per = 0;
        Box world{INT64_MAX, INT64_MAX, INT64_MIN, INT64_MIN};
        for (size_t i = 0; i < scene.size(); i++) {
            Shape *s = scene[i];
            s->move((int64_t)(f % 7) - 3, (int64_t)((f + i) % 5) - 2);
            area += s->area();
            per += s->perimeter();
            Box b = s->bounds();
            if (b.x0 < world.x0) world.x0 = b.x0;
            if (b.y1 > world.y1) world.y1 = b.y1;
        }
        if (f % 16 == 0) { /* replace one shape: allocation and destruction */
            size_t k = rng.below((uint32_t)scene.size());
            delete scene[k];
            scene[k] = make(rng, 0);
        }
        sum = sum * 31 + (uint64_t)area;
        sum = sum * 31 + (uint64_t)per + (uint64_t)world.x0 + (uint64_t)world.y1;
    }
    Counter c;
    for (size_t i = 0; i < scene.size(); i++) scene[i]->accept(c);
    for (int k = 0; k < 5; k++) sum = sum * 31 + c.counts[k];
    for (size_t i = 0; i < scene.size(); i++) delete scene[i];
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
