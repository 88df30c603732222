// Settings of the RKNPU plugin (rknpu-config.h).
#include "rknpu-config.h"

#include "npu_limits.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

// Decode (one token) is memory-bound: the NPU would stream int8 weights, 1.8x the bytes of Q4_K,
// and CPU Q4 decode already beats the vendor NPU stack on Qwen2.5-1.5B (docs/hardware/measurements.md §5;
// docs/hardware/ggml-backend.md §2.3). The timing model (npu_timing.c: 3 cores x 1024 int8 MAC/cycle at
// 200 MHz, 26.6 GB/s DMA) puts the NPU's ffn_up (K=1536, N=8960) at ~0.52 ms for M=1, dominated by
// the 13.8 MB weight stream, and compute-bound only from M ~ 24; the A76 cores run the same Q4_K
// matmul in ~0.4 ms at M=1 and fall behind from a few tokens. 8 tokens is where the model says the
// NPU starts to pay off with margin; it is a setting, to be measured on the board.
#define RKNPU_DEFAULT_MIN_BATCH        8
#define RKNPU_MIN_BATCH_MAX            INT32_MAX // any batch at all; larger values only mean "never"
// Where calibrate writes the board profile, under the user's config directory (XDG base directories).
#define RKNPU_PROFILE_SUBPATH          "rosenblatt/board-profile.json"
// Where converted weights are cached, under the user's cache directory, and how much it may hold: a few models of
// the sizes an RK3588 board runs (a 1.5B model's int8 copy is 1.6 GB, a 7B model's 7 GB).
#define RKNPU_WEIGHT_CACHE_SUBPATH     "rosenblatt/npu-weights"
#define RKNPU_WEIGHT_CACHE_MAX_DEFAULT (8ull << 30)
// RKNPU_PIPELINE forced: more chunks than this only add jobs (chunks are at least 64 rows, gemm_exec.c).
#define RKNPU_PIPELINE_CHUNKS_MAX      8

static void add_error(rknpu_config &c, const std::string &text) { c.error += (c.error.empty() ? "" : "; ") + text; }

// A decimal integer in 1..max with nothing around it; false otherwise.
static bool parse_positive(const char *v, int64_t max, int64_t *out)
{
    if (*v < '0' || *v > '9') {
        return false; // no sign, no blanks
    }
    errno = 0;
    char *end = nullptr;
    long long x = strtoll(v, &end, 10);
    if (errno || *end || x < 1 || x > max) {
        return false;
    }
    *out = x;
    return true;
}

bool rknpu_parse_bytes(const char *v, uint64_t *out)
{
    if (*v < '0' || *v > '9') {
        return false;
    }
    errno = 0;
    char *end = nullptr;
    unsigned long long x = strtoull(v, &end, 10);
    unsigned shift = 0;
    switch (*end) {
    case 'K':
    case 'k':
        shift = 10;
        break;
    case 'M':
    case 'm':
        shift = 20;
        break;
    case 'G':
    case 'g':
        shift = 30;
        break;
    default:
        break;
    }
    end += shift ? 1 : 0;
    if (errno || *end || x == 0 || x > (UINT64_MAX >> shift)) {
        return false;
    }
    *out = (uint64_t)x << shift;
    return true;
}

// A decimal in [0, 1) with nothing around it; false otherwise.
static bool parse_share(const char *v, double *out)
{
    if (!*v || strspn(v, "0123456789.") != strlen(v)) {
        return false; // plain decimal notation: no sign, exponent, blanks or hexadecimal
    }
    errno = 0;
    char *end = nullptr;
    double x = strtod(v, &end);
    if (errno || *end || !(x >= 0) || !(x < 1)) {
        return false;
    }
    *out = x;
    return true;
}

rknpu_config rknpu_config_parse(const char *(*lookup)(const char *name))
{
    auto get = [lookup](const char *name) -> const char * {
        const char *v = lookup(name);
        return v && *v ? v : nullptr;
    };
    rknpu_config c;
    c.min_batch = RKNPU_DEFAULT_MIN_BATCH;
    c.clock_mhz = NPU_CLOCK_MAINLINE_MHZ;

    if (const char *v = get("RKNPU_DEVICE")) {
        if (!strcmp(v, "off")) {
            c.device_off = true;
        } else if (npu_device_kind_parse(v, &c.kind) != 0) {
            add_error(c, std::string("unknown RKNPU_DEVICE='") + v + "' (accepted: auto, rocket, sim, off)");
        }
    }
    if (const char *v = get("RKNPU_MODE")) {
        if (strcmp(v, "auto") != 0) {
            c.mode_forced = true;
            if (rk_gemm_mode_parse(v, &c.mode) != 0) {
                add_error(c, std::string("unknown RKNPU_MODE='") + v + "' (accepted: auto, int8, int8-had, fp16)");
            }
        }
    }
    if (const char *v = get("RKNPU_MIN_BATCH")) {
        if (!parse_positive(v, RKNPU_MIN_BATCH_MAX, &c.min_batch)) {
            add_error(c, std::string("invalid RKNPU_MIN_BATCH='") + v + "' (accepted: a positive integer; default " +
                                 std::to_string(RKNPU_DEFAULT_MIN_BATCH) + ")");
        }
    }
    if (const char *v = get("RKNPU_ENVELOPE")) {
        if (strcmp(v, "auto") != 0) {
            c.envelope_forced = true;
            if (npu_envelope_parse(v, &c.envelope) != 0) {
                add_error(c, std::string("unknown RKNPU_ENVELOPE='") + v + "' (accepted: auto, safe, vendor, board)");
            }
        }
    }
    if (const char *v = get("RKNPU_CPU_SHARE")) {
        if (strcmp(v, "auto") != 0) {
            c.cpu_share_forced = true;
            if (!parse_share(v, &c.cpu_share)) {
                add_error(c, std::string("invalid RKNPU_CPU_SHARE='") + v +
                                     "' (accepted: auto, or a decimal from 0 (NPU only) up to but not 1)");
            }
        }
    }
    if (const char *v = get("RKNPU_ATTENTION")) {
        if (!strcmp(v, "cpu")) {
            c.attention_on_cpu = true;
        } else if (strcmp(v, "npu") != 0) {
            add_error(c, std::string("unknown RKNPU_ATTENTION='") + v + "' (accepted: npu, cpu)");
        }
    }
    if (const char *v = get("RKNPU_PIPELINE")) {
        int64_t n = 0;
        if (!strcmp(v, "off")) {
            c.pipeline_chunks = 1;
        } else if (strcmp(v, "auto") != 0) {
            if (parse_positive(v, RKNPU_PIPELINE_CHUNKS_MAX, &n) && n >= 2) {
                c.pipeline_chunks = (uint32_t)n;
            } else {
                add_error(c, std::string("invalid RKNPU_PIPELINE='") + v + "' (accepted: auto, off, or 2 to " +
                                     std::to_string(RKNPU_PIPELINE_CHUNKS_MAX) + " chunks)");
            }
        }
    }
    if (const char *v = get("RKNPU_PROFILE")) {
        c.profile_path = v;
        c.profile_explicit = true;
    } else if (const char *x = get("XDG_CONFIG_HOME")) {
        c.profile_path = std::string(x) + "/" RKNPU_PROFILE_SUBPATH;
    } else if (const char *h = get("HOME")) {
        c.profile_path = std::string(h) + "/.config/" RKNPU_PROFILE_SUBPATH;
    }
    if (const char *v = get("RKNPU_MAX_MEM")) {
        if (!rknpu_parse_bytes(v, &c.max_mem)) {
            add_error(c, std::string("invalid RKNPU_MAX_MEM='") + v +
                                 "' (accepted: a positive byte count with an optional K, M or G suffix, e.g. 4G)");
        }
    }
    c.weight_cache_max = RKNPU_WEIGHT_CACHE_MAX_DEFAULT;
    if (const char *v = get("RKNPU_WEIGHT_CACHE")) {
        if (strcmp(v, "off") != 0) {
            c.weight_cache_dir = v;
        }
    } else if (const char *x = get("XDG_CACHE_HOME")) {
        c.weight_cache_dir = std::string(x) + "/" RKNPU_WEIGHT_CACHE_SUBPATH;
    } else if (const char *h = get("HOME")) {
        c.weight_cache_dir = std::string(h) + "/.cache/" RKNPU_WEIGHT_CACHE_SUBPATH;
    }
    if (const char *v = get("RKNPU_WEIGHT_CACHE_MAX")) {
        if (!rknpu_parse_bytes(v, &c.weight_cache_max)) {
            add_error(c, std::string("invalid RKNPU_WEIGHT_CACHE_MAX='") + v +
                                 "' (accepted: a positive byte count with an optional K, M or G suffix, e.g. 8G)");
        }
    }
    if (const char *v = get("RKNPU_CLOCK_MHZ")) {
        int64_t mhz = 0;
        if (parse_positive(v, NPU_MODEL_CLOCK_MHZ_MAX, &mhz)) {
            c.clock_mhz = (uint32_t)mhz;
        } else {
            add_error(c, std::string("invalid RKNPU_CLOCK_MHZ='") + v + "' (accepted: a positive integer up to " +
                                 std::to_string(NPU_MODEL_CLOCK_MHZ_MAX) + "; " +
                                 std::to_string(NPU_CLOCK_MAINLINE_MHZ) + " = mainline default, " +
                                 std::to_string(NPU_CLOCK_VENDOR_MHZ) + " = vendor maximum)");
        }
    }
    return c;
}

static std::string describe(const npu_envelope &env)
{
    char line[256];
    npu_envelope_describe(&env, line, sizeof line);
    return line;
}

rknpu_envelope_choice rknpu_envelope_choose(const rknpu_config &cfg, const npu_device_info &info,
                                            const char *kernel_release)
{
    rknpu_envelope_choice ch;
    const std::string &path = cfg.profile_path;
    bool board_forced = cfg.envelope_forced && cfg.envelope == NPU_ENVELOPE_BOARD;
    std::string about; // what became of the profile, for the note
    char err[512] = "";
    int rc = path.empty() ? -ENOENT : rk_board_profile_load(path.c_str(), &ch.profile, err, sizeof err);
    if (rc == -ENOENT && !cfg.profile_explicit) {
        about = path.empty() ? "no board profile (no config directory)" : "no board profile at " + path;
    } else if (rc != 0) {
        if (cfg.profile_explicit || board_forced) {
            ch.error = std::string("board profile ") + err;
            return ch;
        }
        about = std::string("board profile not used: ") + err;
    } else {
        char version[48];
        snprintf(version, sizeof version, "%d.%d.%d", info.version_major, info.version_minor, info.version_patch);
        rc = rk_board_profile_check(&ch.profile, kernel_release, info.driver, version, cfg.clock_mhz, info.cores, err,
                                    sizeof err);
        if (rc != 0) {
            if (board_forced) {
                ch.error = "RKNPU_ENVELOPE=board, but the board profile " + path + " is stale: " + err;
                return ch;
            }
            about = "board profile " + path + " is stale and not used: " + err;
        } else {
            ch.profile_used = true;
            about = "board profile " + path + " of " + ch.profile.created;
        }
    }
    if (board_forced && !ch.profile_used) {
        ch.error = "RKNPU_ENVELOPE=board, but there is " + about + "; run rosenblatt-dl calibrate";
        return ch;
    }
    if (cfg.envelope_forced && cfg.envelope != NPU_ENVELOPE_BOARD) {
        ch.envelope = cfg.envelope == NPU_ENVELOPE_VENDOR ? npu_envelope_vendor : npu_envelope_safe;
        ch.note = describe(ch.envelope) + " (RKNPU_ENVELOPE=" + npu_envelope_name(cfg.envelope) + "); " + about;
        return ch;
    }
    if (ch.profile_used) ch.envelope = ch.profile.envelope;
    ch.note = describe(ch.envelope) + " from " + about;
    if (!ch.profile_used) ch.note = describe(ch.envelope) + "; " + about;
    return ch;
}

static const char *lookup_env(const char *name) { return getenv(name); }

const rknpu_config &rknpu_config_get(void)
{
    static const rknpu_config config = rknpu_config_parse(lookup_env);
    return config;
}
