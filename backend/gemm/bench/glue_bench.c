/* glue-bench: the host glue of the GEMM engine, scalar reference vs the vectorised path (AVX2 on
 * x86, NEON on aarch64), on Qwen2.5-1.5B prefill shapes (M = 512 tokens). Prints throughput; it is a
 * benchmark, not a test (test_gemm_host checks that both paths give the same bits).
 *
 *   glue-bench [reps]
 *
 * Under qemu-user (the aarch64 CI stage) the figures are emulation speed and say nothing about the
 * board: run it on the RK3588 itself for NEON numbers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gemm_internal.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static float *random_floats(size_t n)
{
    float *x = malloc(n * sizeof *x);
    uint32_t s = 42;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        x[i] = (float)(s >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
    }
    return x;
}

/* Best of `reps` runs, in seconds. */
#define TIME_BEST(reps, stmt)                                                                                          \
    ({                                                                                                                 \
        double best_ = 1e30;                                                                                           \
        for (int r_ = 0; r_ < (reps); r_++) {                                                                          \
            double t0_ = now_s();                                                                                      \
            stmt;                                                                                                      \
            double t_ = now_s() - t0_;                                                                                 \
            if (t_ < best_) best_ = t_;                                                                                \
        }                                                                                                              \
        best_;                                                                                                         \
    })

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    const int64_t M = 512;
    printf("glue-bench: scalar reference vs %s, M = %lld rows, best of %d\n", rk_simd_name(), (long long)M, reps);
#if defined(__aarch64__)
    printf("note: on aarch64 under qemu-user these are emulation timings and mean nothing for the board\n");
#endif
    printf("%-34s %12s %12s %8s\n", "step", "scalar GB/s", "vector GB/s", "speedup");

    const uint32_t ks[] = {1536, 8960};
    for (size_t i = 0; i < 2; i++) {
        uint32_t K = ks[i], Kpad = (K + 31) / 32 * 32;
        float *x = random_floats((size_t)M * K), *sx = malloc(M * sizeof *sx);
        void *dst = malloc((size_t)M * Kpad * 2);
        double bytes = (double)M * K * sizeof(float);
        double a = TIME_BEST(reps, rk_act_quant_i8_ref(x, M, K, K, Kpad, dst, sx));
        double b = TIME_BEST(reps, rk_act_quant_i8_simd(x, M, K, K, Kpad, dst, sx));
        printf("act quant int8  K=%-5u               %12.2f %12.2f %7.1fx\n", K, bytes / a / 1e9, bytes / b / 1e9,
               a / b);
        a = TIME_BEST(reps, rk_act_quant_f16_ref(x, M, K, K, Kpad, dst, sx));
        b = TIME_BEST(reps, rk_act_quant_f16_simd(x, M, K, K, Kpad, dst, sx));
        printf("act quant fp16  K=%-5u               %12.2f %12.2f %7.1fx\n", K, bytes / a / 1e9, bytes / b / 1e9,
               a / b);
        free(x), free(sx), free(dst);
    }

    const uint32_t N = 8960;
    float *sw = random_floats(N), *y = malloc((size_t)N * sizeof *y);
    int32_t *acc = malloc((size_t)N * sizeof *acc);
    for (uint32_t nslices = 1; nslices <= 2; nslices++) {
        void *c[2];
        for (uint32_t s = 0; s < nslices; s++) c[s] = random_floats((size_t)M * N); /* bits reused as int32 */
        const void *row[2];
        double bytes = (double)M * N * 4 * nslices;
        double a = TIME_BEST(
                reps, for (int64_t m = 0; m < M; m++) {
                    for (uint32_t s = 0; s < nslices; s++) row[s] = (const int32_t *)c[s] + m * N;
                    rk_readout_i32_ref(row, nslices, N, 0.01f, sw, y, acc);
                });
        double b = TIME_BEST(
                reps, for (int64_t m = 0; m < M; m++) {
                    for (uint32_t s = 0; s < nslices; s++) row[s] = (const int32_t *)c[s] + m * N;
                    rk_readout_i32_simd(row, nslices, N, 0.01f, sw, y, acc);
                });
        printf("readout int32   N=%-5u %u slice(s)     %12.2f %12.2f %7.1fx\n", N, nslices, bytes / a / 1e9,
               bytes / b / 1e9, a / b);
        a = TIME_BEST(
                reps, for (int64_t m = 0; m < M; m++) {
                    for (uint32_t s = 0; s < nslices; s++) row[s] = (const float *)c[s] + m * N;
                    rk_readout_f32_ref(row, nslices, N, 0.01f, sw, y, acc);
                });
        b = TIME_BEST(
                reps, for (int64_t m = 0; m < M; m++) {
                    for (uint32_t s = 0; s < nslices; s++) row[s] = (const float *)c[s] + m * N;
                    rk_readout_f32_simd(row, nslices, N, 0.01f, sw, y, acc);
                });
        printf("readout fp32    N=%-5u %u slice(s)     %12.2f %12.2f %7.1fx\n", N, nslices, bytes / a / 1e9,
               bytes / b / 1e9, a / b);
        for (uint32_t s = 0; s < nslices; s++) free(c[s]);
    }
    free(sw), free(y), free(acc);
    return 0;
}
