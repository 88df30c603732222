// SPDX-License-Identifier: MIT
/*
 * More NPU weights than one fd's IOVA space holds (docs/hardware/rocket-uapi.md §1.4): the engine opens fd groups
 * (one fd per core) as the weights need them, and every weight's matmul runs on the fds that map it. The simulated
 * IOVA space is cut to a few MiB (npu_open_options.sim_iova_space, a test knob) so that a dozen small weights fill
 * several groups; each result is bit-exact against the CPU reference of the same quantization, in an interleaved
 * order that switches groups (and their scratch BOs) on every call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_ref.h"
#include "tap.h"

#define SPACE_BYTES (2u << 20) /* simulated IOVA space per fd */
#define WEIGHTS     12
#define K_DIM       1000 /* odd K: padding inside every group's weight blocks */
#define N_DIM       1504 /* 1.5 MB int8 in all: 0.5 MB per core, 3 weights per fd of 1.75 MiB of room */
#define M_ROWS      37

struct weight_case {
    float *W;
    struct rk_weight *w;
};

/* Run w on fresh random X and compare the int32 accumulators with the CPU's. Returns mismatches, or -1. */
static long check_run(struct rk_gemm_engine *e, const struct weight_case *c, uint64_t seed, char *err, size_t errlen)
{
    float *X = malloc(sizeof(float) * M_ROWS * K_DIM), *Y = malloc(sizeof(float) * M_ROWS * N_DIM);
    int32_t *acc = malloc(sizeof(int32_t) * M_ROWS * N_DIM), *ref = malloc(sizeof(int32_t) * M_ROWS * N_DIM);
    int8_t *qx = malloc(M_ROWS * K_DIM), *qw = malloc((size_t)N_DIM * K_DIM);
    float *sx = malloc(sizeof(float) * M_ROWS), *sw = malloc(sizeof(float) * N_DIM);
    long bad = -1;
    if (X && Y && acc && ref && qx && qw && sx && sw) {
        gr_fill(X, M_ROWS, K_DIM, K_DIM, 1.0f, 2, 30.0f, &seed);
        int rc = rk_gemm_run_acc(e, c->w, X, M_ROWS, K_DIM, Y, N_DIM, NULL, acc);
        if (rc) {
            snprintf(err, errlen, "%s", rk_gemm_last_error(e));
        } else {
            gr_quant_w(RK_GEMM_INT8, c->W, N_DIM, K_DIM, qw, sw);
            gr_quant_x(RK_GEMM_INT8, X, M_ROWS, K_DIM, K_DIM, qx, sx);
            gr_int_matmul(qx, qw, M_ROWS, N_DIM, K_DIM, ref);
            bad = 0;
            for (size_t i = 0; i < (size_t)M_ROWS * N_DIM; i++) bad += acc[i] != ref[i];
        }
    }
    free(X), free(Y), free(acc), free(ref), free(qx), free(qw), free(sx), free(sw);
    return bad;
}

int main(void)
{
    struct rk_gemm_engine *e = NULL;
    char why[256], err[512] = "";
    struct rk_gemm_options o = {.kind = NPU_DEVICE_SIM, .cores = 3, .sim_iova_space = SPACE_BYTES};
    if (!tap_ok(rk_gemm_open(&o, &e, why, sizeof why) == 0, "open a 3-core engine with %u-byte IOVA spaces",
                SPACE_BYTES)) {
        tap_diag("%s", why);
        return tap_done();
    }
    struct rk_gemm_memory mem;
    rk_gemm_memory_get(e, &mem);
    tap_ok(mem.groups == 1 && mem.fds == 3 && mem.iova_space == SPACE_BYTES &&
                   mem.iova_reserve == SPACE_BYTES / RK_GEMM_IOVA_RESERVE_DIV,
           "one fd group at open; the fds report the simulated space and the default reserve");

    struct weight_case wc[WEIGHTS] = {0};
    uint64_t seed = 7, npu_bytes = 0;
    uint32_t max_group = 0;
    int prepared = 0;
    for (int i = 0; i < WEIGHTS; i++) {
        wc[i].W = malloc(sizeof(float) * (size_t)N_DIM * K_DIM);
        if (!wc[i].W) break;
        gr_fill(wc[i].W, N_DIM, K_DIM, K_DIM, 0.05f, 0, 1, &seed);
        if (rk_weight_prepare(e, wc[i].W, K_DIM, N_DIM, sizeof(float) * K_DIM, NULL, RK_GEMM_INT8, &wc[i].w)) {
            snprintf(err, sizeof err, "weight %d: %s", i, rk_gemm_last_error(e));
            break;
        }
        struct rk_weight_info wi;
        rk_weight_get_info(wc[i].w, &wi);
        npu_bytes += wi.npu_bytes;
        max_group = wi.group > max_group ? wi.group : max_group;
        prepared++;
    }
    if (!tap_ok(prepared == WEIGHTS, "%d weights of [%d, %d] prepared", WEIGHTS, N_DIM, K_DIM)) tap_diag("%s", err);
    rk_gemm_memory_get(e, &mem);
    tap_ok(npu_bytes > 3ull * SPACE_BYTES && mem.groups >= 3 && max_group == mem.groups - 1,
           "%.1f MB of NPU weights (more than one group's %.1f MB) in %u fd groups (%u fds)", npu_bytes / 1e6,
           3.0 * SPACE_BYTES / 1e6, mem.groups, mem.fds);
    tap_ok(mem.weight_bytes >= npu_bytes && mem.weight_bytes / mem.fds <= SPACE_BYTES - mem.iova_reserve,
           "every fd keeps its reserve free of weights (%.2f MB per fd on average)", mem.weight_bytes / 1e6 / mem.fds);

    /* Interleaved: from the last group to the first and back, so every call switches fds and scratch. */
    long bad_total = 0;
    int runs = 0, failed = 0;
    for (int pass = 0; pass < 2 && prepared == WEIGHTS; pass++)
        for (int j = 0; j < WEIGHTS; j++) {
            int i = pass ? (j * 5) % WEIGHTS : WEIGHTS - 1 - j;
            long bad = check_run(e, &wc[i], 1000 + (uint64_t)runs, err, sizeof err);
            runs++;
            if (bad < 0) {
                failed++;
                tap_diag("weight %d: %s", i, err);
            } else {
                bad_total += bad;
            }
        }
    tap_ok(runs == 2 * WEIGHTS && failed == 0 && bad_total == 0,
           "%d runs over all groups, interleaved: int32 bit-exact vs CPU (%ld mismatches, %d failed)", runs, bad_total,
           failed);

    /* Freed room is reused: two weights of group 0 go, a new weight lands there, not in a new group. */
    uint32_t groups_before = mem.groups;
    struct rk_weight_info w0;
    rk_weight_get_info(wc[0].w, &w0);
    rk_weight_free(wc[0].w), rk_weight_free(wc[1].w);
    wc[0].w = wc[1].w = NULL;
    if (prepared == WEIGHTS &&
        !rk_weight_prepare(e, wc[0].W, K_DIM, N_DIM, sizeof(float) * K_DIM, NULL, RK_GEMM_INT8, &wc[0].w)) {
        struct rk_weight_info wi;
        rk_weight_get_info(wc[0].w, &wi);
        rk_gemm_memory_get(e, &mem);
        tap_ok(wi.group == w0.group && mem.groups == groups_before, "a freed weight's room is reused (group %u)",
               wi.group);
        tap_ok(check_run(e, &wc[0], 99, err, sizeof err) == 0, "  and the new weight there is bit-exact");
    } else {
        tap_ok(0, "re-prepare after free: %s", rk_gemm_last_error(e));
    }

    /* A share larger than one fd's room cannot be split across fds: declined with the reason. */
    struct rk_weight *big = NULL;
    int64_t bigN = 3 * 4096; /* 4096 columns per core x K=1000 (Kpad 1024) = 4 MiB per core */
    float *Wb = calloc((size_t)bigN * K_DIM, sizeof(float));
    int rc = Wb ? rk_weight_prepare(e, Wb, K_DIM, bigN, sizeof(float) * K_DIM, NULL, RK_GEMM_INT8, &big) : -ENOMEM;
    tap_ok(rc == -ENOSPC && !big && strstr(rk_gemm_last_error(e), "does not fit one fd's IOVA space"),
           "a core's share larger than an fd's room: -ENOSPC (%s)", rk_gemm_last_error(e));
    free(Wb);

    for (int i = 0; i < WEIGHTS; i++) rk_weight_free(wc[i].w), free(wc[i].W);
    rk_gemm_memory_get(e, &mem);
    tap_ok(mem.weight_bytes == 0, "all weights freed: no weight bytes left on any fd");
    rk_gemm_close(e);

    /* The knob is the simulator's: an unusable value fails the open with the reason. */
    struct rk_gemm_options bad = {.kind = NPU_DEVICE_SIM, .cores = 1, .sim_iova_space = 4096};
    rc = rk_gemm_open(&bad, &e, why, sizeof why);
    tap_ok(rc == -EINVAL && strstr(why, "simulated IOVA space"), "a 4 KiB simulated IOVA space is refused: %s", why);
    return tap_done();
}
