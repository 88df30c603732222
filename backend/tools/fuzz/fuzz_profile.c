// SPDX-License-Identifier: MIT
/*
 * Fuzz target "profile": the board profile reader (backend/profile/board_profile.c), which the plugin runs on
 * a file from the user's config directory at every start-up. Seeds are valid profiles (envelopes and timings
 * varied); mutations edit bytes, insert JSON tokens (brackets, quotes, escapes, numbers at the edges of what
 * doubles and 32 bits hold, the schema's keys, so duplicates appear), repeat or drop spans (deep nesting, long
 * strings), cut the text or give it a length without its terminator.
 *
 * Invariants: the parser returns 0 or -EINVAL; a rejection has a non-empty, terminated reason; an accepted
 * profile has terminated strings, a clock and core count the hardware has, an envelope npu_envelope_validate
 * accepts and finite timing parameters; an unmutated seed parses. The text is handed over in a buffer of
 * exactly its length, without a terminator, so a read past `len` is an AddressSanitizer report.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_profile.h"
#include "fuzz.h"
#include "npu_limits.h"

#define TEXT_MAX        (RK_PROFILE_MAX_BYTES + 4096) /* room to cross the parser's size limit */
#define ERR_BYTES       512
#define SPAN_MAX        64
#define REPEAT_MAX      40
#define SPAN_REPEAT_MAX 8

static const char *const tokens[] = {"{",
                                     "}",
                                     "[",
                                     "]",
                                     ",",
                                     ":",
                                     "\"",
                                     "\\",
                                     "\\u",
                                     "\\ud83d",
                                     "\\u0000",
                                     "\\\"",
                                     "null",
                                     "true",
                                     "false",
                                     "0",
                                     "-0",
                                     "1e308",
                                     "1e309",
                                     "-1e309",
                                     "4294967295",
                                     "4294967296",
                                     "-1",
                                     "0.5",
                                     "1e-400",
                                     "01",
                                     "1.",
                                     ".5",
                                     "+1",
                                     "NaN",
                                     "Infinity",
                                     " ",
                                     "\n",
                                     "\t",
                                     "\x01",
                                     "\xff",
                                     "\"format\"",
                                     "\"version\"",
                                     "\"kernel\"",
                                     "\"driver\"",
                                     "\"envelope\"",
                                     "\"timing\"",
                                     "\"cores\"",
                                     "\"clock_mhz\"",
                                     "\"out_pairs\"",
                                     "\"m_tile_max\"",
                                     "\"int8-int32\"",
                                     "\"ladder\""};

static int make_seed(char *out, size_t cap, struct fuzz_rng *r)
{
    static const char *const pairs[] = {"\"int8-int32\"", "\"int8-fp32\"", "\"fp16-fp32\"", "\"fp16-fp16\""};
    char outs[128] = "";
    for (size_t i = 0, n = 1 + fuzz_below(r, 4); i < n; i++)
        snprintf(outs + strlen(outs), sizeof outs - strlen(outs), "%s%s", i ? ", " : "", pairs[i]);
    return snprintf(
            out, cap,
            "{\"format\": \"rosenblatt-board-profile\", \"version\": 1, \"created\": \"2026-11-30T12:00:00Z\",\n"
            " \"host\": \"boltzmann\", \"kernel\": \"7.0.1\", \"driver\": {\"name\": \"rocket\", \"version\": "
            "\"0.0.0\"},\n \"clock_mhz\": %u, \"clock_source\": \"RKNPU_CLOCK_MHZ\", \"cores\": %u, "
            "\"simulator\": %s,\n \"envelope\": {\"m_tile_max\": %u, \"n_tile_max\": %u, \"k_task_max_int8\": "
            "%u, \"k_task_max_fp16\": %u, \"inplace_k_slices\": %s, \"chained_tails\": %s, \"weight_reuse\": "
            "false, \"out_pairs\": [%s], \"tasks_per_job_max\": %u, \"job_budget_ms\": %u},\n"
            " \"timing\": {\"task_overhead_us\": %.1f, \"job_overhead_us\": 90, \"int8_macs_per_cycle\": 1024, "
            "\"fp16_macs_per_cycle\": 512, \"dma_gbps\": %.2f, \"mac_efficiency\": 0.97, "
            "\"job_time_ratio_max\": 1.1},\n \"ladder\": {\"steps\": [1, 2.5e-3, null, \"\\u00e9\"]}}\n",
            fuzz_one_in(r, 2) ? 200u : 1000u, 1 + fuzz_below(r, NPU_CORES), fuzz_one_in(r, 2) ? "true" : "false",
            1 + fuzz_below(r, 128), 32 * (1 + fuzz_below(r, 64)), 32 * (1 + fuzz_below(r, 100)),
            32 * (1 + fuzz_below(r, 50)), fuzz_one_in(r, 2) ? "true" : "false", fuzz_one_in(r, 2) ? "true" : "false",
            outs, 1 + fuzz_below(r, 512), 10 + fuzz_below(r, 240), 10 + fuzz_below(r, 40) / 2.0,
            1 + fuzz_below(r, 20) / 2.0);
}

static void insert(char *t, size_t *len, size_t at, const char *s, size_t n)
{
    if (*len + n > TEXT_MAX) return;
    memmove(t + at + n, t + at, *len - at);
    memcpy(t + at, s, n);
    *len += n;
}

static void mutate(char *t, size_t *len, struct fuzz_rng *r)
{
    size_t at = fuzz_below(r, (uint32_t)*len + 1);
    switch (fuzz_below(r, 6)) {
    case 0:
        fuzz_mutate_bytes(r, (uint8_t *)t, *len, 1 + fuzz_below(r, 4));
        break;
    case 1: {
        const char *tok = tokens[fuzz_below(r, sizeof tokens / sizeof tokens[0])];
        insert(t, len, at, tok, strlen(tok));
        break;
    }
    case 2: { /* delete a span */
        size_t n = fuzz_below(r, SPAN_MAX) % (*len - at + 1);
        memmove(t + at, t + at + n, *len - at - n);
        *len -= n;
        break;
    }
    case 3: { /* repeat a span many times: deep nesting, long strings, many keys */
        char span[SPAN_REPEAT_MAX];
        size_t n = 1 + fuzz_below(r, SPAN_REPEAT_MAX), times = 1 + fuzz_below(r, REPEAT_MAX);
        if (n > *len - at) n = *len - at;
        memcpy(span, t + at, n);
        for (size_t i = 0; i < times && n; i++) insert(t, len, at, span, n);
        break;
    }
    case 4: { /* a bracket run past the nesting limit */
        static const char *const open[] = {"[", "{\"a\":"};
        size_t n = RK_PROFILE_MAX_DEPTH - 2 + fuzz_below(r, 6);
        for (size_t i = 0; i < n; i++) {
            const char *o = open[fuzz_below(r, 2)];
            insert(t, len, at, o, strlen(o));
        }
        break;
    }
    default: /* cut */
        *len = at;
    }
}

static int terminated(const char *s, size_t cap) { return memchr(s, 0, cap) != NULL; }

static void profile_one(void *ctx, struct fuzz_rng *r, struct fuzz_run *run)
{
    (void)ctx;
    static char text[TEXT_MAX];
    size_t len = (size_t)make_seed(text, sizeof text, r);
    unsigned edits = fuzz_one_in(r, 8) ? 0 : 1 + fuzz_below(r, 6);
    for (unsigned e = 0; e < edits; e++) mutate(text, &len, r);
    if (edits && fuzz_one_in(r, 50)) { /* over the size limit: whitespace padding */
        size_t pad = RK_PROFILE_MAX_BYTES + 1 - (len < RK_PROFILE_MAX_BYTES ? len : 0);
        if (len + pad <= TEXT_MAX) memset(text + len, ' ', pad), len += pad;
    }
    char *exact = malloc(len ? len : 1); /* no terminator: a read past len is a report */
    if (!exact) return;
    memcpy(exact, text, len);
    struct rk_board_profile p;
    memset(&p, 0x5a, sizeof p);
    char err[ERR_BYTES];
    memset(err, 0x5a, sizeof err);
    int rc = rk_board_profile_parse(exact, len, &p, err, sizeof err);
    fuzz_outcome(run, rc, rc ? err : NULL);
    fuzz_note(run, "%zu bytes, %u edits: rc %d %s", len, edits, rc, rc && terminated(err, sizeof err) ? err : "");
    if (rc != 0 && rc != -EINVAL) fuzz_finding(run, "returned %d, neither 0 nor -EINVAL", rc);
    if (rc && (!terminated(err, sizeof err) || !err[0])) fuzz_finding(run, "a rejection without a terminated reason");
    if (rc && !edits) fuzz_finding(run, "an unmutated seed was rejected: %s", err);
    if (!rc) {
        char why[256];
        if (!terminated(p.created, sizeof p.created) || !terminated(p.host, sizeof p.host) ||
            !terminated(p.kernel, sizeof p.kernel) || !terminated(p.driver, sizeof p.driver) ||
            !terminated(p.driver_version, sizeof p.driver_version) ||
            !terminated(p.clock_source, sizeof p.clock_source))
            fuzz_finding(run, "an accepted profile has an unterminated string");
        if (!p.clock_mhz || !p.cores || p.cores > NPU_CORES)
            fuzz_finding(run, "accepted clock %u MHz, %u cores", p.clock_mhz, p.cores);
        if (npu_envelope_validate(&p.envelope, why, sizeof why))
            fuzz_finding(run, "accepted an envelope the validator refuses: %s", why);
        const double *tv = &p.timing.task_overhead_us;
        for (size_t i = 0; i < sizeof p.timing / sizeof *tv; i++)
            if (!isfinite(tv[i]) || tv[i] < 0) fuzz_finding(run, "accepted timing parameter %zu = %g", i, tv[i]);
    }
    free(exact);
}

const struct fuzz_target fuzz_target_profile = {
        .name = "profile",
        .what = "the board profile reader (backend/profile/board_profile.c): mutated profile JSON",
        .one = profile_one,
};
