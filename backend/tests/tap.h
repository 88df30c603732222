/* SPDX-License-Identifier: MIT */
/*
 * Minimal TAP producer for the C unit tests (https://testanything.org).  Header only; one test
 * program per process, single-threaded use.
 *
 *   tap_ok(cond, "what is tested %d", x);           ok N - what is tested 3
 *   tap_is_int(got, want, "...");                    on failure: "# got 5, want 6"
 *   tap_contains(msg, "K=11008", "...");             on failure: "# \"...\" lacks \"K=11008\""
 *   tap_diag("seed %u", seed);                        # seed 1234
 *   return tap_done();                               prints the plan "1..N", exit status 1 on failure
 */
#ifndef RK_TAP_H
#define RK_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct tap_state {
    int n, failed;
};
static inline struct tap_state *tap_state(void)
{
    static struct tap_state s;
    return &s;
}

static inline void tap_vresult(int pass, const char *file, int line, const char *fmt, va_list ap)
{
    struct tap_state *s = tap_state();
    s->n++;
    if (!pass) s->failed++;
    printf("%sok %d - ", pass ? "" : "not ", s->n);
    vprintf(fmt, ap);
    printf("\n");
    if (!pass) printf("# failed at %s:%d\n", file, line);
    fflush(stdout);
}

static inline int tap_result(int pass, const char *file, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static inline int tap_result(int pass, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    tap_vresult(pass, file, line, fmt, ap);
    va_end(ap);
    return pass;
}

static inline void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

#define tap_ok(cond, ...) tap_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define tap_is_int(got, want, ...)                                                                                     \
    do {                                                                                                               \
        long long tap_g_ = (long long)(got), tap_w_ = (long long)(want);                                               \
        if (!tap_ok(tap_g_ == tap_w_, __VA_ARGS__)) tap_diag("got %lld, want %lld", tap_g_, tap_w_);                   \
    } while (0)

#define tap_contains(hay, needle, ...)                                                                                 \
    do {                                                                                                               \
        const char *tap_h_ = (hay), *tap_n_ = (needle);                                                                \
        if (!tap_ok(tap_h_ && strstr(tap_h_, tap_n_), __VA_ARGS__))                                                    \
            tap_diag("\"%s\" lacks \"%s\"", tap_h_ ? tap_h_ : "(null)", tap_n_);                                       \
    } while (0)

static inline void tap_skip(const char *why, const char *desc)
{
    struct tap_state *s = tap_state();
    printf("ok %d - %s # SKIP %s\n", ++s->n, desc, why);
}

/* Print the plan; returns the process exit status. */
static inline int tap_done(void)
{
    struct tap_state *s = tap_state();
    printf("1..%d\n", s->n);
    if (s->failed) printf("# %d of %d failed\n", s->failed, s->n);
    return s->failed ? 1 : 0;
}

#endif
