/* npu-replay: run captured register-command streams through the software NPU core and write the
 * resulting memory, to check streams captured on real boards against the simulator.
 *
 *   npu-replay SCRIPT [-o OUT.img] [--core 0|1|2] [--lenient] [--peer-streams] [--clock-mhz 200|1000]
 *
 * SCRIPT is a text file, one directive per line ('#' starts a comment; numbers are decimal or 0x hex;
 * paths are relative to the script's folder):
 *
 *   image   PATH               load an NPU memory image (format: npu_image.h, "RKNPUIMG" segments)
 *   regcmd  PATH IOVA          place a raw regcmd dump (little-endian 64-bit entries) at IOVA
 *   segment PATH IOVA          place raw bytes (e.g. a captured weight or feature BO) at IOVA
 *   zero    IOVA BYTES         a zero-filled segment (e.g. an output BO)
 *   task    IOVA [COUNT]       run one task as the rocket kernel starts it: regcmd at IOVA, COUNT 64-bit
 *                              entries including the 4-entry tail (default: the rest of the segment)
 *
 * Tasks run in order on one simulated core whose registers persist between tasks (strict register
 * checks unless --lenient), as one job (a task may reuse the weights an earlier one left in the CBUF).
 * --peer-streams also accepts the int8 streams Mesa and MF-rocket run on rocket (op-enable 0x1D;
 * docs/hardware/regcmd.md §9), e.g. captured from a board. The first failing task stops the replay with the core's reason (exit 1).
 * -o writes every segment after the run as a memory image. Per-task statistics include the timing
 * MODEL estimate (npu_timing.h) - an estimate, not a measurement. */
#include "replay_script.h"
#include "npu_limits.h"
#include "npu_timing.h"
#include "sim/core/npusim.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *why)
{
    fprintf(stderr,
            "npu-replay: %s\nusage: npu-replay SCRIPT [-o OUT.img] [--core 0..%u] [--lenient] [--peer-streams] "
            "[--clock-mhz %u|%u]\n",
            why, NPU_CORES - 1, NPU_CLOCK_MAINLINE_MHZ, NPU_CLOCK_VENDOR_MHZ);
    return 64;
}

int main(int argc, char **argv)
{
    const char *script = NULL, *out = NULL;
    int core_index = 0;
    bool strict = true, peer = false;
    uint32_t clock_mhz = NPU_CLOCK_MAINLINE_MHZ;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-o") && i + 1 < argc)
            out = argv[++i];
        else if (!strcmp(a, "--core") && i + 1 < argc)
            core_index = atoi(argv[++i]);
        else if (!strcmp(a, "--clock-mhz") && i + 1 < argc)
            clock_mhz = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(a, "--lenient"))
            strict = false;
        else if (!strcmp(a, "--peer-streams"))
            peer = true;
        else if (a[0] != '-' && !script)
            script = a;
        else
            return usage("bad argument");
    }
    if (!script) return usage("missing SCRIPT");
    if (core_index < 0 || core_index >= NPU_CORES) return usage("--core is out of range");
    if (clock_mhz != NPU_CLOCK_MAINLINE_MHZ && clock_mhz != NPU_CLOCK_VENDOR_MHZ)
        return usage("--clock-mhz is neither of the two clocks");

    struct replay_script rs = {0};
    char perr[2400];
    int rc = replay_script_load(script, &rs, perr, sizeof perr, NULL);
    if (rc) fprintf(stderr, "npu-replay: %s:%s\n", script, perr);
    uint32_t ntasks = rs.ntasks;
    if (!rc && !ntasks) {
        fprintf(stderr, "npu-replay: %s: no task directive\n", script);
        rc = -EINVAL;
    }
    struct npusim_core *core = rc ? NULL : npusim_core_create(core_index);
    if (!rc && !core) {
        fprintf(stderr, "npu-replay: cannot create the simulated core\n");
        rc = -ENOMEM;
    }
    int exit_code = rc ? 2 : 0;
    if (core) {
        npusim_core_set_strict(core, strict);
        npusim_core_set_peer_streams(core, peer);
        npusim_core_begin_job(core);
    }
    struct npusim_mem mem = {.ctx = &rs.img, .map = npu_image_map};
    uint64_t model_total[NPU_MODEL_BOUNDS] = {0};
    const struct replay_task *tasks = rs.tasks;
    for (uint32_t t = 0; core && t < ntasks; t++) {
        uint32_t count = replay_task_count(&rs, t);
        struct npusim_task_stats st = {0};
        char err[512] = "";
        int r = npusim_core_run_task(core, &mem, tasks[t].iova, count, &st, err, sizeof err);
        if (r) {
            fprintf(stderr, "npu-replay: task %u (regcmd 0x%08x, %u entries) failed: %s (%s)\n", t, tasks[t].iova,
                    count, err, strerror(-r));
            exit_code = 1;
            break;
        }
        struct npu_model_work w = {
                .macs = st.macs, .bytes_in = st.bytes_in, .bytes_out = st.bytes_out, .precision = st.in_precision};
        uint64_t ns[NPU_MODEL_BOUNDS];
        for (int b = 0; b < NPU_MODEL_BOUNDS; b++) {
            ns[b] = npu_model_task_ns(&w, clock_mhz, 1, (enum npu_model_bound)b);
            model_total[b] += ns[b];
        }
        printf("task %u: regcmd 0x%08x count %u: ok  M=%u Kpad=%u Npad=%u prec %d->%d  macs %llu  in %llu B  out %llu B"
               "  model %.3f-%.3f us (optimistic-pessimistic, %u MHz)\n",
               t, tasks[t].iova, count, st.m, st.k, st.n, st.in_precision, st.out_precision,
               (unsigned long long)st.macs, (unsigned long long)st.bytes_in, (unsigned long long)st.bytes_out,
               ns[NPU_MODEL_OPTIMISTIC] / 1e3, ns[NPU_MODEL_PESSIMISTIC] / 1e3, clock_mhz);
    }
    char model[96];
    if (!exit_code)
        printf("replay: %u task(s) ok on simulated core %d; MODEL: %s, tasks only, no per-job overhead; %s\n", ntasks,
               core_index,
               npu_model_format_ms(model, sizeof model, model_total[NPU_MODEL_OPTIMISTIC] / 1e6,
                                   model_total[NPU_MODEL_PESSIMISTIC] / 1e6, clock_mhz),
               npu_model_source());
    if (out && exit_code != 2) {
        char err[256];
        if (npu_image_save(&rs.img, out, err, sizeof err)) {
            fprintf(stderr, "npu-replay: %s\n", err);
            exit_code = 2;
        }
    }
    if (core) npusim_core_destroy(core);
    replay_script_free(&rs);
    return exit_code;
}
