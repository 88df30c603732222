// SPDX-License-Identifier: MIT
/*
 * A prepared weight written to a file and read back (the plugin's weight cache, rk_gemm.h): the read weight gives
 * the same Y bit for bit as the one converted, in int8, fp16 and int8-had; a truncated or corrupted file is
 * refused (-EBADMSG), a file of another layout (envelope, shape) is refused (-ESTALE).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gemm_ref.h"
#include "tap.h"

#define M_ROWS 19

static int tmpfile_fd(void)
{
    char path[] = "/tmp/rk-weight-io-XXXXXX";
    int fd = mkstemp(path);
    if (fd >= 0) unlink(path);
    return fd;
}

/* Read the weight back from fd's start. */
static int read_back(struct rk_gemm_engine *e, int fd, int64_t K, int64_t N, enum rk_gemm_mode mode,
                     struct rk_weight **w)
{
    lseek(fd, 0, SEEK_SET);
    return rk_weight_read(e, fd, K, N, mode, w);
}

static void round_trip(struct rk_gemm_engine *e, enum rk_gemm_mode mode, int64_t K, int64_t N, uint64_t seed)
{
    float *W = malloc(sizeof(float) * (size_t)(N * K)), *X = malloc(sizeof(float) * M_ROWS * K);
    float *Y1 = malloc(sizeof(float) * M_ROWS * N), *Y2 = malloc(sizeof(float) * M_ROWS * N);
    gr_fill(W, N, K, K, 0.05f, 0, 1, &seed);
    gr_fill(X, M_ROWS, K, K, 1.0f, 2, 20.0f, &seed);
    struct rk_weight *w = NULL, *r = NULL;
    int fd = tmpfile_fd();
    int rc = rk_weight_prepare(e, W, K, N, sizeof(float) * K, NULL, mode, &w);
    if (!rc) rc = rk_weight_write(e, w, fd);
    if (!rc) rc = read_back(e, fd, K, N, mode, &r);
    if (!rc) rc = rk_gemm_run(e, w, X, M_ROWS, K, Y1, N, NULL);
    if (!rc) rc = rk_gemm_run(e, r, X, M_ROWS, K, Y2, N, NULL);
    tap_ok(rc == 0 && !memcmp(Y1, Y2, sizeof(float) * M_ROWS * N), "%s [%lld, %lld]: read back, Y bit for bit (%s)",
           rk_gemm_mode_name(mode), (long long)N, (long long)K, rc ? rk_gemm_last_error(e) : "same");
    rk_weight_free(r), r = NULL;

    off_t size = lseek(fd, 0, SEEK_END);
    if (ftruncate(fd, size - 1000) == 0)
        tap_ok(read_back(e, fd, K, N, mode, &r) == -EBADMSG && !r, "  truncated by 1000 bytes: -EBADMSG (%s)",
               rk_gemm_last_error(e));
    uint8_t b = 0;
    if (ftruncate(fd, 0) == 0 && lseek(fd, 0, SEEK_SET) == 0 && rk_weight_write(e, w, fd) == 0 &&
        pread(fd, &b, 1, size / 2) == 1) {
        b ^= 0x10;
        if (pwrite(fd, &b, 1, size / 2) == 1)
            tap_ok(read_back(e, fd, K, N, mode, &r) == -EBADMSG && !r, "  one byte changed: -EBADMSG");
    }
    tap_ok(read_back(e, fd, K + 32, N, mode, &r) == -ESTALE && !r, "  asked for another shape: -ESTALE");
    close(fd);
    rk_weight_free(w);
    free(W), free(X), free(Y1), free(Y2);
}

int main(void)
{
    struct rk_gemm_engine *e = NULL, *ev = NULL;
    char why[256];
    struct rk_gemm_options o = {.kind = NPU_DEVICE_SIM, .cores = 3};
    if (!tap_ok(rk_gemm_open(&o, &e, why, sizeof why) == 0, "open a 3-core engine")) return tap_done();
    round_trip(e, RK_GEMM_INT8, 1000, 1023, 1);
    round_trip(e, RK_GEMM_FP16, 640, 96, 2);
    round_trip(e, RK_GEMM_INT8_HAD, 3584, 333, 3);

    /* A file made in the safe envelope, read by an engine planning in the vendor one. */
    struct rk_gemm_options ov = {.kind = NPU_DEVICE_SIM, .cores = 3, .envelope = &npu_envelope_vendor};
    if (tap_ok(rk_gemm_open(&ov, &ev, why, sizeof why) == 0, "open an engine in the vendor envelope")) {
        float *W = calloc(1536 * 1536, sizeof(float));
        for (int i = 0; i < 1536 * 1536; i++) W[i] = (float)(i % 7) - 3.0f;
        struct rk_weight *w = NULL, *r = NULL;
        int fd = tmpfile_fd();
        int rc = rk_weight_prepare(e, W, 1536, 1536, 1536 * sizeof(float), NULL, RK_GEMM_INT8, &w);
        if (!rc) rc = rk_weight_write(e, w, fd);
        tap_ok(rc == 0 && read_back(ev, fd, 1536, 1536, RK_GEMM_INT8, &r) == -ESTALE && !r,
               "another envelope's layout: -ESTALE (%s)", rk_gemm_last_error(ev));
        close(fd), rk_weight_free(w), free(W);
        rk_gemm_close(ev);
    }

    /* The hash: stable, seeded, sensitive to every byte and the length. */
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++) buf[i] = (uint8_t)(i * 31 + 7);
    uint64_t a[2], b[2], c[2], d[2];
    rk_hash128(buf, 1000, 0, a), rk_hash128(buf, 1000, 0, b), rk_hash128(buf, 999, 0, c), rk_hash128(buf, 1000, 1, d);
    buf[517] ^= 1;
    uint64_t f[2];
    rk_hash128(buf, 1000, 0, f);
    tap_ok(!memcmp(a, b, 16) && memcmp(a, c, 16) && memcmp(a, d, 16) && memcmp(a, f, 16),
           "rk_hash128: same input same hash; length, seed and one bit change it");
    size_t big = 256u << 20;
    uint8_t *m = malloc(big);
    if (m) {
        memset(m, 0x5a, big);
        int64_t t0 = npu_monotonic_ns();
        rk_hash128(m, big, 0, a);
        double s = (npu_monotonic_ns() - t0) / 1e9;
        tap_diag("rk_hash128: %.2f GB/s on one host core", big / s / 1e9);
        free(m);
    }
    rk_gemm_close(e);
    return tap_done();
}
