// SPDX-License-Identifier: MIT
/*
 * npu-fuzz TARGET|all [--seed S] [--runs N] [--seconds T] [--start I] [--input-ms L] [-v]
 *
 * Runs N inputs of each target (or until T seconds, shared evenly between the targets, have passed) and
 * prints one TAP line per target: inputs, outcomes by errno, distinct failure reasons, the slowest input,
 * findings. Exit status: 0 without findings, 1 with findings, 3 on a hang (an input past --input-ms of CPU time), 64 on
 * a usage error. A crash or a sanitizer report ends the process with the sanitizer's report instead.
 *
 * Targets: see `targets` below.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fuzz.h"

static const struct fuzz_target *const targets[] = {
        &fuzz_target_sim,
        &fuzz_target_image,
        &fuzz_target_script,
        &fuzz_target_profile,
};
#define N_TARGETS (sizeof targets / sizeof targets[0])

#define DEFAULT_RUNS     2000
#define DEFAULT_INPUT_MS 5000 /* far above any input's run time, even under ASan: only a real hang trips it */
#define WATCHDOG_POLL_MS 20
#define REASON_SLOTS     8192 /* distinct-reason table (open addressing) */
#define EXIT_FINDINGS    1
#define EXIT_HANG        3
#define EXIT_USAGE       64
#define GOLDEN           0x9e3779b97f4a7c15ull /* splitmix64's increment */
#define ERRNO_SLOTS      8
#define NS_PER_MS        1000000ll
#define NS_PER_S         1000000000ll

/* ---- randomness ---- */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += GOLDEN);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void fuzz_rng_seed(struct fuzz_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t fuzz_u64(struct fuzz_rng *r)
{
    uint64_t *s = r->s, out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t, s[3] = rotl(s[3], 45);
    return out;
}

uint32_t fuzz_below(struct fuzz_rng *r, uint32_t n) { return n ? (uint32_t)(fuzz_u64(r) % n) : 0; }
bool fuzz_one_in(struct fuzz_rng *r, uint32_t n) { return fuzz_below(r, n) == 0; }

uint32_t fuzz_interesting(struct fuzz_rng *r)
{
    static const uint32_t v[] = {
            0,       1,        2,        3,         7,          8,          15,         16,         17,        31,
            32,      33,       63,       64,        127,        128,        255,        256,        1023,      1024,
            2047,    2048,     4095,     4096,      8191,       8192,       8193,       0x7fff,     0x8000,    0xffff,
            0x10000, 0x1fffff, 0xfffff0, 0x1000000, 0x7fffffff, 0x80000000, 0xfffffff0, 0xfffffffe, 0xffffffff};
    uint32_t x = v[fuzz_below(r, sizeof v / sizeof v[0])];
    if (fuzz_one_in(r, 4)) x = x << fuzz_below(r, 16); /* the same boundary inside a shifted field */
    return x;
}

void fuzz_mutate_bytes(struct fuzz_rng *r, uint8_t *buf, size_t len, unsigned edits)
{
    for (unsigned e = 0; e < edits && len; e++) {
        size_t i = fuzz_u64(r) % len;
        switch (fuzz_below(r, 4)) {
        case 0:
            buf[i] ^= (uint8_t)(1u << fuzz_below(r, 8));
            break;
        case 1:
            buf[i] = (uint8_t)fuzz_u64(r);
            break;
        case 2:
            buf[i] = (uint8_t)fuzz_interesting(r);
            break;
        default: { /* a little-endian 32-bit boundary value */
            uint32_t v = fuzz_interesting(r);
            for (size_t b = 0; b < 4 && i + b < len; b++) buf[i + b] = (uint8_t)(v >> (8 * b));
        }
        }
    }
}

/* ---- per-target statistics ---- */
struct fuzz_run {
    const struct fuzz_target *t;
    uint64_t seed, index;
    bool verbose;
    uint64_t inputs, executions, findings;
    uint64_t by_errno[ERRNO_SLOTS]; /* 0, EFAULT, EINVAL, ENOTSUP, ETIMEDOUT, ENOMEM, EIO, other */
    uint32_t reasons[REASON_SLOTS];
    uint32_t distinct;
    int64_t slowest_ns;
    uint64_t slowest_index;
};

static int errno_slot(int rc)
{
    static const int known[] = {0, EFAULT, EINVAL, ENOTSUP, ETIMEDOUT, ENOMEM, EIO};
    for (int i = 0; i < (int)(sizeof known / sizeof known[0]); i++)
        if (-rc == known[i]) return i;
    return ERRNO_SLOTS - 1;
}

/* FNV-1a over the reason with its numbers and quoted input left out (a number starts with a digit and runs
 * over hex digits and 'x'; quotes are '...'), so "K=64" and "K=96", or two misspelt words, count once. */
static uint32_t reason_hash(const char *s)
{
    uint32_t h = 2166136261u;
    while (*s) {
        if (isdigit((unsigned char)*s)) {
            while (isxdigit((unsigned char)*s) || *s == 'x') s++;
            continue;
        }
        if (*s == '\'') {
            const char *end = strchr(s + 1, '\'');
            s = end ? end + 1 : s + strlen(s);
            continue;
        }
        h = (h ^ (uint8_t)*s++) * 16777619u;
    }
    return h ? h : 1;
}

void fuzz_outcome(struct fuzz_run *run, int rc, const char *reason)
{
    run->executions++;
    run->by_errno[errno_slot(rc)]++;
    if (!rc || !reason || !reason[0]) return;
    uint32_t h = reason_hash(reason);
    for (uint32_t i = h % REASON_SLOTS, n = 0; n < REASON_SLOTS; i = (i + 1) % REASON_SLOTS, n++) {
        if (run->reasons[i] == h) return;
        if (!run->reasons[i]) {
            run->reasons[i] = h;
            run->distinct++;
            return;
        }
    }
}

void fuzz_finding(struct fuzz_run *run, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    run->findings++;
    printf("# FINDING %s input %" PRIu64 ": %s\n# reproduce: npu-fuzz %s --seed %" PRIu64 " --start %" PRIu64
           " --runs 1 -v\n",
           run->t->name, run->index, msg, run->t->name, run->seed, run->index);
    fflush(stdout);
}

void fuzz_note(struct fuzz_run *run, const char *fmt, ...)
{
    if (!run->verbose) return;
    va_list ap;
    va_start(ap, fmt);
    printf("# %s %" PRIu64 ": ", run->t->name, run->index);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

/* ---- watchdog: an input that runs past the limit is a hang ----
 * The limit is on the fuzzing thread's CPU time: the targets are single-threaded and take no locks, so a hang
 * is a loop that burns CPU, while wall time also counts the time a loaded host (or ASan's page faults) kept
 * the thread waiting (a 5 s wall limit once flagged a trivial input on a host with a load average of 10).
 * Wall time is a backstop for a thread that stops without burning CPU. */
#define WALL_BACKSTOP_FACTOR 12
static _Atomic int64_t input_started_ns, input_started_cpu_ns; /* 0 = between inputs */
static _Atomic(struct fuzz_run *) current_run;
static int64_t input_limit_ns;
static clockid_t fuzz_thread_clock; /* the CPU-time clock of the thread that runs the inputs */

static int64_t clock_ns(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t now_ns(void) { return clock_ns(CLOCK_MONOTONIC); }

static void *watchdog(void *arg)
{
    (void)arg;
    const struct timespec poll = {.tv_sec = 0, .tv_nsec = WATCHDOG_POLL_MS * NS_PER_MS};
    for (;;) {
        nanosleep(&poll, NULL);
        int64_t t0 = input_started_ns, c0 = input_started_cpu_ns;
        struct fuzz_run *run = current_run;
        if (!t0 || !run) continue;
        int64_t cpu = clock_ns(fuzz_thread_clock) - c0, wall = now_ns() - t0;
        if (cpu > input_limit_ns || wall > WALL_BACKSTOP_FACTOR * input_limit_ns) {
            printf("not ok - %s: input %" PRIu64 " still running after %lld ms of CPU time (%lld ms wall): a hang\n"
                   "# reproduce: npu-fuzz %s --seed %" PRIu64 " --start %" PRIu64 " --runs 1 -v\n",
                   run->t->name, run->index, (long long)(cpu / NS_PER_MS), (long long)(wall / NS_PER_MS), run->t->name,
                   run->seed, run->index);
            fflush(stdout);
            _exit(EXIT_HANG);
        }
    }
    return NULL;
}

/* ---- a crash names the input that caused it ---- */
static void say_crashed(void)
{
    struct fuzz_run *run = current_run;
    char line[256];
    if (!run || !input_started_ns) return;
    int n = snprintf(line, sizeof line,
                     "not ok - %s: input %" PRIu64 " crashed\n# reproduce: npu-fuzz %s --seed %" PRIu64
                     " --start %" PRIu64 " --runs 1 -v\n",
                     run->t->name, run->index, run->t->name, run->seed, run->index);
    fflush(stdout);
    if (n > 0 && write(STDOUT_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) < 0) return;
}

static void on_signal(int sig)
{
    say_crashed();
    signal(sig, SIG_DFL);
    raise(sig);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#include <sanitizer/common_interface_defs.h>
#define HAVE_SANITIZER_CALLBACK 1
#endif

static void crash_reporting(void)
{
#ifdef HAVE_SANITIZER_CALLBACK
    __sanitizer_set_death_callback(say_crashed); /* a sanitizer report ends the process without a signal */
#endif
    static const int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], on_signal);
}

static int usage(const char *why)
{
    fprintf(stderr,
            "npu-fuzz: %s\nusage: npu-fuzz TARGET|all [--seed S] [--runs N] [--seconds T] [--start I] [--input-ms L] "
            "[-v]\ntargets:",
            why);
    for (size_t i = 0; i < N_TARGETS; i++) fprintf(stderr, "\n  %-8s %s", targets[i]->name, targets[i]->what);
    fprintf(stderr, "\n");
    return EXIT_USAGE;
}

static bool parse_u64(const char *s, uint64_t *v)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (!s[0] || s[0] == '-' || *end || errno) return false;
    *v = x;
    return true;
}

/* One target: inputs [start, start+runs) until the deadline. Returns its findings. */
static uint64_t run_target(const struct fuzz_target *t, uint64_t seed, uint64_t start, uint64_t runs,
                           int64_t deadline_ns, bool verbose, int tap_no)
{
    struct fuzz_run *run = calloc(1, sizeof *run);
    void *ctx = NULL;
    char err[256] = "";
    if (!run) {
        printf("not ok %d - %s: out of memory\n", tap_no, t->name);
        return 1;
    }
    run->t = t, run->seed = seed, run->verbose = verbose;
    if (t->init && t->init(&ctx, err, sizeof err)) {
        printf("not ok %d - %s: set-up failed: %s\n", tap_no, t->name, err);
        free(run);
        return 1;
    }
    int64_t t0 = now_ns();
    bool timed_out = false;
    current_run = run;
    for (uint64_t i = start; i < start + runs; i++) {
        if (now_ns() > deadline_ns) {
            timed_out = true;
            break;
        }
        struct fuzz_rng rng;
        /* one generator per input: the target's name, the seed and the input number fix every choice */
        uint64_t mix = seed * GOLDEN ^ i;
        for (const char *c = t->name; *c; c++) mix = (mix ^ (uint8_t)*c) * 0x100000001b3ull;
        fuzz_rng_seed(&rng, mix);
        run->index = i;
        int64_t s = now_ns();
        input_started_cpu_ns = clock_ns(fuzz_thread_clock);
        input_started_ns = s;
        t->one(ctx, &rng, run);
        input_started_ns = 0;
        int64_t d = now_ns() - s;
        if (d > run->slowest_ns) run->slowest_ns = d, run->slowest_index = i;
        run->inputs++;
    }
    current_run = NULL;
    double secs = (double)(now_ns() - t0) / NS_PER_S;
    if (t->fini) t->fini(ctx);
    printf("%sok %d - %s: %" PRIu64 " inputs (%" PRIu64 " executions) in %.1f s%s, %" PRIu64
           " findings; outcomes ok %" PRIu64 ", EFAULT %" PRIu64 ", EINVAL %" PRIu64 ", ENOTSUP %" PRIu64
           ", ETIMEDOUT %" PRIu64 ", ENOMEM %" PRIu64 ", EIO %" PRIu64 ", other %" PRIu64
           "; %u distinct reasons; slowest input %" PRIu64 " (%.1f ms)\n",
           run->findings ? "not " : "", tap_no, t->name, run->inputs, run->executions, secs,
           timed_out ? " (time budget reached)" : "", run->findings, run->by_errno[0], run->by_errno[1],
           run->by_errno[2], run->by_errno[3], run->by_errno[4], run->by_errno[5], run->by_errno[6], run->by_errno[7],
           run->distinct, run->slowest_index, (double)run->slowest_ns / NS_PER_MS);
    fflush(stdout);
    uint64_t findings = run->findings;
    free(run);
    return findings;
}

int main(int argc, char **argv)
{
    const char *which = NULL;
    uint64_t seed = 1, runs = DEFAULT_RUNS, start = 0, seconds = 0, input_ms = DEFAULT_INPUT_MS;
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t *dst = !strcmp(a, "--seed")       ? &seed
                        : !strcmp(a, "--runs")     ? &runs
                        : !strcmp(a, "--start")    ? &start
                        : !strcmp(a, "--seconds")  ? &seconds
                        : !strcmp(a, "--input-ms") ? &input_ms
                                                   : NULL;
        if (dst) {
            if (i + 1 >= argc || !parse_u64(argv[++i], dst)) return usage("a number is missing or malformed");
        } else if (!strcmp(a, "-v")) {
            verbose = true;
        } else if (a[0] != '-' && !which) {
            which = a;
        } else {
            return usage("bad argument");
        }
    }
    if (!which) return usage("missing TARGET");
    if (!input_ms) return usage("--input-ms must be at least 1");
    const struct fuzz_target *chosen[N_TARGETS];
    size_t n = 0;
    for (size_t i = 0; i < N_TARGETS; i++)
        if (!strcmp(which, "all") || !strcmp(which, targets[i]->name)) chosen[n++] = targets[i];
    if (!n) return usage("unknown target");

    input_limit_ns = (int64_t)input_ms * NS_PER_MS;
    if (pthread_getcpuclockid(pthread_self(), &fuzz_thread_clock)) fuzz_thread_clock = CLOCK_THREAD_CPUTIME_ID;
    crash_reporting();
    pthread_t wd;
    if (pthread_create(&wd, NULL, watchdog, NULL)) {
        fprintf(stderr, "npu-fuzz: cannot start the watchdog\n");
        return EXIT_FINDINGS;
    }
    pthread_detach(wd);
    printf("# npu-fuzz seed %" PRIu64 ", inputs %" PRIu64 "..%" PRIu64 " per target%s\n", seed, start, start + runs - 1,
           seconds ? ", time-bounded" : "");
    uint64_t findings = 0;
    int64_t t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        /* the time budget is shared evenly; a target that finishes early leaves its rest to the next */
        int64_t left = seconds ? t0 + (int64_t)seconds * NS_PER_S - now_ns() : INT64_MAX / 2;
        int64_t deadline = now_ns() + (seconds ? left / (int64_t)(n - i) : left);
        findings += run_target(chosen[i], seed, start, runs, deadline, verbose, (int)i + 1);
    }
    printf("1..%zu\n", n);
    return findings ? EXIT_FINDINGS : 0;
}
