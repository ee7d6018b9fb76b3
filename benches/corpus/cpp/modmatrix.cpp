/*
 * modmatrix: templates and operator overloading. A ModInt<P> value type
 * (arithmetic modulo a prime, inverse by Fermat), a Matrix<T, N> template
 * with *, +, power by squaring and Gaussian-elimination determinant and
 * inverse, instantiated for two primes and for sizes 8 and 16; the
 * inverse is checked by multiplying back to the identity.
 *
 * argv[1]: number of rounds (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include "rt.h"

#define DEFAULT_SIZE 300

template <uint32_t P> struct ModInt {
    uint32_t v;
    ModInt() : v(0) {}
    ModInt(uint64_t x) : v((uint32_t)(x % P)) {}
    ModInt operator+(ModInt o) const { return ModInt(v + o.v >= P ? v + o.v - P : v + o.v, 0); }
    ModInt operator-(ModInt o) const { return ModInt(v >= o.v ? v - o.v : v + P - o.v, 0); }
    ModInt operator*(ModInt o) const { return ModInt((uint64_t)v * o.v); }
    ModInt &operator+=(ModInt o) { return *this = *this + o; }
    ModInt &operator-=(ModInt o) { return *this = *this - o; }
    bool operator==(ModInt o) const { return v == o.v; }
    ModInt pow(uint64_t e) const {
        ModInt r(1), b = *this;
        while (e) {
            if (e & 1) r = r * b;
            b = b * b;
            e >>= 1;
        }
        return r;
    }
    ModInt inv() const { return pow(P - 2); }

  private:
    ModInt(uint32_t raw, int) : v(raw) {}
};

template <typename T, int N> struct Matrix {
    T a[N][N];
    static Matrix identity() {
        Matrix m;
        for (int i = 0; i < N; i++) m.a[i][i] = T(1);
        return m;
    }
    Matrix operator*(const Matrix &o) const {
        Matrix r;
        for (int i = 0; i < N; i++)
            for (int k = 0; k < N; k++) {
                T x = a[i][k];
                for (int j = 0; j < N; j++) r.a[i][j] += x * o.a[k][j];
            }
        return r;
    }
    Matrix operator+(const Matrix &o) const {
        Matrix r;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) r.a[i][j] = a[i][j] + o.a[i][j];
        return r;
    }
    bool operator==(const Matrix &o) const {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++)
                if (!(a[i][j] == o.a[i][j])) return false;
        return true;
    }
    Matrix pow(uint64_t e) const {
        Matrix r = identity(), b = *this;
        while (e) {
            if (e & 1) r = r * b;
            b = b * b;
            e >>= 1;
        }
        return r;
    }
    /* Gauss-Jordan: returns the determinant; fills inv when it is non-zero */
    T invert(Matrix &inv) const {
        Matrix m = *this;
        inv = identity();
        T det(1);
        for (int c = 0; c < N; c++) {
            int piv = -1;
            for (int r = c; r < N; r++)
                if (!(m.a[r][c] == T(0))) {
                    piv = r;
                    break;
                }
            if (piv < 0) return T(0);
            if (piv != c) {
                for (int j = 0; j < N; j++) {
                    T t = m.a[c][j];
                    m.a[c][j] = m.a[piv][j];
                    m.a[piv][j] = t;
                    t = inv.a[c][j];
                    inv.a[c][j] = inv.a[piv][j];
                    inv.a[piv][j] = t;
                }
                det = T(0) - det;
            }
            det = det * m.a[c][c];
            T s = m.a[c][c].inv();
            for (int j = 0; j < N; j++) {
                m.a[c][j] = m.a[c][j] * s;
                inv.a[c][j] = inv.a[c][j] * s;
            }
            for (int r = 0; r < N; r++) {
                if (r == c || m.a[r][c] == T(0)) continue;
                T f = m.a[r][c];
                for (int j = 0; j < N; j++) {
                    m.a[r][j] -= f * m.a[c][j];
                    inv.a[r][j] -= f * inv.a[c][j];
                }
            }
        }
        return det;
    }
    uint64_t digest() const {
        uint64_t h = 0;
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) h = h * 31 + a[i][j].v;
        return h;
    }
};

template <uint32_t P, int N> static uint64_t round_(Rng &rng, uint64_t e) {
    typedef ModInt<P> T;
    Matrix<T, N> m, inv;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) m.a[i][j] = T(rng.next());
    uint64_t h = m.pow(e).digest();
    T det = m.invert(inv);
    if (!(det == T(0))) {
        if (!(m * inv == Matrix<T, N>::identity())) {
            printf("checksum: bad-inverse\n");
            exit(1);
        }
        h = h * 31 + inv.digest();
    }
    return h * 31 + det.v + (m + inv).digest();
}

int main(int argc, char **argv) {
    long rounds = argc > 1 ? atol(argv[1]) : DEFAULT_SIZE;
    Rng rng(2024);
    uint64_t sum = 0;
    for (long r = 0; r < rounds; r++) {
        uint64_t e = rng.next() >> 40;
        sum = sum * 31 + round_<1000000007u, 8>(rng, e);
        sum = sum * 31 + round_<998244353u, 16>(rng, e);
        sum = sum * 31 + round_<65537u, 5>(rng, e >> 8);
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
