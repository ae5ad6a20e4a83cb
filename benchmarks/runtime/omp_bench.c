/* GCC OpenMP `depend` versions of the runtime benchmarks (compiled with -fopenmp).
 * usage: omp_bench b1|b2|b3 threads n  -> prints seconds */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile int sink;
static void nop(void) { sink = 0; }

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    const char *which = argv[1];
    int threads = atoi(argv[2]);
    long n = atol(argv[3]);
    double t0 = 0, t1 = 0, sum = 0;
    if (!strcmp(which, "b1")) {
        static char tile[64];
        t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads)
#pragma omp single
        for (long i = 0; i < n; i++) {
#pragma omp task depend(inout: tile[0])
            nop();
        }
        t1 = omp_get_wtime();
    } else if (!strcmp(which, "b2")) {
        double *slots = calloc((size_t)n, sizeof *slots);
        t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads)
#pragma omp single
        {
            for (long i = 0; i < n; i++) {
#pragma omp task depend(out: slots[i]) firstprivate(i)
                slots[i] = (double)i;
            }
#pragma omp taskwait
        }
        for (long i = 0; i < n; i++) sum += slots[i];
        t1 = omp_get_wtime();
        if (sum != (double)n * (double)(n - 1) / 2) { fprintf(stderr, "bad sum\n"); return 1; }
        free(slots);
    } else if (!strcmp(which, "b3")) {
        long m = n;
        char *g = calloc((size_t)(m * m), 1);
        t0 = omp_get_wtime();
#pragma omp parallel num_threads(threads)
#pragma omp single
        for (long i = 0; i < m; i++)
            for (long j = 0; j < m; j++) {
                char *self = &g[i * m + j];
                char *up = i ? &g[(i - 1) * m + j] : self;
                char *left = j ? &g[i * m + j - 1] : self;
#pragma omp task depend(in: up[0], left[0]) depend(out: self[0])
                nop();
            }
        t1 = omp_get_wtime();
        free(g);
    } else {
        return 2;
    }
    printf("%.6f\n", t1 - t0);
    return 0;
}
