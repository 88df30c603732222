/* SPDX-License-Identifier: MIT */
/*
 * The board profile: what `rosenblatt-dl calibrate` proved on one board (the widest execution envelope that
 * passed, the measured timing parameters) and the system it was proved on (kernel, driver, NPU clock,
 * cores). calibrate writes it as JSON; the plugin reads it at start-up with this parser and uses the
 * envelope only while the system is the same (rk_board_profile_check).
 *
 * The format (version 1), every key required unless marked optional, no other keys:
 *
 *   {"format": "rosenblatt-board-profile", "version": 1,
 *    "created": "2026-11-30T12:00:00Z", "host": "boltzmann",            (strings, informational)
 *    "kernel": "7.0.1",                                                 (uname release)
 *    "driver": {"name": "rocket", "version": "0.0.0"},                  (DRM name and version)
 *    "clock_mhz": 200, "clock_source": "RKNPU_CLOCK_MHZ",               (source optional)
 *    "cores": 3, "simulator": false,
 *    "envelope": {"m_tile_max": 128, "n_tile_max": 3072, "k_task_max_int8": 8192, "k_task_max_fp16": 4096,
 *                 "inplace_k_slices": true, "chained_tails": true, "weight_reuse": false,
 *                 "out_pairs": ["int8-int32", "int8-fp32", "fp16-fp32"],
 *                 "tasks_per_job_max": 4095, "job_budget_ms": 250},
 *    "timing": {"task_overhead_us": 22, "job_overhead_us": 90, "int8_macs_per_cycle": 1024,
 *               "fp16_macs_per_cycle": 512, "dma_gbps": 11.1, "mac_efficiency": 1,
 *               "job_time_ratio_max": 1},
 *    "ladder": <anything>}                                              (optional, not read)
 *
 * The parser is strict and small on purpose (it reads a file from the user's config directory at every
 * start-up): RFC 8259 JSON of at most RK_PROFILE_MAX_BYTES, nesting of at most RK_PROFILE_MAX_DEPTH, no
 * duplicate keys; every error names the line and column or the key and what was expected.
 */
#ifndef RK_BOARD_PROFILE_H
#define RK_BOARD_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "npu_envelope.h"

#ifdef __cplusplus
extern "C" {
#endif

#define RK_PROFILE_FORMAT    "rosenblatt-board-profile"
#define RK_PROFILE_VERSION   1
#define RK_PROFILE_MAX_BYTES 65536
#define RK_PROFILE_MAX_DEPTH 16

/* Measured timing parameters, named after the timing MODEL's table (device/npu_timing.c). */
struct rk_board_timing {
    double task_overhead_us, job_overhead_us;
    double int8_macs_per_cycle, fp16_macs_per_cycle;
    double dma_gbps;           /* per core */
    double mac_efficiency;     /* measured int8 MAC rate / the nominal rate */
    double job_time_ratio_max; /* the largest measured job time / modelled job time of the ladder's jobs */
};

struct rk_board_profile {
    char created[48], host[64], kernel[128];
    char driver[32], driver_version[32]; /* "rocket", "0.0.0" */
    char clock_source[48];
    uint32_t clock_mhz, cores;
    bool simulator;
    struct npu_envelope envelope; /* kind NPU_ENVELOPE_BOARD, validated */
    struct rk_board_timing timing;
};

/* Parse a profile from text (len bytes, need not be NUL-terminated). 0, or -EINVAL with the reason. */
int rk_board_profile_parse(const char *text, size_t len, struct rk_board_profile *p, char *err, size_t errlen);
/* Read and parse a file. 0, -ENOENT (no such file), or another -errno / -EINVAL with the reason. */
int rk_board_profile_load(const char *path, struct rk_board_profile *p, char *err, size_t errlen);
/* Was the profile made on this system? 0, or -ESTALE with what differs (kernel, driver, its version, the NPU
 * clock, the cores). */
int rk_board_profile_check(const struct rk_board_profile *p, const char *kernel, const char *driver,
                           const char *driver_version, uint32_t clock_mhz, uint32_t cores, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
