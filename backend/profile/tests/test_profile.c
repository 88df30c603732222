/* SPDX-License-Identifier: MIT */
/* The board profile parser (board_profile.h): a good profile, every kind of JSON and schema error with its
 * message, random damage to a good profile (never a crash, never a half-filled profile), the staleness check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board_profile.h"
#include "tap.h"

static const char good[] =
        "{\n"
        "  \"format\": \"rosenblatt-board-profile\",\n"
        "  \"version\": 1,\n"
        "  \"created\": \"2026-11-30T12:00:00Z\",\n"
        "  \"host\": \"boltzmann\",\n"
        "  \"kernel\": \"7.0.1-arm64\",\n"
        "  \"driver\": {\"name\": \"rocket\", \"version\": \"0.0.0\"},\n"
        "  \"clock_mhz\": 200,\n"
        "  \"clock_source\": \"RKNPU_CLOCK_MHZ\",\n"
        "  \"cores\": 3,\n"
        "  \"simulator\": false,\n"
        "  \"envelope\": {\"m_tile_max\": 33, \"n_tile_max\": 512, \"k_task_max_int8\": 3008,\n"
        "               \"k_task_max_fp16\": 1536, \"inplace_k_slices\": false, \"chained_tails\": true,\n"
        "               \"weight_reuse\": false, \"out_pairs\": [\"int8-int32\", \"fp16-fp32\"],\n"
        "               \"tasks_per_job_max\": 256, \"job_budget_ms\": 125},\n"
        "  \"timing\": {\"task_overhead_us\": 21.5, \"job_overhead_us\": 90, \"int8_macs_per_cycle\": 1.0e3,\n"
        "             \"fp16_macs_per_cycle\": 500, \"dma_gbps\": 9.75, \"mac_efficiency\": 0.98,\n"
        "             \"job_time_ratio_max\": 1.25},\n"
        "  \"ladder\": {\"steps\": [1, 2.5e-3, null, true, \"\\u00e9\\ud83d\\ude00\"], \"note\": {}}\n"
        "}\n";

/* The good profile with one substring replaced. */
static int parse_edit(const char *from, const char *to, char *err, size_t errlen)
{
    static char buf[8192];
    const char *at = strstr(good, from);
    if (!at) {
        snprintf(err, errlen, "test bug: '%s' not in the profile", from);
        return -999;
    }
    size_t pre = (size_t)(at - good);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)pre, good, to, at + strlen(from));
    struct rk_board_profile p;
    return rk_board_profile_parse(buf, strlen(buf), &p, err, errlen);
}

static void test_good(void)
{
    struct rk_board_profile p;
    char err[300];
    tap_is_int(rk_board_profile_parse(good, strlen(good), &p, err, sizeof err), 0, "a good profile parses");
    if (err[0]) tap_diag("%s", err);
    tap_ok(!strcmp(p.kernel, "7.0.1-arm64") && !strcmp(p.driver, "rocket") && !strcmp(p.driver_version, "0.0.0") &&
                   !strcmp(p.host, "boltzmann") && !strcmp(p.clock_source, "RKNPU_CLOCK_MHZ"),
           "strings");
    tap_ok(p.clock_mhz == 200 && p.cores == 3 && !p.simulator, "numbers and flags");
    const struct npu_envelope *e = &p.envelope;
    tap_ok(e->kind == NPU_ENVELOPE_BOARD && e->m_tile_max == 33 && e->n_tile_max == 512 && e->k_task_max_int8 == 3008 &&
                   e->k_task_max_fp16 == 1536 && !e->inplace_k_slices && e->chained_tails && !e->weight_reuse &&
                   e->out_pairs == (NPU_PAIR_I8_I32 | NPU_PAIR_F16_F32) && e->tasks_per_job_max == 256 &&
                   e->job_budget_ms == 125,
           "the envelope");
    tap_ok(p.timing.task_overhead_us == 21.5 && p.timing.int8_macs_per_cycle == 1000 && p.timing.dma_gbps == 9.75 &&
                   p.timing.job_time_ratio_max == 1.25,
           "the timing (21.5, 1.0e3, 9.75)");
    /* whitespace variety and no trailing newline */
    char compact[4096];
    size_t n = 0;
    for (const char *c = good; *c; c++)
        if (*c != '\n' && *c != ' ') compact[n++] = *c;
    tap_is_int(rk_board_profile_parse(compact, n, &p, err, sizeof err), 0, "the same without whitespace");
    tap_is_int(parse_edit("\"cores\": 3,\n", "\"cores\":\r\n\t3,\n", err, sizeof err), 0, "CR, LF and tab");
}

static void test_errors(void)
{
    static const struct {
        const char *from, *to, *msg;
    } cases[] = {
            /* JSON */
            {"\"version\": 1,", "\"version\": 1", "line 4, column 3: expected ',' or '}'"},
            {"\"version\": 1,", "\"version\": 01,", "expected ',' or '}'"},
            {"\"version\": 1,", "\"version\": 1.,", "a decimal point needs digits"},
            {"\"version\": 1,", "\"version\": 1e,", "an exponent needs digits"},
            {"\"version\": 1,", "\"version\": +1,", "expected a value"},
            {"\"version\": 1,", "\"version\": 1e999,", "out of range"},
            {"\"host\": \"boltzmann\"", "\"host\": \"bolt\x01zmann\"", "control character"},
            {"\"host\": \"boltzmann\"", "\"host\": \"bolt\\xzmann\"", "unknown escape"},
            {"\"host\": \"boltzmann\"", "\"host\": \"\\ud800x\"", "without its low half"},
            {"\"host\": \"boltzmann\"", "\"host\": \"\\udc00\"", "lone low surrogate"},
            {"\"host\": \"boltzmann\"", "\"host\": \"\\u12g4\"", "not a hex digit"},
            {"\"host\": \"boltzmann\"", "\"host\": \"\\u0000\"", "\\u0000"},
            {"\"host\": \"boltzmann\"", "\"host\": \"\xc3\x28\"", "invalid UTF-8"},
            {"\"host\": \"boltzmann\"", "\"host\": \"\xe0\x80\x80\"", "invalid UTF-8"},
            {"\"host\": \"boltzmann\"", "\"host\": \"\xed\xa0\x80\"", "invalid UTF-8"},
            {"\"simulator\": false", "\"simulator\": fals", "expected a value"},
            {"\"simulator\": false", "\"simulator\" false", "expected ':' after a key"},
            {"\"simulator\": false", "simulator: false", "expected a key in double quotes"},
            {"\"note\": {}}", "\"note\": [[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", "nested deeper than 16"},
            {"\n}\n", "\n}\n}", "text after the end"},
            {"\n}\n", "\n", "expected ',' or '}'"},
            {"\"ladder\"", "\"ladder", "expected ':' after a key"},
            /* schema */
            {"\"format\": \"rosenblatt-board-profile\"", "\"format\": \"other\"",
             "format: expected \"rosenblatt-board"},
            {"\"version\": 1,", "\"version\": 2,", "version: this plugin reads version 1"},
            {"\"version\": 1,", "", "version: missing"},
            {"\"kernel\": \"7.0.1-arm64\",", "", "kernel: missing (a string)"},
            {"\"kernel\": \"7.0.1-arm64\"", "\"kernel\": 7", "kernel: expected a string"},
            {"\"cores\": 3", "\"cores\": 4", "cores: expected an integer in 1..3, got 4"},
            {"\"cores\": 3", "\"cores\": 2.5", "cores: expected an integer in 1..3, got 2.5"},
            {"\"clock_mhz\": 200", "\"clock_mhz\": -200", "clock_mhz: expected an integer"},
            {"\"simulator\": false", "\"simulator\": 0", "simulator: expected true or false"},
            {"\"host\": \"boltzmann\",", "\"host\": \"boltzmann\", \"hots\": 1,", "profile: unknown key \"hots\""},
            {"\"host\": \"boltzmann\",", "\"host\": \"boltzmann\", \"host\": \"x\",", "the key \"host\" appears twice"},
            {"\"name\": \"rocket\"", "\"nam\": \"rocket\"", "driver: unknown key \"nam\""},
            {"\"name\": \"rocket\", ", "", "driver.name: missing"},
            {"\"m_tile_max\": 33", "\"m_tile_max\": 0", "envelope.m_tile_max: expected an integer in 1"},
            {"\"n_tile_max\": 512", "\"n_tile_max\": 500", "envelope: envelope 'board': n_tile_max 500"},
            {"\"k_task_max_int8\": 3008", "\"k_task_max_int8\": 9000", "k_task_max_int8 9000"},
            {"\"tasks_per_job_max\": 256", "\"tasks_per_job_max\": 5000", "tasks_per_job_max 5000 outside 1..4095"},
            {"[\"int8-int32\", \"fp16-fp32\"]", "[]", "envelope.out_pairs: empty"},
            {"[\"int8-int32\", \"fp16-fp32\"]", "[\"int8-int32\", \"int8-int32\"]", "appears twice"},
            {"[\"int8-int32\", \"fp16-fp32\"]", "[\"int8-int64\"]", "envelope.out_pairs: expected an array of"},
            {"[\"int8-int32\", \"fp16-fp32\"]", "\"int8-int32\"", "envelope.out_pairs: expected an array"},
            {"\"weight_reuse\": false,", "", "envelope.weight_reuse: missing"},
            {"\"dma_gbps\": 9.75", "\"dma_gbps\": 0", "timing.dma_gbps: expected a positive number, got 0"},
            {"\"dma_gbps\": 9.75", "\"dma_gbps\": \"fast\"", "timing.dma_gbps: expected a positive number"},
            {"\"mac_efficiency\": 0.98,", "", "timing.mac_efficiency: missing"},
            {"\"envelope\"", "\"envelop\"", "unknown key \"envelop\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char err[300] = "";
        int rc = parse_edit(cases[i].from, cases[i].to, err, sizeof err);
        if (!tap_ok(rc == -EINVAL && strstr(err, cases[i].msg), "refused: %s", err))
            tap_diag("want '%s' (rc %d)", cases[i].msg, rc);
    }
    struct rk_board_profile p;
    char err[300];
    tap_is_int(rk_board_profile_parse("[1]", 3, &p, err, sizeof err), -EINVAL, "an array");
    tap_contains(err, "profile: expected a JSON object", "an array: said");
    tap_is_int(rk_board_profile_parse("", 0, &p, err, sizeof err), -EINVAL, "empty text");
    tap_contains(err, "line 1, column 1: the text ends where a value should be", "empty text: where");
    tap_is_int(rk_board_profile_parse(good, 40, &p, err, sizeof err), -EINVAL, "a cut profile");
    char nul[sizeof good];
    memcpy(nul, good, sizeof good);
    nul[100] = 0;
    tap_is_int(rk_board_profile_parse(nul, sizeof good - 1, &p, err, sizeof err), -EINVAL, "a NUL byte");
    tap_contains(err, "a NUL byte", "a NUL byte: said");
    char *big = malloc(RK_PROFILE_MAX_BYTES + 2);
    memset(big, ' ', RK_PROFILE_MAX_BYTES + 1);
    tap_is_int(rk_board_profile_parse(big, RK_PROFILE_MAX_BYTES + 1, &p, err, sizeof err), -EINVAL, "too large");
    free(big);
    /* many values */
    static char many[40000];
    size_t n = (size_t)snprintf(many, sizeof many, "[");
    for (int i = 0; i < 3000; i++) n += (size_t)snprintf(many + n, sizeof many - n, "%s1", i ? "," : "");
    n += (size_t)snprintf(many + n, sizeof many - n, "]");
    tap_is_int(rk_board_profile_parse(many, n, &p, err, sizeof err), -EINVAL, "3000 values");
    tap_contains(err, "more than 1024 values", "3000 values: said");
}

/* Random damage: flip, drop or insert bytes in the good profile; the parser must return 0 (then with a
 * valid envelope) or -EINVAL with a message, and never read outside the text. */
static void test_damage(void)
{
    uint32_t seed = 12345;
    int ok = 0, refused = 0, bad = 0;
    char buf[sizeof good + 8];
    for (int round = 0; round < 20000; round++) {
        size_t n = sizeof good - 1;
        memcpy(buf, good, n);
        for (int k = 0; k < 1 + round % 3; k++) {
            seed = seed * 1664525 + 1013904223;
            size_t at = (seed >> 8) % n;
            switch ((seed >> 4) % 3) {
            case 0:
                buf[at] = (char)(seed >> 24);
                break;
            case 1:
                memmove(buf + at, buf + at + 1, n - at - 1), n--;
                break;
            default:
                memmove(buf + at + 1, buf + at, n - at), buf[at] = "{}[],:\"\\0e-"[(seed >> 24) % 11], n++;
            }
        }
        char *exact = malloc(n ? n : 1); /* exactly n bytes: a read past the end shows under ASan/valgrind */
        memcpy(exact, buf, n);
        struct rk_board_profile p;
        char err[300] = "";
        int rc = rk_board_profile_parse(exact, n, &p, err, sizeof err);
        if (rc == 0) {
            char why[200];
            ok++;
            bad += npu_envelope_validate(&p.envelope, why, sizeof why) != 0;
        } else {
            refused++;
            bad += rc != -EINVAL || !err[0];
        }
        free(exact);
    }
    tap_ok(!bad, "20000 damaged profiles: %d parsed (all valid), %d refused with a message", ok, refused);
}

static void test_load_and_check(void)
{
    struct rk_board_profile p;
    char err[300], path[] = "/tmp/rk-profile-XXXXXX";
    tap_is_int(rk_board_profile_load("/nonexistent/board-profile.json", &p, err, sizeof err), -ENOENT,
               "a missing file is -ENOENT");
    int fd = mkstemp(path);
    if (fd >= 0) {
        ssize_t w = write(fd, good, strlen(good));
        close(fd);
        tap_ok(w > 0 && rk_board_profile_load(path, &p, err, sizeof err) == 0, "load a file (%s)", err);
        unlink(path);
    }
    rk_board_profile_parse(good, strlen(good), &p, err, sizeof err);
    tap_is_int(rk_board_profile_check(&p, "7.0.1-arm64", "rocket", "0.0.0", 200, 3, err, sizeof err), 0,
               "the same system: current");
    tap_is_int(rk_board_profile_check(&p, "7.0.2-arm64", "rocket", "0.0.0", 200, 3, err, sizeof err), -ESTALE,
               "another kernel: stale");
    tap_contains(err, "kernel 7.0.1-arm64, this system has 7.0.2-arm64", "says which kernel");
    tap_is_int(rk_board_profile_check(&p, "7.0.1-arm64", "npusim", "1.0.0", 200, 3, err, sizeof err), -ESTALE,
               "another driver: stale");
    tap_is_int(rk_board_profile_check(&p, "7.0.1-arm64", "rocket", "0.1.0", 200, 3, err, sizeof err), -ESTALE,
               "another driver version: stale");
    tap_is_int(rk_board_profile_check(&p, "7.0.1-arm64", "rocket", "0.0.0", 1000, 3, err, sizeof err), -ESTALE,
               "another clock: stale");
    tap_contains(err, "NPU clock 200 MHz, this system has 1000 MHz", "says which clock");
    tap_is_int(rk_board_profile_check(&p, "7.0.1-arm64", "rocket", "0.0.0", 200, 2, err, sizeof err), -ESTALE,
               "other cores: stale");
}

int main(void)
{
    test_good();
    test_errors();
    test_damage();
    test_load_and_check();
    return tap_done();
}
