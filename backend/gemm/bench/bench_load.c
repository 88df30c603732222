// SPDX-License-Identifier: MIT
/*
 * bench-load: the load time of a model's NPU weights. Every weight matmul of a model (model_shapes.c: each shape as
 * often as the model has it) is converted from random rows in the shape's Q4_K_M type with all host threads, as
 * the plugin does at load, and kept resident (on the simulator, or the board's NPU); progress per shape on stderr.
 * With --cache DIR the converted weights are then written as the plugin's weight cache writes them (hash of the
 * source bytes, rk_weight_write to a temporary file, fsync, rename), freed, and read back as a second load does
 * (hash, rk_weight_read): both timed. The cache files stay in the page cache, so the read is a warm one; a cold
 * one adds the file bytes at the disk's speed.
 *
 *   bench-load [--model NAME] [--device sim|rocket] [--mode int8|fp16] [--cache DIR]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggml.h"

#include "gemm_ref.h"
#include "model_shapes.h"

#define SOURCE_CHUNK_ROWS 256

struct source {
    void *raw;
    size_t row_bytes;
    rk_row_to_float to_float;
};

/* Random rows in the shape's type, quantized a chunk at a time (no f32 copy of a whole lm_head). */
static int source_make(const struct bench_shape *sh, struct source *s, uint64_t *seed)
{
    s->row_bytes = ggml_row_size(sh->type, sh->K);
    s->raw = malloc(s->row_bytes * (size_t)sh->N);
    s->to_float = (rk_row_to_float)ggml_get_type_traits(sh->type)->to_float;
    float *f = malloc(sizeof(float) * SOURCE_CHUNK_ROWS * (size_t)sh->K);
    if (!s->raw || !f) return free(f), -ENOMEM;
    for (int64_t n0 = 0; n0 < sh->N; n0 += SOURCE_CHUNK_ROWS) {
        int64_t rows = sh->N - n0 < SOURCE_CHUNK_ROWS ? sh->N - n0 : SOURCE_CHUNK_ROWS;
        gr_fill(f, rows, sh->K, sh->K, 0.05f, 0, 1, seed);
        ggml_quantize_chunk(sh->type, f, (char *)s->raw + (size_t)n0 * s->row_bytes, 0, rows, sh->K, NULL);
    }
    free(f);
    return 0;
}

static double now_s(void) { return npu_monotonic_ns() / 1e9; }

int main(int argc, char **argv)
{
    const char *model_name = "qwen2.5-1.5b", *cache = NULL;
    enum npu_device_kind kind = NPU_DEVICE_SIM;
    enum rk_gemm_mode mode = RK_GEMM_INT8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--model") && v)
            model_name = v, i++;
        else if (!strcmp(a, "--cache") && v)
            cache = v, i++;
        else if (!strcmp(a, "--device") && v && !npu_device_kind_parse(v, &kind))
            i++;
        else if (!strcmp(a, "--mode") && v && !rk_gemm_mode_parse(v, &mode))
            i++;
        else {
            fprintf(stderr,
                    "usage: bench-load [--model NAME] [--device sim|rocket] [--mode int8|fp16] [--cache DIR]\n");
            return 2;
        }
    }
    const struct bench_model *m = bench_model_find(model_name);
    if (!m) {
        fprintf(stderr, "bench-load: unknown model %s\n", model_name);
        return 2;
    }
    struct rk_gemm_engine *e = NULL;
    char why[256];
    struct rk_gemm_options o = {.kind = kind};
    if (rk_gemm_open(&o, &e, why, sizeof why)) {
        fprintf(stderr, "bench-load: %s\n", why);
        return 1;
    }
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    printf("# bench-load: %s, %s, %ld host threads, device %s\n", m->title, rk_gemm_mode_name(mode), threads,
           npu_device_kind_name(kind));

    int total = 0;
    for (int s = 0; s < m->nshapes; s++) {
        const struct bench_shape *sh = &m->shapes[s];
        total += (sh->per_layer ? sh->per_layer * m->layers : 1) * (sh->experts ? sh->experts : 1);
    }
    struct rk_weight **w = calloc((size_t)total, sizeof *w);
    struct source *src = calloc((size_t)m->nshapes, sizeof *src);
    int *shape_of = calloc((size_t)total, sizeof *shape_of);
    uint64_t seed = 1, npu_bytes = 0, weights = 0, source_bytes = 0;
    double convert_s = 0;
    int done = 0, rc = 0;
    for (int s = 0; s < m->nshapes && !rc; s++) {
        const struct bench_shape *sh = &m->shapes[s];
        int count = (sh->per_layer ? sh->per_layer * m->layers : 1) * (sh->experts ? sh->experts : 1);
        if ((rc = source_make(sh, &src[s], &seed))) break;
        double t0 = now_s();
        for (int i = 0; i < count && !rc; i++, done++) {
            rc = rk_weight_prepare(e, src[s].raw, sh->K, sh->N, src[s].row_bytes, src[s].to_float, mode, &w[done]);
            shape_of[done] = s;
            if (!rc) {
                struct rk_weight_info wi;
                rk_weight_get_info(w[done], &wi);
                npu_bytes += wi.npu_bytes, weights += (uint64_t)sh->K * sh->N;
                source_bytes += src[s].row_bytes * (size_t)sh->N;
            }
        }
        double dt = now_s() - t0;
        convert_s += dt;
        fprintf(stderr, "[%d/%d] %-14s %5lldx%-6lld %-5s x%-3d %7.2f s  (%d of %d weights)\n", s + 1, m->nshapes,
                sh->name, (long long)sh->K, (long long)sh->N, ggml_type_name(sh->type), count, dt, done, total);
    }
    if (rc) {
        fprintf(stderr, "bench-load: %s\n", rk_gemm_last_error(e));
        return 1;
    }
    struct rk_gemm_memory mem;
    rk_gemm_memory_get(e, &mem);
    printf("convert: %d weights, %.2f Gweights, %.2f GB on the NPU in %u fd group(s): %.2f s (%.0f Mweights/s)\n",
           total, weights / 1e9, npu_bytes / 1e9, mem.groups, convert_s, weights / convert_s / 1e6);

    if (cache) {
        mkdir(cache, 0755);
        char path[4096], tmp[4200];
        double t0 = now_s();
        for (int i = 0; i < total && !rc; i++) {
            const struct bench_shape *sh = &m->shapes[shape_of[i]];
            uint64_t h[2];
            rk_hash128(src[shape_of[i]].raw, src[shape_of[i]].row_bytes * (size_t)sh->N, 0, h);
            snprintf(path, sizeof path, "%s/w%04d.npuw", cache, i);
            snprintf(tmp, sizeof tmp, "%s.tmp", path);
            int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            rc = fd < 0 ? -errno : rk_weight_write(e, w[i], fd);
            if (!rc && fsync(fd)) rc = -errno;
            if (fd >= 0) close(fd);
            if (!rc && rename(tmp, path)) rc = -errno;
        }
        double write_s = now_s() - t0;
        for (int i = 0; i < total; i++) rk_weight_free(w[i]), w[i] = NULL;
        t0 = now_s();
        for (int i = 0; i < total && !rc; i++) {
            const struct bench_shape *sh = &m->shapes[shape_of[i]];
            uint64_t h[2];
            rk_hash128(src[shape_of[i]].raw, src[shape_of[i]].row_bytes * (size_t)sh->N, 0, h);
            snprintf(path, sizeof path, "%s/w%04d.npuw", cache, i);
            int fd = open(path, O_RDONLY);
            rc = fd < 0 ? -errno : rk_weight_read(e, fd, sh->K, sh->N, mode, &w[i]);
            if (fd >= 0) close(fd);
        }
        double read_s = now_s() - t0;
        if (rc) {
            fprintf(stderr, "bench-load: cache: %s\n", rc == -ENOENT ? strerror(-rc) : rk_gemm_last_error(e));
            return 1;
        }
        printf("cache write (hash %.2f GB of source, write, fsync, rename): %.2f s\n", source_bytes / 1e9, write_s);
        printf("second load from the cache (hash, read into the NPU BOs): %.2f s (%.1f GB/s)\n", read_s,
               npu_bytes / read_s / 1e9);
    }
    for (int i = 0; i < total; i++) rk_weight_free(w[i]);
    for (int s = 0; s < m->nshapes; s++) free(src[s].raw);
    free(w), free(src), free(shape_of);
    rk_gemm_close(e);
    return 0;
}
