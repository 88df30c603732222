// The plugin's settings, read from the environment once per process into one value. Every other part
// of the plugin takes its settings from here.
//
//   RKNPU_DEVICE     auto (default)  the rocket NPU when one is present, otherwise no device: a stock
//                                    tool on a machine without an NPU never lands on the simulator
//                    rocket          the rocket NPU; no device and a config error when there is none
//                    sim             the register-level software NPU, announced as such
//                    off             no device (A/B runs against the CPU with the same binaries)
//   RKNPU_MODE       auto (default: per weight type, see rknpu_weight_mode) | int8 | int8-had | fp16
//                    forces one accuracy mode for every weight
//   RKNPU_MIN_BATCH  positive integer: the smallest batch (tokens) sent to the NPU; default 8
//   RKNPU_CLOCK_MHZ  positive integer up to 2000: the clock the timing model assumes; 200 (default,
//                    mainline) or 1000 (the vendor maximum)
//   RKNPU_ENVELOPE   auto (default)  board when a current board profile exists, otherwise safe
//                    safe | vendor   that execution envelope (hw/npu_envelope.h)
//                    board           the board profile's; a config error without a current one
//   RKNPU_CPU_SHARE  auto (default)  each weight MUL_MAT's rows split between NPU and CPU by the measured
//                                    speeds (rknpu-split.h); NPU only on the simulator, whose speed is no board's
//                    a decimal in [0, 1): that share of every weight MUL_MAT's rows on the CPU (0 = NPU only)
//   RKNPU_ATTENTION  npu (default)   attention's products over the KV cache (KQ/KQV, FLASH_ATTN_EXT) on the NPU
//                    cpu             on the CPU, the weight matmuls still on the NPU (for a board where the
//                                    attention path does not pay: bench-attention)
//   RKNPU_PIPELINE   auto (default)  each large matmul cut into row chunks whose host glue overlaps the NPU
//                                    work of the others, as many as pay by the measured glue and the per-job
//                                    cost (none before the board profile measures that cost low; gemm_exec.c)
//                    off | 2..8      no chunks | that many chunks whenever the batch allows (measurements)
//   RKNPU_MAX_MEM    bytes of NPU weight copies the plugin may make, with an optional K, M or G suffix (powers of
//                    1024), e.g. 4G; default: no budget. Whole layers are converted from layer 0 up while they
//                    fit; the rest (and the output matrix) run on the CPU (rknpu-budget.h)
//   RKNPU_WEIGHT_CACHE  where converted NPU weights are kept between runs (rknpu-weight-cache.h): unset = the
//                    user's cache directory ($XDG_CACHE_HOME/rosenblatt/npu-weights, else
//                    ~/.cache/rosenblatt/npu-weights); off = no cache; anything else = that directory
//   RKNPU_WEIGHT_CACHE_MAX  bytes the cache may hold (K/M/G suffix); default 8G; least recently used go first
//   RKNPU_PROFILE    the board profile to read (default $XDG_CONFIG_HOME/rosenblatt/board-profile.json,
//                    else ~/.config/rosenblatt/board-profile.json); given but unreadable is a config error
//
// Unset or empty means the default. Anything else is a config error: the plugin registers no device.
#pragma once

#include "board_profile.h"
#include "rk_gemm.h"

#include <cstdint>
#include <string>

struct rknpu_config {
    bool device_off = false;                // RKNPU_DEVICE=off
    npu_device_kind kind = NPU_DEVICE_AUTO; // RKNPU_DEVICE otherwise
    bool mode_forced = false;               // RKNPU_MODE given: one mode for every weight
    rk_gemm_mode mode = RK_GEMM_INT8;
    int64_t min_batch = 0;        // smaller batches (decode) stay on the CPU
    uint32_t clock_mhz = 0;       // timing model clock
    bool envelope_forced = false; // RKNPU_ENVELOPE given (not auto)
    npu_envelope_kind envelope = NPU_ENVELOPE_SAFE;
    bool cpu_share_forced = false; // RKNPU_CPU_SHARE given (not auto)
    double cpu_share = 0;          // then the share of the rows on the CPU
    uint32_t pipeline_chunks = 0;  // RKNPU_PIPELINE: rk_gemm_options.pipeline_chunks (0 auto, 1 off)
    bool attention_on_cpu = false; // RKNPU_ATTENTION=cpu
    std::string profile_path;      // where the board profile is looked for ("" when no home is known)
    bool profile_explicit = false; // RKNPU_PROFILE given
    uint64_t max_mem = 0;          // RKNPU_MAX_MEM in bytes; 0 = no budget
    std::string weight_cache_dir;  // "" = no weight cache (off, or no home directory)
    uint64_t weight_cache_max = 0; // RKNPU_WEIGHT_CACHE_MAX in bytes
    // Empty, or why the settings are invalid: each bad variable with its value and what it accepts.
    std::string error;
};

// A byte count: decimal digits and an optional K, M or G (powers of 1024). false for anything else or 0.
bool rknpu_parse_bytes(const char *v, uint64_t *out);

// Parse the settings through `lookup` (a getenv), so tests can feed any environment.
rknpu_config rknpu_config_parse(const char *(*lookup)(const char *name));
// The settings of this process, parsed on first use.
const rknpu_config &rknpu_config_get(void);

// The execution envelope for a device, from the settings and the board profile. The profile is used only
// when it was made on this system (kernel release, driver and its version, clock, cores); otherwise the
// reason is reported and the envelope is safe, unless RKNPU_ENVELOPE=board, which then is a config error.
struct rknpu_envelope_choice {
    npu_envelope envelope = npu_envelope_safe;
    bool profile_used = false;
    rk_board_profile profile = {};
    std::string note;  // for the load line: which envelope, and what became of the board profile
    std::string error; // a config error, or empty
};
rknpu_envelope_choice rknpu_envelope_choose(const rknpu_config &cfg, const npu_device_info &info,
                                            const char *kernel_release);
