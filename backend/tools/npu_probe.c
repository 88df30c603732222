/* npu-probe library: see npu_probe.h. Each case is one npu_trial (npu_trial.h): N split into 32-column units
 * over the cores (one device = one fd per core, docs/hardware/rocket-uapi.md §4.6), on each core one job of
 * M-tiles of at most PROBE_M_TILE rows, cut and chained as the execution envelope allows (safe: 32 rows,
 * a zero next pointer in every tail; chained tails: docs/hardware/regcmd.md §2). Outputs are poisoned before
 * the submit so a job that never ran (or hung and was reset) cannot pass. */
#include "npu_probe.h"
#include "npu_timing.h"
#include "npu_trial.h"
#include "layout.h"
#include "npu_limits.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_M_TILE 64

static const struct {
    const char *name;
    uint32_t m, k, n;
} probe_cases[NPU_PROBE_MAX_CASES] = {
        {"64x64x64", 64, 64, 64},
        /* several M-tiles per core, K not a multiple of 32 (padding), N split over the cores */
        {"200x150x192 M-tiles", 200, 150, 192},
};

const char *npu_probe_tolerance(enum npu_dtype dtype)
{
    struct npu_trial t = {.in = dtype == NPU_DTYPE_INT8 ? RK_INT8 : RK_FP16,
                          .out = dtype == NPU_DTYPE_INT8 ? RK_INT32 : RK_FP32};
    return npu_trial_tolerance(&t);
}

static const struct npu_envelope *probe_envelope(const struct npu_probe_options *o)
{
    return o->envelope ? o->envelope : &npu_envelope_safe;
}

static int run_case(struct npu_device **devs, const struct npu_probe_options *o, struct npu_probe_case *c,
                    uint32_t seed)
{
    const struct npu_envelope *env = probe_envelope(o);
    bool i8 = o->dtype == NPU_DTYPE_INT8;
    struct npu_trial t = {.in = i8 ? RK_INT8 : RK_FP16,
                          .out = i8 ? RK_INT32 : RK_FP32,
                          .m = c->m,
                          .k = c->k,
                          .n = c->n,
                          .m_tile = PROBE_M_TILE < env->m_tile_max ? PROBE_M_TILE : env->m_tile_max,
                          .n_tile = env->n_tile_max,
                          .chained = env->chained_tails,
                          .tasks_per_job = env->tasks_per_job_max,
                          .seed = seed};
    struct npu_trial_result r;
    int err = npu_trial_run(devs, o->cores, &t, &r);
    c->jobs = r.jobs, c->tasks = r.tasks, c->compared = r.compared, c->mismatches = r.mismatches;
    c->max_abs_err = r.max_abs_err, c->wall_ms = r.wall_ms, c->macs = r.macs;
    for (int b = 0; b < NPU_MODEL_BOUNDS; b++) c->model_ms[b] = (double)r.model_ns[b] / 1e6;
    snprintf(c->error, sizeof c->error, "%s", r.error);
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
    /* the software NPU enforces the envelope the tasks are cut for */
    struct npu_open_options oo = {.model_clock_mhz = o->clock_mhz, .envelope = probe_envelope(o)};
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
            char env[256];
            npu_envelope_describe(probe_envelope(o), env, sizeof env);
            fprintf(log, "npu-probe: tasks cut for the %s\n", env);
        }
    }
    uint32_t seed = o->seed ? o->seed : 0x5eed1234u;
    for (uint32_t ci = 0; !err && ci < NPU_PROBE_MAX_CASES; ci++) {
        struct npu_probe_case *c = &r->cases[r->case_count++];
        *c = (struct npu_probe_case){
                .name = probe_cases[ci].name, .m = probe_cases[ci].m, .k = probe_cases[ci].k, .n = probe_cases[ci].n};
        err = run_case(devs, o, c, seed + ci);
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
    fprintf(out, ",\"envelope\":\"%s\"", npu_envelope_name(probe_envelope(o)->kind));
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
