/* npu-calibrate: the first-light ladder (npu_ladder.h) on the rocket NPU or the software NPU.
 *
 *   npu-calibrate [--device sim|rocket|auto] [--clock-mhz N] [--seed N] [--json]
 *
 * --device defaults to $RKNPU_DEVICE, else auto (rocket if present, never the simulator). Prints a line per
 * step, then the envelope that passed and the measured timing, or what failed with the failing task's
 * registers and what to send back. --json prints one line of JSON on stdout (the rest goes to stderr);
 * `rosenblatt-dl calibrate` reads it and writes the board profile. Exit: 0 every required step passed,
 * 1 wrong results, 2 a device error, 64 usage. */
#include "npu_ladder.h"
#include "npu_limits.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *why)
{
    fprintf(stderr,
            "npu-calibrate: %s\nusage: npu-calibrate [--device sim|rocket|auto] [--clock-mhz N] [--seed N] [--json]\n",
            why);
    return 64;
}

static void summary(FILE *out, const struct npu_ladder *L)
{
    uint32_t passed = 0, ran = 0;
    for (uint32_t i = 0; i < L->nsteps; i++) ran += L->steps[i].ran, passed += L->steps[i].ok;
    fprintf(out, "npu-calibrate: %u of %u steps passed\n", passed, ran);
    for (uint32_t i = 0; i < L->nedges; i++)
        fprintf(out, "npu-calibrate: edge of %s at step %s: %s\n", L->edges[i].dim, L->edges[i].step,
                L->edges[i].error);
    if (L->ok) {
        char env[256];
        npu_envelope_describe(&L->env, env, sizeof env);
        fprintf(out, "npu-calibrate: PASS; widest %s\n", env);
        const struct npu_ladder_timing *t = &L->timing;
        fprintf(out,
                "npu-calibrate: timing at %u MHz (%s): %.1f us per task, %.1f us per job, %.0f int8 / %.0f fp16 MAC "
                "per cycle (%.0f%% of nominal), DMA %.2f GB/s per core; measured job time <= %.2fx the MODEL's "
                "pessimistic bound, %s%s%s\n",
                L->clock_mhz, L->info.is_simulator ? "the simulator's timing MODEL" : "measured", t->task_overhead_us,
                t->job_overhead_us, t->int8_macs_per_cycle, t->fp16_macs_per_cycle, t->mac_efficiency * 100,
                t->dma_gbps, t->job_time_ratio_max,
                t->jobs_within_bounds ? "every job within both bounds" : "not every job within both bounds",
                t->notes[0] ? "; " : "", t->notes);
        return;
    }
    fprintf(out, "npu-calibrate: FAILED at step %s: %s\n", L->stopped_at[0] ? L->stopped_at : "-", L->error);
    for (uint32_t i = 0; i < L->nsteps; i++) {
        const struct npu_ladder_step *s = &L->steps[i];
        if (strcmp(s->id, L->stopped_at) || !s->res.reg_count) continue;
        const struct npu_trial_result *r = &s->res;
        fprintf(out,
                "npu-calibrate: the failing task: device %d, task %d: rows [%u, %u), columns [%u, %u), K-slice %u; "
                "its register stream:\n",
                r->bad_dev, r->bad_task, r->bad_m0, r->bad_m0 + r->bad_rows, r->bad_n0, r->bad_n0 + r->bad_cols,
                r->bad_slice);
        npu_ladder_print_registers(out, r, "    ");
    }
    fprintf(out, "npu-calibrate: send back: the output of `npu-calibrate --json`, `rosenblatt-dl doctor --json` and "
                 "the kernel log since boot (`dmesg`); see docs/first-light.md\n");
}

int main(int argc, char **argv)
{
    struct npu_ladder_options o = {.clock_mhz = NPU_CLOCK_MAINLINE_MHZ};
    bool json = false;
    if (npu_device_kind_from_env(&o.kind)) return usage(npu_last_error());
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--json")) {
            json = true;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage("help");
            return 0;
        }
        if (!v) return usage("missing value");
        i++;
        char *end;
        if (!strcmp(a, "--device")) {
            if (npu_device_kind_parse(v, &o.kind)) return usage(npu_last_error());
        } else if (!strcmp(a, "--clock-mhz")) {
            unsigned long mhz = strtoul(v, &end, 10);
            if (*end || !mhz || mhz > NPU_MODEL_CLOCK_MHZ_MAX) return usage("--clock-mhz is out of range");
            o.clock_mhz = (uint32_t)mhz;
        } else if (!strcmp(a, "--seed")) {
            o.seed = (uint32_t)strtoul(v, &end, 0);
            if (*end) return usage("--seed is not a number");
        } else {
            return usage("unknown option");
        }
    }
    FILE *log = json ? stderr : stdout;
    static struct npu_ladder L;
    int err = npu_ladder_run(&o, &L, log);
    summary(json ? stderr : stdout, &L);
    if (json) npu_ladder_print_json(stdout, &L);
    return !err ? 0 : err == -EDOM ? 1 : 2;
}
