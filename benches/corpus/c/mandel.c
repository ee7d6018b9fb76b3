/*
 * mandel: escape-time fractals in single precision. A Mandelbrot image
 * over a zoomed window, a Julia set, and a Burning Ship (with fabsf), each
 * folding iteration counts and a smoothed float bit pattern of the final
 * |z|^2 into the checksum. Only + - * and fabsf, so results are exact on
 * every IEEE-754 platform.
 *
 * argv[1]: image side in pixels (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 420
#define MAXIT 256

static uint32_t bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

static uint64_t escape(int side, float x0, float y0, float span, int kind, float cr, float ci) {
    uint64_t sum = 0;
    for (int py = 0; py < side; py++) {
        for (int px = 0; px < side; px++) {
            float x = x0 + span * (float)px / (float)side, y = y0 + span * (float)py / (float)side;
            float zr, zi, c_r, c_i;
            if (kind == 1) { zr = x; zi = y; c_r = cr; c_i = ci; }
            else { zr = 0; zi = 0; c_r = x; c_i = y; }
            int it = 0;
            float m2 = 0;
            while (it < MAXIT) {
                if (kind == 2) { zr = fabsf(zr); zi = fabsf(zi); }
                float r2 = zr * zr, i2 = zi * zi;
                m2 = r2 + i2;
                if (m2 > 4.0f) break;
                zi = 2.0f * zr * zi + c_i;
                zr = r2 - i2 + c_r;
                it++;
            }
            sum = sum * 31 + (uint64_t)it * 65599 + (bits(m2) >> 12);
        }
    }
    return sum;
}

int main(int argc, char **argv) {
    int side = argc > 1 ? atoi(argv[1]) : DEFAULT_SIZE;
    uint64_t sum = 0;
    sum = sum * 1000003 + escape(side, -2.0f, -1.25f, 2.5f, 0, 0, 0);
    sum = sum * 1000003 + escape(side, -0.75f, 0.05f, 0.1f, 0, 0, 0);
    sum = sum * 1000003 + escape(side, -1.5f, -1.5f, 3.0f, 1, -0.8f, 0.156f);
    sum = sum * 1000003 + escape(side, -2.0f, -2.0f, 3.5f, 2, 0, 0);
    printf("checksum: %llu\n", (unsigned long long)sum);
    return 0;
}
