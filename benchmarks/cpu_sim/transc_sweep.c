/* Exhaustive accuracy sweep of the vectorised f32 TEXP / TTANH / TLOG / TSIN / TCOS kernels
 * (runtime_c/pto_tile_ew.h) against exp() / tanh() / log() / sin() / cos() in double, over all
 * 2^32 f32 bit patterns (about 2-4 minutes per function on one core).
 *
 *   gcc -std=gnu11 -O2 -Iruntime_c benchmarks/cpu_sim/transc_sweep.c -o /tmp/sweep -lm
 *   /tmp/sweep exp|tanh|log|sin|cos [step]      # step > 1 samples every step-th bit pattern
 *
 * Prints the maximum error in ulps of the correctly rounded result (|got - exact| / ulp),
 * how many results are not the correctly rounded float, how many are not faithful (not one
 * of the two floats around the exact value), and mismatches on NaN/inf/0 outputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "pto_tile.h"

#define CHUNK 65536

static double ulp_of(float f)
{
    f = fabsf(f);
    if (f < 0x1p-126f)
        return 0x1p-149;
    int e;
    frexpf(f, &e);
    return ldexp(1.0, e - 24);
}

int main(int argc, char **argv)
{
    const char *fn = argc > 1 ? argv[1] : "exp";
    const int is_tanh = strcmp(fn, "tanh") == 0, is_log = strcmp(fn, "log") == 0;
    const int is_sin = strcmp(fn, "sin") == 0, is_cos = strcmp(fn, "cos") == 0;
    const uint64_t step = argc > 2 ? strtoull(argv[2], NULL, 0) : 1;
    static float in[CHUNK], out[CHUNK];
    double maxe = 0;
    float worst = 0;
    long long n = 0, not_cr = 0, not_faithful = 0, bad_special = 0;
    for (uint64_t base = 0; base <= 0xffffffffu; base += (uint64_t)CHUNK * step) {
        int m = 0;
        for (; m < CHUNK && base + (uint64_t)m * step <= 0xffffffffu; ++m) {
            const uint32_t b = (uint32_t)(base + (uint64_t)m * step);
            memcpy(&in[m], &b, sizeof b);
        }
        if (is_tanh)
            pto_ttanh_f32(out, in, 1, m);
        else if (is_log)
            pto_tlog_f32(out, in, 1, m);
        else if (is_sin)
            pto_tsin_f32(out, in, 1, m);
        else if (is_cos)
            pto_tcos_f32(out, in, 1, m);
        else
            pto_texp_f32(out, in, 1, m);
        for (int k = 0; k < m; ++k) {
            const double d = (double)in[k];
            const double ref = is_tanh  ? tanh(d)
                               : is_log ? log(d)
                               : is_sin ? sin(d)
                               : is_cos ? cos(d)
                                        : exp(d);
            const float cr = (float)ref;
            ++n;
            if (isnan(in[k]) || isnan(ref)) {
                bad_special += !isnan(out[k]);
                continue;
            }
            if (isinf(cr) || isinf(out[k]) || cr == 0) { /* also the sign of a zero */
                bad_special += out[k] != cr || signbit(out[k]) != signbit(cr);
                continue;
            }
            not_cr += out[k] != cr;
            const float lo = (double)cr <= ref ? cr : nextafterf(cr, -INFINITY);
            const float hi = (double)cr >= ref ? cr : nextafterf(cr, INFINITY);
            not_faithful += out[k] != lo && out[k] != hi;
            const double e = fabs((double)out[k] - ref) / ulp_of(cr);
            if (e > maxe) {
                maxe = e;
                worst = in[k];
            }
        }
    }
    printf("%s: inputs %lld  max error %.4f ulp at x = %a  not correctly rounded %lld (%.3f%%)  "
           "not faithful %lld  wrong special results %lld\n",
           fn, n, maxe, worst, not_cr, 100.0 * (double)not_cr / (double)n, not_faithful, bad_special);
    return (not_faithful || bad_special) ? 1 : 0;
}
