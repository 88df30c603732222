// libggml-rknpu.so: ggml backend plugin for the RK3588 NPU (mainline `rocket` driver).
//
// Layout follows ggml's small backends (style.md): context, device selection, registry, then the
// dynamic-loading entry points. The registry is a function-local static, because every
// ggml_backend_load_all() call dlopens the plugin again and must get the same object back
// (ggml-backend-guide.md §1.7).
//
// Device selection (RKNPU_DEVICE):
//   auto (default)  the rocket NPU when one is present, otherwise no device: a stock tool on a
//                   machine without an NPU never lands on the simulator by accident
//   rocket          the rocket NPU, or no device (with the reason) when there is none
//   sim             the register-level software NPU, said so in the log
//   off             no device (A/B runs against the CPU with the same binaries)

#include "ggml-backend-impl.h"
#include "ggml-impl.h"

#include <cstdlib>
#include <cstring>
#include <string>

#include <dirent.h>

#define RKNPU_NAME "RKNPU"

enum rknpu_device_kind { RKNPU_NONE, RKNPU_ROCKET, RKNPU_SIM };

struct rknpu_selection {
    rknpu_device_kind kind;
    std::string       why;   // what was asked for and what was found, for the load log line
};

// The mainline driver exposes /dev/accel/accelN and no render node (rocket-uapi-and-kernel.md §3).
static bool rknpu_accel_node_present(std::string & found) {
    const char * dir_path = getenv("RKNPU_ACCEL_DIR");
    if (!dir_path) {
        dir_path = "/dev/accel";
    }
    DIR * dir = opendir(dir_path);
    if (!dir) {
        found = std::string(dir_path) + " absent";
        return false;
    }
    bool any = false;
    while (struct dirent * e = readdir(dir)) {
        if (strncmp(e->d_name, "accel", 5) == 0) {
            found = std::string(dir_path) + "/" + e->d_name;
            any = true;
            break;
        }
    }
    closedir(dir);
    if (!any) {
        found = std::string(dir_path) + " has no accel node";
    }
    return any;
}

static rknpu_selection rknpu_select(void) {
    const char * env = getenv("RKNPU_DEVICE");
    std::string want = env && *env ? env : "auto";
    std::string node;
    if (want == "off") {
        return { RKNPU_NONE, "RKNPU_DEVICE=off" };
    }
    if (want == "sim") {
        return { RKNPU_SIM, "RKNPU_DEVICE=sim: software NPU (simulator), not real hardware" };
    }
    if (want == "auto" || want == "rocket") {
        if (rknpu_accel_node_present(node)) {
            return { RKNPU_ROCKET, "rocket NPU candidate at " + node };
        }
        return { RKNPU_NONE, "no rocket NPU found (" + node + "); RKNPU_DEVICE=sim selects the software NPU" };
    }
    return { RKNPU_NONE, "unknown RKNPU_DEVICE='" + want + "' (use auto, rocket, sim or off)" };
}

// The MUL_MAT path (GEMM engine, buffer type, device) is not wired yet: the registry lists no device,
// so every op stays on the CPU. The log line still says what would have been used.
static size_t rknpu_device_count(const rknpu_selection & sel) {
    GGML_UNUSED(sel);
    return 0;
}

struct ggml_backend_rknpu_reg_context {
    rknpu_selection sel;
    size_t          n_devices;
};

static const char * ggml_backend_rknpu_reg_get_name(ggml_backend_reg_t reg) {
    return RKNPU_NAME;
    GGML_UNUSED(reg);
}

static size_t ggml_backend_rknpu_reg_get_device_count(ggml_backend_reg_t reg) {
    auto * ctx = (ggml_backend_rknpu_reg_context *) reg->context;
    return ctx->n_devices;
}

static ggml_backend_dev_t ggml_backend_rknpu_reg_get_device(ggml_backend_reg_t reg, size_t index) {
    GGML_ABORT("RKNPU: no device %zu", index);
    GGML_UNUSED(reg);
}

static void * ggml_backend_rknpu_reg_get_proc_address(ggml_backend_reg_t reg, const char * name) {
    return nullptr;
    GGML_UNUSED(reg);
    GGML_UNUSED(name);
}

static const ggml_backend_reg_i ggml_backend_rknpu_reg_i = {
    .get_name         = ggml_backend_rknpu_reg_get_name,
    .get_device_count = ggml_backend_rknpu_reg_get_device_count,
    .get_device       = ggml_backend_rknpu_reg_get_device,
    .get_proc_address = ggml_backend_rknpu_reg_get_proc_address,
};

ggml_backend_reg_t ggml_backend_rknpu_reg(void) {
    static ggml_backend_rknpu_reg_context ctx = [] {
        ggml_backend_rknpu_reg_context c;
        c.sel       = rknpu_select();
        c.n_devices = rknpu_device_count(c.sel);
        // WARN, not INFO: the stock tools load backends while parsing arguments, when their logger
        // still drops INFO lines, and which device is in use must always be visible.
        GGML_LOG_WARN("%s: %s; %zu device(s) registered (MUL_MAT offload not built yet)\n",
                      RKNPU_NAME, c.sel.why.c_str(), c.n_devices);
        return c;
    }();
    static ggml_backend_reg reg = {
        .api_version = GGML_BACKEND_API_VERSION,
        .iface       = ggml_backend_rknpu_reg_i,
        .context     = &ctx,
    };
    return &reg;
}

// The loader unloads a plugin whose score is 0. The plugin is loadable everywhere: without an NPU
// it registers no device and says why, rather than disappearing silently.
static int ggml_backend_rknpu_score(void) {
    return 1;
}

GGML_BACKEND_DL_IMPL(ggml_backend_rknpu_reg)
GGML_BACKEND_DL_SCORE_IMPL(ggml_backend_rknpu_score)
