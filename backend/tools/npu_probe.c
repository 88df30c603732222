/* npu-probe library: see npu_probe.h. Each case splits N into 32-column units over the cores (one
 * device = one fd per core, docs/hardware/rocket-uapi.md §4.6); on each core one job runs M-tiles of PROBE_M_TILE rows
 * as chained tasks (each tail points at the next segment, docs/hardware/regcmd.md §2). Outputs are poisoned
 * before the submit so a job that never ran (or hung and was reset) cannot pass. */
#include "npu_probe.h"
#include "npu_timing.h"
#include "layout.h"
#include "npu_limits.h"
#include "regcmd.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_M_TILE    64
#define PROBE_N_UNIT    NPU_KGROUP_INT8 /* also a multiple of the fp16 kernel group (docs/hardware/layouts.md §1) */
#define PROBE_MAX_TASKS 16
#define PROBE_WAIT_MS   10000
#define PROBE_POISON    0xA5

struct probe_part { /* one core's share of a case */
    struct npu_device *dev;
    uint32_t n0, n;
    struct npu_bo *regcmd, *a, *b, *c;
    uint32_t task_count;
    struct npu_task tasks[PROBE_MAX_TASKS];
    struct npu_fence *fence;
    struct npu_submit_stats stats;
};

static const struct {
    const char *name;
    uint32_t m, k, n;
} probe_cases[NPU_PROBE_MAX_CASES] = {
        {"single-task 64x64x64", 64, 64, 64},
        /* 4 chained M-tiles per core, K not a multiple of 32 (padding), N split over the cores */
        {"multi-task 200x150x192", 200, 150, 192},
};

const char *npu_probe_tolerance(enum npu_dtype dtype)
{
    return dtype == NPU_DTYPE_INT8 ? "bit-exact int32"
                                   : "|npu - ref| <= 2^-10 * sum_k |a*b| + 1e-6 (fp16 products, fp32 accumulation)";
}

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13, *s ^= *s >> 17, *s ^= *s << 5;
    return *s;
}

static int fail_case(struct npu_probe_case *c, int err, const char *what)
{
    snprintf(c->error, sizeof c->error, "%s: %s", what, npu_last_error());
    return err;
}

static void close_part(struct probe_part *p)
{
    npu_fence_free(p->fence);
    npu_bo_close(p->regcmd), npu_bo_close(p->a), npu_bo_close(p->b), npu_bo_close(p->c);
    p->fence = NULL, p->regcmd = p->a = p->b = p->c = NULL;
}

/* BOs, packed operands and the chained regcmd segments of one core's share. */
static int prepare_part(struct probe_part *p, struct npu_probe_case *c, enum rk_dtype in, enum rk_dtype out,
                        const void *A, const void *B, uint32_t N)
{
    struct rk_matmul full = {.in = in, .out = out, .m = c->m, .k = c->k, .n = p->n};
    size_t bpe = rk_dtype_size(in), obpe = rk_dtype_size(out);
    size_t seg = rk_regcmd_segment_entries(RK_REGCMD_BODY_ENTRIES);
    p->task_count = (c->m + PROBE_M_TILE - 1) / PROBE_M_TILE;
    int err;
    if ((err = npu_bo_create(p->dev, (uint32_t)rk_a_bytes(&full), &p->a)) ||
        (err = npu_bo_create(p->dev, (uint32_t)rk_b_bytes(&full), &p->b)) ||
        (err = npu_bo_create(p->dev, (uint32_t)rk_c_bytes(&full), &p->c)) ||
        (err = npu_bo_create(p->dev, (uint32_t)(p->task_count * seg * 8), &p->regcmd)))
        return fail_case(c, err, "BO create");
    int64_t deadline = npu_deadline_after_ms(PROBE_WAIT_MS);
    struct npu_bo *all[] = {p->a, p->b, p->c, p->regcmd};
    for (int i = 0; i < 4; i++)
        if ((err = npu_bo_prep(all[i], deadline))) return fail_case(c, err, "BO prep");
    rk_pack_a(&full, p->a->map, A, c->k);
    if (in == RK_INT8)
        rk_pack_b_int8(p->b->map, (const int8_t *)B + p->n0, c->k, p->n, N, 1);
    else
        rk_pack_b_fp16(p->b->map, (const uint16_t *)B + p->n0, c->k, p->n, N, 1);
    memset(p->c->map, PROBE_POISON, p->c->size);
    for (uint32_t t = 0; t < p->task_count; t++) {
        uint32_t m0 = t * PROBE_M_TILE;
        struct rk_matmul tile = full;
        tile.m = c->m - m0 < PROBE_M_TILE ? c->m - m0 : PROBE_M_TILE;
        tile.a_iova = p->a->iova + (uint32_t)(m0 * rk_a_stride(&full) * bpe);
        tile.b_iova = p->b->iova;
        tile.c_iova = p->c->iova + (uint32_t)(m0 * rk_c_stride(&full) * obpe);
        uint32_t seg_iova = p->regcmd->iova + (uint32_t)(t * seg * 8);
        uint32_t next = t + 1 < p->task_count ? seg_iova + (uint32_t)(seg * 8) : 0;
        uint32_t count;
        char why[256];
        if ((err = rk_regcmd_matmul_task(&tile, next, (uint64_t *)p->regcmd->map + t * seg, seg, &count, why,
                                         sizeof why))) {
            snprintf(c->error, sizeof c->error, "regcmd builder: %s", why);
            return err;
        }
        p->tasks[t] = (struct npu_task){.regcmd_iova = seg_iova,
                                        .regcmd_count = count,
                                        .shape = {tile.m, c->k, p->n, in == RK_INT8 ? NPU_DTYPE_INT8 : NPU_DTYPE_FP16,
                                                  out == RK_INT32 ? NPU_DTYPE_INT32 : NPU_DTYPE_FP32}};
    }
    for (int i = 0; i < 4; i++)
        if ((err = npu_bo_fini(all[i]))) return fail_case(c, err, "BO fini");
    return 0;
}

static int run_case(struct npu_device **devs, const struct npu_probe_options *o, struct npu_probe_case *c,
                    uint32_t *seed)
{
    bool i8 = o->dtype == NPU_DTYPE_INT8;
    enum rk_dtype in = i8 ? RK_INT8 : RK_FP16, out = i8 ? RK_INT32 : RK_FP32;
    uint32_t M = c->m, K = c->k, N = c->n;
    size_t bpe = i8 ? 1 : 2;
    void *A = malloc((size_t)M * K * bpe), *B = malloc((size_t)K * N * bpe);
    double *ref = calloc((size_t)M * N, sizeof *ref), *mag = calloc((size_t)M * N, sizeof *mag);
    void *got = malloc((size_t)M * N * 4);
    struct probe_part parts[3] = {0};
    int err = 0;
    if (!A || !B || !ref || !mag || !got) {
        snprintf(c->error, sizeof c->error, "out of memory");
        err = -ENOMEM;
        goto out;
    }

    /* Random operands: int8 over the full range; fp16 multiples of 1/64 in [-2, 2) (exact in fp16). */
    for (size_t i = 0; i < (size_t)M * K; i++)
        i8 ? (void)(((int8_t *)A)[i] = (int8_t)rng_next(seed))
           : (void)(((uint16_t *)A)[i] = rk_fp16_from_float((float)((int)(rng_next(seed) % 256) - 128) / 64.0f));
    for (size_t i = 0; i < (size_t)K * N; i++)
        i8 ? (void)(((int8_t *)B)[i] = (int8_t)rng_next(seed))
           : (void)(((uint16_t *)B)[i] = rk_fp16_from_float((float)((int)(rng_next(seed) % 256) - 128) / 64.0f));
    for (uint32_t m = 0; m < M; m++)
        for (uint32_t k = 0; k < K; k++) {
            double a = i8 ? ((int8_t *)A)[(size_t)m * K + k] : rk_fp16_to_float(((uint16_t *)A)[(size_t)m * K + k]);
            for (uint32_t n = 0; n < N; n++) {
                double b = i8 ? ((int8_t *)B)[(size_t)k * N + n] : rk_fp16_to_float(((uint16_t *)B)[(size_t)k * N + n]);
                ref[(size_t)m * N + n] += a * b;
                mag[(size_t)m * N + n] += fabs(a * b);
            }
        }

    /* N in 32-column units, spread evenly over the cores (a core may get none). */
    uint32_t units = (N + PROBE_N_UNIT - 1) / PROBE_N_UNIT, n0 = 0, used = 0;
    for (uint32_t i = 0; i < o->cores; i++) {
        uint32_t u = units / o->cores + (i < units % o->cores);
        uint32_t n = u * PROBE_N_UNIT < N - n0 ? u * PROBE_N_UNIT : N - n0;
        if (!n) continue;
        parts[used] = (struct probe_part){.dev = devs[i], .n0 = n0, .n = n};
        if ((err = prepare_part(&parts[used++], c, in, out, A, B, N))) goto out;
        n0 += n;
    }

    int64_t t0 = npu_monotonic_ns(), deadline = npu_deadline_after_ms(PROBE_WAIT_MS);
    for (uint32_t i = 0; i < used; i++) {
        struct probe_part *p = &parts[i];
        struct npu_bo *ins[] = {p->regcmd, p->a, p->b}, *outs[] = {p->c};
        struct npu_job job = {p->tasks, p->task_count, ins, 3, outs, 1};
        if ((err = npu_submit(p->dev, &job, 1, &p->fence))) {
            fail_case(c, err, "submit");
            goto out;
        }
        c->jobs++;
        c->tasks += p->task_count;
    }
    uint64_t bytes = 0;
    for (uint32_t i = 0; i < used; i++) {
        struct probe_part *p = &parts[i];
        if ((err = npu_fence_wait(p->fence, deadline, &p->stats))) {
            fail_case(c, err, "NPU job");
            goto out;
        }
        if (p->stats.cpu_owned_in_bos) {
            snprintf(c->error, sizeof c->error, "internal: %u in-BO(s) submitted while CPU-owned",
                     p->stats.cpu_owned_in_bos);
            err = -EINVAL;
            goto out;
        }
        bytes += p->stats.bytes_in + p->stats.bytes_out;
        c->macs += p->stats.macs;
    }
    c->wall_ms = (double)(npu_monotonic_ns() - t0) / 1e6;
    /* Both bounds from the task shapes: one job per core, the cores streaming at the same time. */
    uint32_t clock = o->clock_mhz ? o->clock_mhz : npu_model_clock_mhz();
    for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
        uint64_t busy[NPU_CORES] = {0};
        for (uint32_t i = 0; i < used; i++) {
            busy[i] = npu_model_job_overhead_ns((enum npu_model_bound)b);
            for (uint32_t t = 0; t < parts[i].task_count; t++) {
                struct npu_model_work w = npu_model_work_from_shape(&parts[i].tasks[t].shape);
                busy[i] += npu_model_task_ns(&w, clock, used, (enum npu_model_bound)b);
            }
        }
        c->model_ms[b] = (double)npu_model_parallel_bound_ns(busy, (int)used, bytes, (enum npu_model_bound)b) / 1e6;
    }

    for (uint32_t i = 0; i < used; i++) {
        struct probe_part *p = &parts[i];
        if ((err = npu_bo_prep(p->c, deadline))) {
            fail_case(c, err, "output BO prep");
            goto out;
        }
        struct rk_matmul full = {.in = in, .out = out, .m = M, .k = K, .n = p->n};
        rk_unpack_c(&full, (char *)got + p->n0 * 4, N, p->c->map);
    }
    uint32_t poison_word;
    memset(&poison_word, PROBE_POISON, sizeof poison_word);
    uint64_t unwritten = 0;
    for (size_t i = 0; i < (size_t)M * N; i++) unwritten += ((const uint32_t *)got)[i] == poison_word;
    if (unwritten) {
        /* no result has this bit pattern: as int32 it is -1515870811, far beyond 127·128·K for the probe's K;
         * as fp32 about -2.9e-16, while the fp16 cases' inputs are multiples of 1/64, so a nonzero sum is at
         * least 2^-12 in magnitude */
        snprintf(c->error, sizeof c->error,
                 "%llu of %llu outputs still hold the poison written before the submit: the NPU never wrote them "
                 "(the job was dropped, or the core was reset before it finished)",
                 (unsigned long long)unwritten, (unsigned long long)M * N);
        err = -EIO;
        goto out;
    }
    for (size_t i = 0; i < (size_t)M * N; i++) {
        double v = i8 ? ((int32_t *)got)[i] : ((float *)got)[i], d = fabs(v - ref[i]);
        bool bad = i8 ? d != 0 : !(d <= mag[i] / 1024.0 + 1e-6); /* NaN from the poison fails too */
        if (d > c->max_abs_err || isnan(d)) c->max_abs_err = isnan(d) ? INFINITY : d;
        c->compared++;
        if (bad && !c->mismatches++)
            snprintf(c->error, sizeof c->error, "first mismatch at [%zu][%zu]: npu %.9g, cpu %.9g", i / N, i % N, v,
                     ref[i]);
    }
    if (c->mismatches) {
        size_t l = strlen(c->error);
        snprintf(c->error + l, sizeof c->error - l, " (%llu of %llu values differ; tolerance: %s)",
                 (unsigned long long)c->mismatches, (unsigned long long)c->compared, npu_probe_tolerance(o->dtype));
        err = -EDOM;
    }
out:
    for (uint32_t i = 0; i < 3; i++) close_part(&parts[i]);
    free(A), free(B), free(ref), free(mag), free(got);
    c->ok = !err;
    return err;
}

int npu_probe_run(const struct npu_probe_options *o, struct npu_probe_result *r, FILE *log)
{
    memset(r, 0, sizeof *r);
    if (o->cores < 1 || o->cores > NPU_CORES) {
        snprintf(r->error, sizeof r->error, "--cores must be 1..%u (got %u)", NPU_CORES, o->cores);
        return -EINVAL;
    }
    if (o->dtype != NPU_DTYPE_INT8 && o->dtype != NPU_DTYPE_FP16) {
        snprintf(r->error, sizeof r->error, "dtype must be int8 or fp16");
        return -EINVAL;
    }
    struct npu_open_options oo = {.model_clock_mhz = o->clock_mhz};
    struct npu_device *devs[3] = {0};
    int err = 0;
    for (uint32_t i = 0; i < o->cores && !err; i++)
        if ((err = npu_device_open(o->kind, &oo, &devs[i])))
            snprintf(r->error, sizeof r->error, "%s", npu_last_error());
    if (!err) {
        npu_device_get_info(devs[0], &r->info);
        r->have_info = true;
        if (log) {
            const struct npu_device_info *i = &r->info;
            if (i->is_simulator)
                fprintf(log, "npu-probe: device: SIMULATOR - %s (driver %s %d.%d.%d); NOT real hardware\n", i->desc,
                        i->driver, i->version_major, i->version_minor, i->version_patch);
            else
                fprintf(log, "npu-probe: device: %s, DRM driver %s %d.%d.%d (%s)\n", i->node, i->driver,
                        i->version_major, i->version_minor, i->version_patch, i->desc);
            fprintf(log, "npu-probe: cores: %u (%s); using %u fd(s), one per core; job timeout %u ms\n", i->cores,
                    i->cores_source, o->cores, i->job_timeout_ms);
            fprintf(log, "npu-probe: dtype %s -> %s, tolerance: %s; timing MODEL clock %u MHz (%s)\n",
                    o->dtype == NPU_DTYPE_INT8 ? "int8" : "fp16", o->dtype == NPU_DTYPE_INT8 ? "int32" : "fp32",
                    npu_probe_tolerance(o->dtype), r->info.model_clock_mhz, npu_model_source());
        }
    }
    uint32_t seed = o->seed ? o->seed : 0x5eed1234u;
    for (uint32_t ci = 0; !err && ci < NPU_PROBE_MAX_CASES; ci++) {
        struct npu_probe_case *c = &r->cases[r->case_count++];
        *c = (struct npu_probe_case){
                .name = probe_cases[ci].name, .m = probe_cases[ci].m, .k = probe_cases[ci].k, .n = probe_cases[ci].n};
        err = run_case(devs, o, c, &seed);
        char model[96];
        if (log)
            fprintf(log, "npu-probe: %-24s %u job(s) %2u task(s): %s%s%s; wall %.3f ms (measured), NPU %s\n", c->name,
                    c->jobs, c->tasks, c->ok ? "OK" : "FAIL ",
                    c->ok ? (o->dtype == NPU_DTYPE_INT8 ? " bit-exact" : " within tolerance") : "",
                    c->ok ? "" : c->error, c->wall_ms,
                    npu_model_format_ms(model, sizeof model, c->model_ms[NPU_MODEL_OPTIMISTIC],
                                        c->model_ms[NPU_MODEL_PESSIMISTIC], r->info.model_clock_mhz));
        if (err) snprintf(r->error, sizeof r->error, "%s: %s", c->name, c->error);
    }
    for (uint32_t i = 0; i < 3; i++) npu_device_close(devs[i]);
    r->ok = !err;
    return err;
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

void npu_probe_print_json(FILE *out, const struct npu_probe_options *o, const struct npu_probe_result *r)
{
    const struct npu_device_info *i = &r->info;
    fprintf(out, "{\"tool\":\"npu-probe\",\"ok\":%s,\"device\":\"%s\",\"simulator\":%s,\"driver\":",
            r->ok ? "true" : "false", r->have_info ? npu_device_kind_name(i->kind) : npu_device_kind_name(o->kind),
            r->have_info && i->is_simulator ? "true" : "false");
    json_string(out, r->have_info ? i->driver : "");
    fprintf(out, ",\"node\":");
    json_string(out, r->have_info ? i->node : "");
    fprintf(out, ",\"device_cores\":%u,\"cores\":%u,\"dtype\":\"%s\",\"clock_mhz\":%u,\"tolerance\":", i->cores,
            o->cores, o->dtype == NPU_DTYPE_INT8 ? "int8" : "fp16",
            o->clock_mhz ? o->clock_mhz : NPU_CLOCK_MAINLINE_MHZ);
    json_string(out, npu_probe_tolerance(o->dtype));
    fprintf(out, ",\"cases\":[");
    for (uint32_t k = 0; k < r->case_count; k++) {
        const struct npu_probe_case *c = &r->cases[k];
        fprintf(out, "%s{\"name\":", k ? "," : "");
        json_string(out, c->name);
        fprintf(out,
                ",\"m\":%u,\"k\":%u,\"n\":%u,\"jobs\":%u,\"tasks\":%u,\"ok\":%s,\"compared\":%llu,\"mismatches\":%llu,"
                "\"max_abs_err\":%.9g,\"macs\":%llu,\"wall_ms\":%.6f,\"model_ms\":[%.6f,%.6f],\"error\":",
                c->m, c->k, c->n, c->jobs, c->tasks, c->ok ? "true" : "false", (unsigned long long)c->compared,
                (unsigned long long)c->mismatches, isfinite(c->max_abs_err) ? c->max_abs_err : -1.0,
                (unsigned long long)c->macs, c->wall_ms, c->model_ms[NPU_MODEL_OPTIMISTIC],
                c->model_ms[NPU_MODEL_PESSIMISTIC]);
        json_string(out, c->error);
        fputc('}', out);
    }
    fprintf(out, "],\"error\":");
    if (r->ok)
        fputs("null", out);
    else
        json_string(out, r->error);
    fputs("}\n", out);
}
