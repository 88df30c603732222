/* SPDX-License-Identifier: MIT */
/*
 * Regcmd builder: the register stream of one RK3588 NPU task computing C[M,N] = A[M,K]·B[K,N] as a
 * 1×1 direct convolution, plus the 4-entry tail that ends (or chains) a task.
 *
 * The body is the full 108-entry set the vendor runtime emits, in its order (docs/hardware/regcmd.md §7):
 * registers persist across tasks and ping-pong groups make delta bodies unsafe
 * (docs/hardware/registers.md §3.1, §3.2), so every task writes everything.
 *
 * On rocket, drm_rocket_task = { regcmd = segment IOVA, regcmd_count = body + 4 }; the kernel
 * fetches (regcmd_count+1)/2 128-bit units, so a segment must hold an even number of entries
 * (zero padding) and the tail must be inside regcmd_count (docs/hardware/rocket-uapi.md §4.2).
 */
#ifndef RK_REGCMD_H
#define RK_REGCMD_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "npu_regs.h"

#define RK_REGCMD_BODY_ENTRIES 108 /* every body this builder emits (docs/hardware/regcmd.md §7) */

/* Validate a matmul against field widths, alignment and the shared envelope (npu_limits.h). */
int rk_matmul_check(const struct rk_matmul *mm, char *err, size_t errlen);

/* Full register body of one task (no tail).  Returns 0 and *count = 108, or −EINVAL/−ENOTSUP/−ENOSPC
 * with a reason in err. */
int rk_regcmd_matmul(const struct rk_matmul *mm, uint64_t *body, size_t cap, size_t *count, char *err, size_t errlen);

/* The 4-entry tail (docs/hardware/regcmd.md §2): next PC_BASE_ADDRESS (0 word when next_iova == 0), next
 * PC_REGISTER_AMOUNTS = ceil(next_body_count/2)+1 (0 when none), 0x0041 marker, op-enable 0xD.
 * Returns 4. */
size_t rk_regcmd_tail(uint64_t out[4], uint32_t next_iova, uint32_t next_body_count);

/* Body + tail + zero padding to an even entry count in one go.  *regcmd_count = body + 4, the
 * value for drm_rocket_task.regcmd_count.  cap must be >= rk_regcmd_segment_entries(108). */
int rk_regcmd_matmul_task(const struct rk_matmul *mm, uint32_t next_iova, uint64_t *seg, size_t cap,
                          uint32_t *regcmd_count, char *err, size_t errlen);

/* One entry as text for dumps, e.g. "CNA_CBUF_CON0 (0x1040) = 0x000000b1", "op-enable 0xd".
 * Returns snprintf's count. */
int rk_regcmd_describe(uint64_t entry, char *buf, size_t len);

uint32_t rk_regcmd_count(size_t body_count);           /* body + 4 (rocket regcmd_count) */
uint32_t rk_pc_data_amount(uint32_t regcmd_count);     /* MMIO PC_REGISTER_AMOUNTS: (count+1)/2 − 1 */
uint32_t rk_next_amount(uint32_t next_body_count);     /* tail value: ceil(body/2) + 1 (docs/hardware/regcmd.md §4) */
uint32_t rk_pc_fetch_entries(uint32_t pc_data_amount); /* entries the PC reads: 2·(amount+1) */
size_t rk_regcmd_segment_entries(size_t body_count);   /* room per segment: align(body+4, 8) = 64 B */

#endif
