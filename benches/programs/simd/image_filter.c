/*
 * image_filter: 8-bit grayscale image processing, written for clang's
 * autovectorizer (-O3 -msimd128: u8 loads extended to i16x8, adds and shifts,
 * saturating narrows, min/max, averages): a separable [1 2 1] blur (rows,
 * then columns), a brightness/contrast step with saturation, a Sobel-like
 * gradient magnitude (|dx| + |dy|, clamped), and a threshold histogram.
 *
 * Integer arithmetic only: exact on every target.
 *
 * argv[1]: frames processed (default DEFAULT_SIZE).
 * Output : "checksum: <u64>".
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 60
#define W 1024
#define H 768

static void blur_rows(uint8_t *restrict dst, const uint8_t *restrict src) {
    for (int y = 0; y < H; y++) {
        const uint8_t *s = src + (size_t)y * W;
        uint8_t *d = dst + (size_t)y * W;
        d[0] = s[0];
        d[W - 1] = s[W - 1];
        for (int x = 1; x < W - 1; x++)
            d[x] = (uint8_t)(((unsigned)s[x - 1] + 2u * s[x] + s[x + 1] + 2u) >> 2);
    }
}

static void blur_cols(uint8_t *restrict dst, const uint8_t *restrict src) {
    memcpy(dst, src, W);
    memcpy(dst + (size_t)(H - 1) * W, src + (size_t)(H - 1) * W, W);
    for (int y = 1; y < H - 1; y++) {
        const uint8_t *a = src + (size_t)(y - 1) * W;
        const uint8_t *b = src + (size_t)y * W;
        const uint8_t *c = src + (size_t)(y + 1) * W;
        uint8_t *d = dst + (size_t)y * W;
        for (int x = 0; x < W; x++)
            d[x] = (uint8_t)(((unsigned)a[x] + 2u * b[x] + c[x] + 2u) >> 2);
    }
}

static void contrast(uint8_t *restrict img, int gain, int bias) {
    for (size_t i = 0; i < (size_t)W * H; i++) {
        int v = ((img[i] - 128) * gain >> 4) + 128 + bias;
        img[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static void gradient(uint8_t *restrict dst, const uint8_t *restrict src) {
    memset(dst, 0, W);
    memset(dst + (size_t)(H - 1) * W, 0, W);
    for (int y = 1; y < H - 1; y++) {
        const uint8_t *up = src + (size_t)(y - 1) * W;
        const uint8_t *dn = src + (size_t)(y + 1) * W;
        const uint8_t *row = src + (size_t)y * W;
        uint8_t *d = dst + (size_t)y * W;
        d[0] = 0;
        d[W - 1] = 0;
        for (int x = 1; x < W - 1; x++) {
            int dx = (int)row[x + 1] - (int)row[x - 1];
            int dy = (int)dn[x] - (int)up[x];
            int m = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy);
            d[x] = (uint8_t)(m > 255 ? 255 : m);
        }
    }
}

static uint64_t summarize(const uint8_t *img) {
    uint32_t above = 0, total = 0;
    uint8_t mx = 0;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        above += img[i] > 96;
        total += img[i];
        mx = img[i] > mx ? img[i] : mx;
    }
    return ((uint64_t)above << 40) ^ ((uint64_t)total << 8) ^ mx;
}

int main(int argc, char **argv) {
    int frames = argc > 1 ? atoi(argv[1]) : DEFAULT_SIZE;
    if (frames < 1) frames = 1;
    uint8_t *img = malloc((size_t)W * H);
    uint8_t *tmp = malloc((size_t)W * H);
    uint8_t *out = malloc((size_t)W * H);
    if (!img || !tmp || !out) return 1;
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < (size_t)W * H; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        /* smooth gradient plus noise: edges and flat regions */
        img[i] = (uint8_t)(((i % W) / 4 + (i / W) / 3 + (x & 63)) & 0xff);
    }
    uint64_t sum = 0;
    for (int f = 0; f < frames; f++) {
        blur_rows(tmp, img);
        blur_cols(out, tmp);
        contrast(out, 12 + f % 9, (f % 7) - 3);
        gradient(tmp, out);
        sum = sum * 1000003u + summarize(tmp);
        /* next frame: the blurred image, shifted a little */
        memcpy(img, out + (f % 5), (size_t)W * H - (size_t)(f % 5));
    }
    printf("checksum: %llu\n", (unsigned long long)sum);
    free(img); free(tmp); free(out);
    return 0;
}
