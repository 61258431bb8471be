/* This CPU's peak float32 rate, to put numpy's sgemm rate (run.py bench) in proportion.
 *
 *   gcc -O2 -mavx2 -mfma -fopenmp benchmarks/fma_peak.c -o /tmp/fma_peak && /tmp/fma_peak
 *
 * x86-64 with AVX2 and FMA only. Each thread keeps twelve independent 8-wide FMA chains in
 * registers: enough to fill two FMA pipes whose latency is 4-5 cycles, so the loop is bound by
 * FMA throughput alone, and nothing touches memory. */
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>

#define FMA(acc) acc = _mm256_fmadd_ps(acc, scale, shift)

int main(void) {
    const long iterations = 300000000L;
    const int reads = 5, chains = 12, lanes = 8;
    double best = 0;
    for (int read = 0; read < reads; read++) {
        double start = omp_get_wtime();
        float sink = 0;  /* printed, so that the compiler cannot drop the loop */
#pragma omp parallel reduction(+ : sink)
        {
            __m256 scale = _mm256_set1_ps(0.999999f), shift = _mm256_set1_ps(1e-7f);
            __m256 a0 = _mm256_set1_ps(0), a1 = _mm256_set1_ps(1), a2 = _mm256_set1_ps(2),
                   a3 = _mm256_set1_ps(3), a4 = _mm256_set1_ps(4), a5 = _mm256_set1_ps(5),
                   a6 = _mm256_set1_ps(6), a7 = _mm256_set1_ps(7), a8 = _mm256_set1_ps(8),
                   a9 = _mm256_set1_ps(9), a10 = _mm256_set1_ps(10), a11 = _mm256_set1_ps(11);
            for (long i = 0; i < iterations; i++) {
                FMA(a0); FMA(a1); FMA(a2); FMA(a3); FMA(a4); FMA(a5);
                FMA(a6); FMA(a7); FMA(a8); FMA(a9); FMA(a10); FMA(a11);
            }
            __m256 sum = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                                       _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
            sum = _mm256_add_ps(sum, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
            float lane[8];
            _mm256_storeu_ps(lane, sum);
            sink += lane[0];
        }
        double gflops = (double)omp_get_max_threads() * iterations * chains * lanes * 2
                        / (omp_get_wtime() - start) / 1e9;
        if (gflops > best) best = gflops;
        printf("read %d: %.1f GFLOP/s (sink %g)\n", read + 1, gflops, sink);
    }
    printf("peak float32 FMA rate: %.1f GFLOP/s on %d threads (best of %d reads)\n",
           best, omp_get_max_threads(), reads);
    return 0;
}
