/* npu-probe as a library: open 1-3 devices (one per core), run matmuls through the regcmd builder on
 * random data, cut into tasks as the execution envelope allows, compare with a CPU reference, report
 * measured wall time and MODEL NPU time.
 * The CLI (npu-probe.c) and the unit tests both call npu_probe_run. */
#ifndef ROSENBLATT_NPU_PROBE_H
#define ROSENBLATT_NPU_PROBE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "npu_device.h"
#include "npu_envelope.h"
#include "npu_timing.h"

struct npu_probe_options {
    enum npu_device_kind kind;
    enum npu_dtype dtype; /* NPU_DTYPE_INT8 (-> int32, bit-exact) or NPU_DTYPE_FP16 (-> fp32, tolerance) */
    uint32_t cores;       /* 1..3: one device (fd) per core, N split across them */
    uint32_t clock_mhz;   /* timing MODEL clock: 200 or 1000 */
    uint32_t seed;
    const struct npu_envelope *envelope; /* tiles, tails and jobs are cut for it; NULL: safe */
};

#define NPU_PROBE_MAX_CASES 2
struct npu_probe_case {
    const char *name;
    uint32_t m, k, n;
    uint32_t jobs, tasks;
    bool ok;
    uint64_t compared, mismatches;
    double max_abs_err;                /* fp16: largest |npu - ref|; int8: 0 when exact */
    double wall_ms;                    /* measured: first submit to last wait */
    double model_ms[NPU_MODEL_BOUNDS]; /* MODEL: cores in parallel at clock_mhz, [optimistic, pessimistic] */
    uint64_t macs;
    char error[640];
};

struct npu_probe_result {
    bool ok;
    struct npu_device_info info;
    bool have_info;
    uint32_t case_count;
    struct npu_probe_case cases[NPU_PROBE_MAX_CASES];
    char error[512]; /* first failure */
};

/* Returns 0 when every case matched; -errno (device error) or -EDOM (mismatch) otherwise, with
 * r->error set. Human-readable progress goes to log (may be NULL). */
int npu_probe_run(const struct npu_probe_options *o, struct npu_probe_result *r, FILE *log);
void npu_probe_print_json(FILE *out, const struct npu_probe_options *o, const struct npu_probe_result *r);
const char *npu_probe_tolerance(enum npu_dtype dtype);

#endif
