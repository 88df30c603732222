/* SPDX-License-Identifier: MIT */
/*
 * npu-fuzz: a seeded mutation loop over what the project parses or executes from untrusted input (the
 * software NPU core, npu-replay's script, the memory image reader, the board profile reader). Each target turns one input number into
 * one input (every random choice comes from a generator seeded by --seed and the input number, so any input
 * is reproduced by `npu-fuzz TARGET --seed S --start I --runs 1`), runs it, and checks the target's
 * invariants. Crashes and out-of-bounds accesses are left to AddressSanitizer/UBSan (scripts/sanitize.sh
 * builds this driver with them); a watchdog thread turns an input that runs past --input-ms into a finding.
 */
#ifndef RK_FUZZ_H
#define RK_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- deterministic randomness (xoshiro256**, seeded through splitmix64) ---- */
struct fuzz_rng {
    uint64_t s[4];
};
void fuzz_rng_seed(struct fuzz_rng *r, uint64_t seed);
uint64_t fuzz_u64(struct fuzz_rng *r);
uint32_t fuzz_below(struct fuzz_rng *r, uint32_t n); /* 0..n-1 (0 when n == 0) */
bool fuzz_one_in(struct fuzz_rng *r, uint32_t n);    /* true with probability 1/n */
/* A value from the boundaries field decoders trip over: 0, 1, powers of two and their neighbours, field
 * maxima, sign bits, all ones. */
uint32_t fuzz_interesting(struct fuzz_rng *r);
/* Flip, set or overwrite `edits` random bytes/bits of buf (no size change). */
void fuzz_mutate_bytes(struct fuzz_rng *r, uint8_t *buf, size_t len, unsigned edits);

/* ---- what a target reports for one input ---- */
struct fuzz_run; /* the driver's state for the current input */
/* The outcome of one execution: rc 0 or a negative errno, and the reason text a failure must carry. The
 * driver tallies outcomes by errno and distinct reasons (numbers stripped) as a rough coverage figure. */
void fuzz_outcome(struct fuzz_run *run, int rc, const char *reason);
/* An invariant broke: printed at once (with the reproduction line) and counted as a finding. */
void fuzz_finding(struct fuzz_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Verbose mode (-v): a line about the input. */
void fuzz_note(struct fuzz_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

struct fuzz_target {
    const char *name;
    const char *what;
    int (*init)(void **ctx, char *err, size_t errlen); /* once per process; NULL = none */
    void (*one)(void *ctx, struct fuzz_rng *rng, struct fuzz_run *run);
    void (*fini)(void *ctx);
};

extern const struct fuzz_target fuzz_target_sim, fuzz_target_image, fuzz_target_script, fuzz_target_profile;

#endif
