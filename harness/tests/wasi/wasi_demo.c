/*
 * wasi_demo: exercises the WASI surface that a C program compiled with
 * wasi-libc typically uses.  Its stdout is deterministic (it does not
 * depend on the host path, the time, or the engine), so it can be compared
 * with expected_stdout.txt, and it ends with exit code 3.
 *
 * Usage: wasi_demo <dir> [args...]
 *   <dir>        a writable directory (under WASI: a preopened one)
 *   env STRATA_DEMO is read and printed.
 *
 * WASI calls exercised (through wasi-libc): args_get/args_sizes_get,
 * environ_get/environ_sizes_get, clock_time_get, fd_write (stdout and a
 * file), path_open (create, read, and a failing open), fd_read, fd_seek,
 * fd_close, fd_fdstat_get, fd_fdstat_set_flags, fd_prestat_get/fd_prestat_dir_name (preopens),
 * proc_exit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int section(const char *name) { return printf("== %s\n", name); }

int main(int argc, char **argv) {
    section("printf");
    printf("int: %d, negative: %d, unsigned: %u, hex: 0x%08x\n", 42, -17, 4000000000u, 0xBEEFu);
    printf("long long: %lld, padded: [%5d] [%-5d]\n", -1234567890123LL, 7, 7);
    printf("string: %s, char: %c, width: [%8s]\n", "hello", 'W', "right");
    printf("floats: %.3f %.3f %.3f %.1e\n", 3.14159265, -0.0626, 12345.6789, 1234.5);

    section("malloc");
    int cap = 4, len = 0;
    int *v = malloc(sizeof(int) * (size_t)cap);
    if (!v) {
        printf("malloc failed\n");
        return 1;
    }
    for (int i = 1; i <= 1000; i++) {
        if (len == cap) {
            cap *= 2;
            int *nv = realloc(v, sizeof(int) * (size_t)cap);
            if (!nv) {
                printf("realloc failed\n");
                return 1;
            }
            v = nv;
        }
        v[len++] = i * i;
    }
    long long total = 0;
    for (int i = 0; i < len; i++) total += v[i];
    printf("realloc grew to %d ints, sum of squares 1..1000 = %lld\n", cap, total);
    free(v);
    char *blocks[16];
    for (int i = 0; i < 16; i++) {
        blocks[i] = malloc((size_t)(i + 1) * 100);
        memset(blocks[i], 'a' + i, (size_t)(i + 1) * 100);
    }
    int ok = 1;
    for (int i = 0; i < 16; i++) {
        if (blocks[i][(i + 1) * 100 - 1] != 'a' + i) ok = 0;
        free(blocks[i]);
    }
    printf("16 blocks allocated, checked and freed: %s\n", ok ? "ok" : "CORRUPT");

    section("argv");
    printf("argc = %d\n", argc);
    /* argv[0] differs between hosts, and argv[1] is a host-specific path */
    for (int i = 1; i < argc; i++) {
        if (i == 1) printf("argv[1] = <dir>\n");
        else printf("argv[%d] = %s\n", i, argv[i]);
    }
    if (argc < 2) {
        printf("usage: wasi_demo <dir> [args...]\n");
        return 2;
    }

    section("environment");
    const char *demo = getenv("STRATA_DEMO");
    printf("STRATA_DEMO = %s\n", demo ? demo : "(unset)");
    if (demo) printf("STRATA_DEMO * 2 = %ld\n", strtol(demo, NULL, 10) * 2);
    const char *unset = getenv("STRATA_DEMO_SURELY_UNSET");
    printf("STRATA_DEMO_SURELY_UNSET is %s\n", unset ? "set" : "unset");

    section("clock");
    struct timespec t0, t1;
    int r0 = clock_gettime(CLOCK_MONOTONIC, &t0);
    volatile unsigned spin = 0;
    for (unsigned i = 0; i < 100000; i++) spin += i;
    (void)spin;
    int r1 = clock_gettime(CLOCK_MONOTONIC, &t1);
    long long d = (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
    printf("clock_gettime returned %d and %d\n", r0, r1);
    printf("monotonic difference >= 0: %s\n", d >= 0 ? "yes" : "no");
    struct timespec rt;
    int r2 = clock_gettime(CLOCK_REALTIME, &rt);
    /* 1577836800 = 2020-01-01T00:00:00Z */
    printf("realtime after 2020: %s\n", r2 == 0 && rt.tv_sec > 1577836800 ? "yes" : "no");

    section("files");
    char path[1024];
    snprintf(path, sizeof path, "%s/out.txt", argv[1]);
    FILE *f = fopen(path, "w");
    if (!f) {
        printf("fopen for writing failed: %s\n", strerror(errno));
        return 1;
    }
    fprintf(f, "line one\n");
    fprintf(f, "number %d, float %.3f\n", 12345, 2.5);
    static const char tail[] = "last line without newline";
    size_t nw = fwrite(tail, 1, sizeof tail - 1, f);
    printf("fwrite wrote %zu bytes\n", nw);
    printf("fclose(write) = %d\n", fclose(f));

    f = fopen(path, "r");
    if (!f) {
        printf("fopen for reading failed: %s\n", strerror(errno));
        return 1;
    }
    printf("fseek(SEEK_END) = %d\n", fseek(f, 0, SEEK_END));
    long size = ftell(f);
    printf("file size via ftell = %ld\n", size);
    printf("fseek(SEEK_SET, 5) = %d\n", fseek(f, 5, SEEK_SET));
    char word[8] = {0};
    size_t nr = fread(word, 1, 3, f);
    printf("read %zu bytes at offset 5: \"%s\", now at %ld\n", nr, word, ftell(f));
    rewind(f);
    char *buf = malloc((size_t)size + 1);
    nr = fread(buf, 1, (size_t)size, f);
    buf[nr] = 0;
    printf("read back %zu bytes:\n---\n%s\n---\n", nr, buf);
    printf("contents match: %s\n",
           strcmp(buf, "line one\nnumber 12345, float 2.500\nlast line without newline") == 0 ? "yes" : "no");
    printf("at EOF after full read: %s\n", fgetc(f) == EOF && feof(f) ? "yes" : "no");
    free(buf);
    printf("fclose(read) = %d\n", fclose(f));

    snprintf(path, sizeof path, "%s/does-not-exist/nope.txt", argv[1]);
    errno = 0;
    f = fopen(path, "r");
    if (f) {
        printf("fopen of a nonexistent file unexpectedly succeeded\n");
        fclose(f);
    } else {
        int e = errno;
        printf("fopen of nonexistent file failed: %s (errno %s ENOENT)\n", strerror(e),
               e == ENOENT ? "==" : "!=");
    }

    section("exit");
    printf("exiting with code 3\n");
    exit(3);
}
