/*
 * rt.h: the little C++ runtime the corpus programs need. There is no
 * libc++ for wasm32-wasi here, so operator new/delete are defined over
 * malloc/free (programs are built with -fno-exceptions -fno-rtti), and a
 * placement new is declared. Natively these replace libstdc++'s.
 */
#pragma once
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *operator new(unsigned long n) { return malloc(n ? n : 1); }
void *operator new[](unsigned long n) { return malloc(n ? n : 1); }
void operator delete(void *p) noexcept { free(p); }
void operator delete[](void *p) noexcept { free(p); }
void operator delete(void *p, unsigned long) noexcept { free(p); }
void operator delete[](void *p, unsigned long) noexcept { free(p); }
inline void *operator new(unsigned long, void *p) noexcept { return p; }
extern "C" void __cxa_pure_virtual() { abort(); }

/* A growable array (no std::vector without libc++). */
template <typename T> class Vec {
    T *data_ = nullptr;
    size_t len_ = 0, cap_ = 0;

  public:
    Vec() = default;
    Vec(const Vec &) = delete;
    Vec &operator=(const Vec &) = delete;
    ~Vec() {
        clear();
        free(data_);
    }
    void push(const T &v) {
        if (len_ == cap_) {
            size_t nc = cap_ ? cap_ * 2 : 8;
            T *nd = static_cast<T *>(malloc(nc * sizeof(T)));
            for (size_t i = 0; i < len_; i++) {
                new (&nd[i]) T(static_cast<T &&>(data_[i]));
                data_[i].~T();
            }
            free(data_);
            data_ = nd;
            cap_ = nc;
        }
        new (&data_[len_++]) T(v);
    }
    void pop() { data_[--len_].~T(); }
    void clear() {
        while (len_) pop();
    }
    size_t size() const { return len_; }
    T &operator[](size_t i) { return data_[i]; }
    const T &operator[](size_t i) const { return data_[i]; }
    T &back() { return data_[len_ - 1]; }
    T *begin() { return data_; }
    T *end() { return data_ + len_; }
};

static inline uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed) {}
    uint64_t next() { return mix64(s += 0x9e3779b97f4a7c15ull); }
    uint32_t below(uint32_t n) { return (uint32_t)(next() % n); }
};
