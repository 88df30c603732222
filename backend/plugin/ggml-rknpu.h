/* SPDX-License-Identifier: MIT */
/*
 * Public C ABI of libggml-rknpu.so beyond the ggml backend interface. The plugin exports nothing by
 * name except ggml's two dynamic-loading entry points; these functions are reached through
 * ggml_backend_reg_get_proc_address(reg, "<name>") on the RKNPU registry. The CLI (koffi) and the C
 * tests code against the layouts below, so they change only together with their callers.
 */
#ifndef GGML_RKNPU_H
#define GGML_RKNPU_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Counters since the plugin was loaded ("ggml_backend_rknpu_get_stats"). model_* are timing MODEL
 * estimates, not measurements: the NPU time of the matmuls at the mainline (200 MHz) and the vendor (1 GHz)
 * clock, each as an optimistic and a pessimistic bound, and which parameters the model used. */
#define GGML_RKNPU_MODEL_SOURCE_LEN 96
struct ggml_backend_rknpu_stats {
    uint64_t matmuls, failures, tasks, jobs;
    double glue_ms, npu_wait_ms;
    double model_ms_200_opt, model_ms_200_pess, model_ms_1000_opt, model_ms_1000_pess;
    uint64_t reuse_tasks;                           /* tasks that reused CBUF weights (WEIGHT_REUSE) */
    char model_source[GGML_RKNPU_MODEL_SOURCE_LEN]; /* "fitted to published measurements" | "board profile <date>" */
    /* MUL_MAT_ID: experts' row groups run as NPU matmuls (included in `matmuls`), and those below the NPU batch
     * (RKNPU_MIN_BATCH rows) run on the CPU from the original weights */
    uint64_t expert_matmuls, expert_cpu_matmuls;
    uint64_t attention_ops;     /* KQ/KQV MUL_MATs and FLASH_ATTN_EXT nodes run on the NPU (also in matmuls: KQ/KQV) */
    uint64_t attention_matmuls; /* the NPU GEMMs they ran as (one per KV head, per KV tile and product for FA) */
    double attention_host_ms;   /* their host work outside the engine: packing K/V, gathers, softmax (measured) */
    /* weight MUL_MATs on both engines (RKNPU_CPU_SHARE): how many were split, the MACs (in 1e9) each engine
     * computed in all weight MUL_MATs, split or not, and the CPU shares' wall time (measured, beside the NPU) */
    uint64_t split_matmuls;
    double npu_share_gmacs, cpu_share_gmacs, cpu_share_ms;
};
/* Fills *out and returns true, or returns false when no device is registered. */
typedef bool (*ggml_backend_rknpu_get_stats_t)(struct ggml_backend_rknpu_stats *out);

/* Why RKNPU0 is or is not there ("ggml_backend_rknpu_get_status"). The settings are read once per
 * process, when the registry is first used. */
struct ggml_backend_rknpu_status {
    int32_t present;       /* 1 when RKNPU0 is registered */
    int32_t config_error;  /* 1 when a setting was invalid or an explicitly requested device is missing */
    int32_t is_simulator;  /* 1 when RKNPU0 is the software NPU */
    int32_t reserved;      /* 0 */
    char reason[512];      /* why there is no device; "" when present */
    char description[256]; /* the device description; "" when absent */
};
typedef void (*ggml_backend_rknpu_get_status_t)(struct ggml_backend_rknpu_status *out);
void ggml_backend_rknpu_get_status(struct ggml_backend_rknpu_status *out);

/* Simulator only ("ggml_backend_rknpu_sim_inject_fault"): make a coming NPU job fail the way the kernel
 * lets it fail: "reset", "dropped", "slow" or "dma" (npu_device.h; "timeout" and "reject" are the old names
 * of reset and dropped), optionally "@N" for the Nth job from now; "none" clears. Returns 0, or a negative
 * errno (-ENODEV without a simulated RKNPU0). */
typedef int (*ggml_backend_rknpu_sim_inject_fault_t)(const char *spec);

#ifdef __cplusplus
}
#endif
#endif
