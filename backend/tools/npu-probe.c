/* npu-probe: is there a working NPU, and does a matmul through our regcmd builder come back right?
 *
 *   npu-probe [--device sim|rocket|auto] [--dtype int8|fp16] [--cores 1|2|3] [--clock-mhz 200|1000]
 *             [--envelope safe|vendor] [--seed N] [--json]
 *
 * --device defaults to $RKNPU_DEVICE, else auto (= rocket if a rocket node exists, else an error; auto
 * never picks the simulator). Runs a 64x64x64 and a 200x150x192 case on random data, cut into tasks as the
 * execution envelope allows (default safe: 32-row tiles, unchained tails),
 * compares with a CPU reference (int8 -> int32 bit-exact; fp16 -> fp32 within a stated tolerance),
 * prints measured wall time and MODEL NPU time. --json prints one machine-readable line on stdout
 * (human output then goes to stderr). Exit: 0 all matched, 1 mismatch, 2 device error, 64 usage. */
#include "npu_limits.h"
#include "npu_probe.h"
#include "npu_timing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int usage(const char *why)
{
    fprintf(stderr,
            "npu-probe: %s\nusage: npu-probe [--device sim|rocket|auto] [--dtype int8|fp16] [--cores 1..%u] "
            "[--clock-mhz %u|%u] [--envelope safe|vendor] [--seed N] [--json]\n",
            why, NPU_CORES, NPU_CLOCK_MAINLINE_MHZ, NPU_CLOCK_VENDOR_MHZ);
    return 64;
}

int main(int argc, char **argv)
{
    struct npu_probe_options o = {.dtype = NPU_DTYPE_INT8, .cores = 1, .clock_mhz = NPU_CLOCK_MAINLINE_MHZ};
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
        if (!strcmp(a, "--device")) {
            if (npu_device_kind_parse(v, &o.kind)) return usage(npu_last_error());
        } else if (!strcmp(a, "--dtype")) {
            if (!strcmp(v, "int8"))
                o.dtype = NPU_DTYPE_INT8;
            else if (!strcmp(v, "fp16"))
                o.dtype = NPU_DTYPE_FP16;
            else
                return usage("--dtype must be int8 or fp16");
        } else if (!strcmp(a, "--cores")) {
            o.cores = (uint32_t)strtoul(v, NULL, 10);
            if (o.cores < 1 || o.cores > NPU_CORES) return usage("--cores is out of range");
        } else if (!strcmp(a, "--clock-mhz")) {
            o.clock_mhz = (uint32_t)strtoul(v, NULL, 10);
            if (o.clock_mhz != NPU_CLOCK_MAINLINE_MHZ && o.clock_mhz != NPU_CLOCK_VENDOR_MHZ)
                return usage("--clock-mhz is neither of the two clocks");
        } else if (!strcmp(a, "--envelope")) {
            enum npu_envelope_kind k;
            if (npu_envelope_parse(v, &k) || k == NPU_ENVELOPE_BOARD) return usage("--envelope must be safe or vendor");
            o.envelope = k == NPU_ENVELOPE_VENDOR ? &npu_envelope_vendor : &npu_envelope_safe;
        } else if (!strcmp(a, "--seed"))
            o.seed = (uint32_t)strtoul(v, NULL, 0);
        else
            return usage("unknown option");
    }
    FILE *log = json ? stderr : stdout;
    struct npu_probe_result r;
    int err = npu_probe_run(&o, &r, log);
    if (!json && r.have_info) npu_model_print_params(log);
    if (json) npu_probe_print_json(stdout, &o, &r);
    if (err)
        fprintf(stderr, "npu-probe: FAILED: %s\n", r.error);
    else
        fprintf(log, "npu-probe: PASS (%s)\n", r.info.is_simulator ? "on the SIMULATOR" : r.info.node);
    return !err ? 0 : err == -EDOM ? 1 : 2;
}
