/* Micro-benchmark of single tile-library instructions (runtime_c/pto_tile*.h) on 16 x 1024
 * tiles with compile-time-constant shapes, as generated code calls them.  Built and run by
 * tilelib_kernels.py once against the working tree and once against a baseline revision's
 * headers; can also be built by hand:
 *
 *   gcc -std=gnu11 -O2 -Iruntime_c benchmarks/cpu_sim/tilelib_kernels.c -o /tmp/tk -lm
 *   /tmp/tk [reps]
 *
 * Prints "name median_ms ns_per_element" per kernel: NT tiles (a 4 MB f32 working set that
 * stays in L2/L3) per repetition, median over reps. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "pto_tile.h"

#define R 16
#define C 1024
#define NT 64

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}
static int cmp_d(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* inputs: uniform in [-8, 8) (softmax-like exp arguments are <= 0, but the kernels are
 * branch-free, so the range does not matter except for subnormal results) */
static void fill(void *p, int esize, long n, int is_bf16)
{
    for (long i = 0; i < n; ++i) {
        const float v = ((float)rand() / (float)RAND_MAX - 0.5f) * 16.0f;
        if (esize == 4)
            ((float *)p)[i] = v;
        else if (esize == 8)
            ((double *)p)[i] = v;
        else if (is_bf16)
            ((pto_bf16_t *)p)[i] = pto_f32_to_bf16(v);
        else
            ((_Float16 *)p)[i] = pto_f32_to_f16(v);
    }
}

#define BENCH(T, FN, OUT_PER_TILE, IS_BF16)                                                       \
    do {                                                                                          \
        T *src = malloc(sizeof(T) * R * C * NT), *dst = malloc(sizeof(T) * R * C * NT);          \
        fill(src, sizeof(T), (long)R * C * NT, IS_BF16);                                          \
        double *ts = malloc(sizeof(double) * reps);                                               \
        for (int t = 0; t < NT; ++t) /* warm-up */                                                \
            FN(dst + (long)t * (OUT_PER_TILE), src + (long)t * R * C, R, C);                      \
        for (int r = 0; r < reps; ++r) {                                                          \
            const double t0 = now_ms();                                                           \
            for (int t = 0; t < NT; ++t)                                                          \
                FN(dst + (long)t * (OUT_PER_TILE), src + (long)t * R * C, R, C);                  \
            ts[r] = now_ms() - t0;                                                                \
        }                                                                                         \
        qsort(ts, reps, sizeof(double), cmp_d);                                                   \
        printf("%s %.4f %.4f\n", #FN, ts[reps / 2], ts[reps / 2] * 1e6 / ((double)R * C * NT));  \
        free(ts);                                                                                 \
        free(src);                                                                                \
        free(dst);                                                                                \
    } while (0)

int main(int argc, char **argv)
{
    const int reps = argc > 1 ? atoi(argv[1]) : 21;
    BENCH(float, pto_trowsum_f32, R, 0);
    BENCH(_Float16, pto_trowsum_f16, R, 0);
    BENCH(pto_bf16_t, pto_trowsum_bf16, R, 1);
    BENCH(double, pto_trowsum_f64, R, 0);
    BENCH(float, pto_trowmax_f32, R, 0);
    BENCH(float, pto_trowmin_f32, R, 0);
    BENCH(float, pto_tcolsum_f32, C, 0);
    BENCH(float, pto_texp_f32, R * C, 0);
    BENCH(_Float16, pto_texp_f16, R * C, 0);
    BENCH(pto_bf16_t, pto_texp_bf16, R * C, 1);
    BENCH(float, pto_trecip_f32, R * C, 0);
    BENCH(float, pto_tlog_f32, R * C, 0);
    BENCH(float, pto_ttanh_f32, R * C, 0);
    BENCH(float, pto_tsin_f32, R * C, 0);
    BENCH(float, pto_tcos_f32, R * C, 0);
    return 0;
}
