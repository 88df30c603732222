// SPDX-License-Identifier: MIT
/*
 * A prepared weight to and from a file descriptor (rk_gemm.h: rk_weight_write / rk_weight_read), and the hash that
 * keys and checks it. Format (little-endian host order; files are only read back on the machine that wrote them):
 *   header  { magic, format version, K, N, mode, cores, layout digest, scale bytes, BO bytes per core }
 *   scales  N floats
 *   BOs     core 0's packed weight bytes, core 1's, ...
 *   trailer { hash of header + scales + BOs }
 * The layout digest covers every field of the layout (slices, tiles, offsets), so a file made in another envelope
 * or for another number of cores is refused (-ESTALE) rather than misread.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gemm_internal.h"

#define WEIGHT_MAGIC    0x57554e5042524f52ull /* "RORBPNUW" */
#define HASH_P1         0x9e3779b185ebca87ull
#define HASH_P2         0xc2b2ae3d27d4eb4full
#define HASH_P3         0x165667b19e3779f9ull
#define HASH_LANES      4
#define IO_CHUNK_BYTES  (8u << 20) /* read()/write() in pieces the kernel handles in one go */
#define PREP_IO_WAIT_MS 10000

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t fmix64(uint64_t x)
{
    x ^= x >> 33, x *= HASH_P2, x ^= x >> 29, x *= HASH_P3, x ^= x >> 32;
    return x;
}

void rk_hash128(const void *data, size_t n, uint64_t seed, uint64_t out[2])
{
    const uint8_t *p = data;
    uint64_t lane[HASH_LANES] = {seed + HASH_P1, seed ^ HASH_P2, seed - HASH_P1, ~seed};
    size_t i = 0;
    for (; i + 8 * HASH_LANES <= n; i += 8 * HASH_LANES)
        for (int l = 0; l < HASH_LANES; l++) {
            uint64_t w;
            memcpy(&w, p + i + 8 * l, 8);
            lane[l] = rotl64(lane[l] + w * HASH_P2, 31) * HASH_P1;
        }
    uint8_t tail[8 * HASH_LANES] = {0};
    memcpy(tail, p + i, n - i);
    for (int l = 0; l < HASH_LANES; l++) {
        uint64_t w;
        memcpy(&w, tail + 8 * l, 8);
        lane[l] = rotl64(lane[l] + w * HASH_P2, 31) * HASH_P1;
    }
    uint64_t a = rotl64(lane[0], 1) + rotl64(lane[1], 7) + rotl64(lane[2], 12) + rotl64(lane[3], 18) + n;
    uint64_t b = lane[0] ^ rotl64(lane[1], 23) ^ rotl64(lane[2], 41) ^ rotl64(lane[3], 53) ^ (n * HASH_P3);
    out[0] = fmix64(a ^ fmix64(b));
    out[1] = fmix64(b + fmix64(a));
}

/* Running hash of a file's parts: each part hashed on its own (so parts can be hashed in parallel), the results
 * folded in order. */
static void hash_fold(uint64_t h[2], const uint64_t part[2])
{
    h[0] = fmix64(h[0] ^ part[0]) + part[1];
    h[1] = fmix64(h[1] + part[1]) ^ part[0];
}

static void hash_chain(uint64_t h[2], const void *data, size_t n)
{
    uint64_t part[2];
    rk_hash128(data, n, 0, part);
    hash_fold(h, part);
}

/* One core's BO bytes: pread from the file at its offset, then hashed. */
struct part_read {
    int fd;
    off_t at;
    void *dst;
    size_t n;
    int rc;
    uint64_t hash[2];
};

static void *part_read_run(void *arg)
{
    struct part_read *p = arg;
    uint8_t *d = p->dst;
    size_t left = p->n;
    off_t at = p->at;
    p->rc = 0;
    while (left) {
        ssize_t k = pread(p->fd, d, left < IO_CHUNK_BYTES ? left : IO_CHUNK_BYTES, at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            p->rc = k < 0 ? -errno : -EBADMSG;
            return NULL;
        }
        d += k, at += k, left -= (size_t)k;
    }
    rk_hash128(p->dst, p->n, 0, p->hash);
    return NULL;
}

struct weight_header {
    uint64_t magic;
    uint32_t version, mode;
    int64_t K, N;
    uint32_t cores, slices;
    uint64_t layout[2]; /* digest of the layout */
    uint64_t scale_bytes;
    uint64_t bo_bytes[NPU_CORES];
};

static void layout_digest(const struct rk_wlayout *L, uint64_t out[2])
{
    /* Field by field (no struct padding in the hash) */
    uint64_t v[8 + 3 * RK_GEMM_MAX_SLICES + NPU_CORES * (6 + RK_GEMM_MAX_SLICES)];
    size_t n = 0;
    v[n++] = L->mode, v[n++] = L->K, v[n++] = L->N, v[n++] = L->Kpad, v[n++] = L->bpe, v[n++] = L->had_block;
    v[n++] = L->slices, v[n++] = L->cores;
    for (uint32_t s = 0; s < L->slices; s++) v[n++] = L->k0[s], v[n++] = L->k[s], v[n++] = L->kpad[s];
    for (uint32_t c = 0; c < L->cores; c++) {
        const struct rk_core_share *cs = &L->core[c];
        v[n++] = cs->n0, v[n++] = cs->n, v[n++] = cs->npad, v[n++] = cs->units, v[n++] = cs->ntiles,
        v[n++] = cs->b_bytes;
        for (uint32_t s = 0; s < L->slices; s++) v[n++] = cs->b_off[s];
    }
    rk_hash128(v, n * sizeof *v, RK_WEIGHT_FORMAT_VERSION, out);
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n) {
        ssize_t k = write(fd, p, n < IO_CHUNK_BYTES ? n : IO_CHUNK_BYTES);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return k < 0 ? -errno : -EIO;
        p += k, n -= (size_t)k;
    }
    return 0;
}

/* 0, -EBADMSG at end of file before n bytes, or -errno. */
static int read_all(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t k = read(fd, p, n < IO_CHUNK_BYTES ? n : IO_CHUNK_BYTES);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return -errno;
        if (k == 0) return -EBADMSG;
        p += k, n -= (size_t)k;
    }
    return 0;
}

int rk_weight_write(struct rk_gemm_engine *e, const struct rk_weight *w, int fd)
{
    const struct rk_wlayout *L = &w->L;
    struct weight_header h = {.magic = WEIGHT_MAGIC,
                              .version = RK_WEIGHT_FORMAT_VERSION,
                              .mode = L->mode,
                              .K = L->K,
                              .N = L->N,
                              .cores = L->cores,
                              .slices = L->slices,
                              .scale_bytes = (uint64_t)L->N * sizeof(float)};
    layout_digest(L, h.layout);
    for (uint32_t c = 0; c < L->cores; c++) h.bo_bytes[c] = L->core[c].b_bytes;
    uint64_t sum[2] = {0, 0};
    hash_chain(sum, &h, sizeof h);
    hash_chain(sum, w->scale, h.scale_bytes);
    int rc = write_all(fd, &h, sizeof h);
    if (!rc) rc = write_all(fd, w->scale, h.scale_bytes);
    for (uint32_t c = 0; c < L->cores && !rc; c++) {
        struct npu_bo *bo = w->b[c];
        /* the CPU reads the BO: take it (cache sync), hand it back unchanged */
        if ((rc = npu_bo_prep(bo, npu_deadline_after_ms(PREP_IO_WAIT_MS))))
            return rk_gemm_fail(e, rc, "weight BO prep for writing: %s", npu_last_error());
        hash_chain(sum, bo->map, h.bo_bytes[c]);
        rc = write_all(fd, bo->map, h.bo_bytes[c]);
        int rc2 = npu_bo_fini(bo);
        if (!rc && rc2) return rk_gemm_fail(e, rc2, "weight BO fini after writing: %s", npu_last_error());
    }
    if (!rc) rc = write_all(fd, sum, sizeof sum);
    return rc ? rk_gemm_fail(e, rc, "writing a weight: %s", strerror(-rc)) : 0;
}

int rk_weight_read(struct rk_gemm_engine *e, int fd, int64_t K, int64_t N, enum rk_gemm_mode mode,
                   struct rk_weight **out)
{
    char why[256];
    *out = NULL;
    int64_t t0 = npu_monotonic_ns();
    struct weight_header h;
    int rc = read_all(fd, &h, sizeof h);
    if (rc) return rk_gemm_fail(e, rc, "weight file header: %s", rc == -EBADMSG ? "file too short" : strerror(-rc));
    if (h.magic != WEIGHT_MAGIC || h.version != RK_WEIGHT_FORMAT_VERSION)
        return rk_gemm_fail(e, -ESTALE, "weight file of format version %u, this engine writes %u", h.version,
                            RK_WEIGHT_FORMAT_VERSION);
    struct rk_weight *w = calloc(1, sizeof *w);
    if (!w) return rk_gemm_fail(e, -ENOMEM, "out of memory");
    w->e = e;
    if ((rc = rk_layout_make(K, N, mode, e->cores, &e->env, &w->L, why, sizeof why))) {
        free(w);
        return rk_gemm_fail(e, rc, "weight [N=%lld, K=%lld] declined: %s", (long long)N, (long long)K, why);
    }
    uint64_t digest[2];
    layout_digest(&w->L, digest);
    if (h.K != K || h.N != N || h.mode != (uint32_t)mode || h.cores != w->L.cores || memcmp(digest, h.layout, 16) ||
        h.scale_bytes != (uint64_t)N * sizeof(float)) {
        free(w);
        return rk_gemm_fail(e, -ESTALE, "weight file made for another layout (shape, mode, envelope or cores)");
    }
    uint64_t sum[2] = {0, 0}, want[2];
    hash_chain(sum, &h, sizeof h);
    w->scale = malloc(h.scale_bytes);
    w->scale_cap = (size_t)N;
    if (!w->scale) {
        rk_weight_free(w);
        return rk_gemm_fail(e, -ENOMEM, "out of memory for %lld scales", (long long)N);
    }
    if ((rc = read_all(fd, w->scale, h.scale_bytes)) || (rc = rk_weight_bos_place(e, w, h.bo_bytes, w->L.cores))) {
        rk_weight_free(w);
        return rc == -EBADMSG ? rk_gemm_fail(e, rc, "weight file too short") : rc;
    }
    hash_chain(sum, w->scale, h.scale_bytes);
    /* The cores' BOs are read and hashed in parallel (one thread each, pread at their offsets): a second load
     * moves the whole NPU copy, at the memory's speed rather than one core's. */
    off_t pos = lseek(fd, 0, SEEK_CUR);
    struct part_read parts[NPU_CORES];
    pthread_t th[NPU_CORES];
    bool started[NPU_CORES] = {0};
    uint32_t prepped = 0;
    for (uint32_t c = 0; c < w->L.cores && !rc; c++, prepped++)
        rc = npu_bo_prep(w->b[c], npu_deadline_after_ms(PREP_IO_WAIT_MS));
    for (uint32_t c = 0; c < w->L.cores && !rc; c++) {
        parts[c] = (struct part_read){.fd = fd, .at = pos, .dst = w->b[c]->map, .n = h.bo_bytes[c]};
        pos += (off_t)h.bo_bytes[c];
        started[c] = c > 0 && !pthread_create(&th[c], NULL, part_read_run, &parts[c]);
        if (c > 0 && !started[c]) part_read_run(&parts[c]);
    }
    if (!rc) part_read_run(&parts[0]);
    for (uint32_t c = 0; c < w->L.cores && !rc; c++) {
        if (started[c]) pthread_join(th[c], NULL);
    }
    for (uint32_t c = 0; c < w->L.cores && !rc; c++) {
        if (parts[c].rc)
            rc = parts[c].rc;
        else
            hash_fold(sum, parts[c].hash);
    }
    for (uint32_t c = 0; c < prepped; c++) {
        int rc2 = npu_bo_fini(w->b[c]);
        rc = rc ? rc : rc2;
    }
    if (!rc && lseek(fd, pos, SEEK_SET) != pos) rc = -errno;
    if (!rc) rc = read_all(fd, want, sizeof want);
    if (!rc && memcmp(sum, want, sizeof sum)) rc = -EBADMSG;
    if (rc) {
        rk_weight_free(w);
        return rk_gemm_fail(e, rc, "weight file: %s",
                            rc == -EBADMSG ? "truncated or corrupt (short, or its hash does not match)"
                                           : strerror(-rc));
    }
    w->info = (struct rk_weight_info){.K = K, .N = N, .mode = mode, .k_slices = w->L.slices, .group = w->group};
    for (uint32_t c = 0; c < w->L.cores; c++) w->info.npu_bytes += w->L.core[c].b_bytes;
    w->info.bytes_per_weight = (double)(w->info.npu_bytes + (uint64_t)N * sizeof(float)) / ((double)K * N);
    w->info.prep_seconds = (npu_monotonic_ns() - t0) / 1e9;
    w->info.weights_per_second = (double)K * N / (w->info.prep_seconds > 0 ? w->info.prep_seconds : 1e-9);
    *out = w;
    return 0;
}
