// SPDX-License-Identifier: MIT
/*
 * Fuzz target "script": npu-replay's script parser (backend/tools/replay_script.c) fed mutated scripts over a
 * scratch folder of real files (the vendor capture as a raw stream and as a memory image, operands, an empty
 * file, a folder), then the parsed tasks run on a fresh software NPU core, as npu-replay would run them.
 * Mutations insert, replace and delete words from a dictionary of directives, file names, numbers at the
 * 32-bit boundaries and malformed ones, comments and control characters.
 *
 * Invariants: a rejected script names its line and reason; an accepted one leaves an image the format
 * allows, and every task it runs returns 0 or a documented errno with a reason.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "blob_i8.h"
#include "fuzz.h"
#include "npu_limits.h"
#include "npusim.h"
#include "replay_script.h"

#define TEXT_MAX      8192
#define ERR_BYTES     2400
#define TASKS_RUN_MAX 4
#define LONG_WORD     3000 /* longer than a script word may be */
#define PATH_BYTES    1024
#define BLOB_A_BYTES  256  /* the capture's M=4 K=64 int8 A */
#define BLOB_B_BYTES  2048 /* K=64 N=32 int8 B */
#define BLOB_C_BYTES  512  /* M=4 N=32 int32 C */
#define REG_IOVA      0x00040000u
#define A_IOVA        0x00100000u
#define B_IOVA        0x00200000u
#define C_IOVA        0x00300000u

struct script_ctx {
    char dir[PATH_BYTES];
    char long_word[LONG_WORD + 1];
};

static const char *const seeds[] = {
        "image blob.img\ntask 0x40000 112\n",
        "regcmd blob.bin 0x40000\nsegment a.bin 0x100000\nsegment w.bin 0x200000\nzero 0x300000 512\ntask 0x40000\n",
        "# the capture, twice\nimage blob.img   # A, B, C and the stream\n\ttask 0x00040000 112\ntask 262144\n",
};

static const char *const words[] = {"image",      "regcmd",
                                    "segment",    "zero",
                                    "task",       "blob.img",
                                    "blob.bin",   "a.bin",
                                    "w.bin",      "empty.bin",
                                    "sub",        "missing.bin",
                                    "/",          ".",
                                    "..",         "sub/../blob.img",
                                    "0",          "16",
                                    "0x40000",    "0x100000",
                                    "0x300000",   "112",
                                    "113",        "0xffffffff",
                                    "0xfffffff0", "0x100000000",
                                    "4294967296", "-1",
                                    "+5",         "0x",
                                    "1e3",        "07",
                                    "08",         "99999999999999999999",
                                    "#",          " ",
                                    "\t",         "\r",
                                    "\n",         "\n\n",
                                    "\f",         "\x7f",
                                    "\xff",       "LONG",
                                    "NUL"};

static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[PATH_BYTES + 64];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -errno;
    int ok = fwrite(data, 1, len, f) == len;
    return fclose(f) || !ok ? -EIO : 0;
}

static int script_init(void **out, char *err, size_t errlen)
{
    struct script_ctx *c = calloc(1, sizeof *c);
    if (!c) return snprintf(err, errlen, "out of memory"), -ENOMEM;
    const char *tmp = getenv("TMPDIR");
    snprintf(c->dir, sizeof c->dir, "%s/npu-fuzz-script-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(c->dir)) {
        snprintf(err, errlen, "mkdtemp %s: %s", c->dir, strerror(errno));
        free(c);
        return -errno;
    }
    memset(c->long_word, 'a', LONG_WORD);
    uint8_t a[BLOB_A_BYTES], w[BLOB_B_BYTES];
    for (size_t i = 0; i < sizeof a; i++) a[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof w; i++) w[i] = (uint8_t)(i * 13);
    struct npu_image img = {0};
    char why[256], path[PATH_BYTES + 64], sub[PATH_BYTES + 64];
    snprintf(path, sizeof path, "%s/blob.img", c->dir);
    snprintf(sub, sizeof sub, "%s/sub", c->dir);
    int rc = npu_image_add(&img, REG_IOVA, sizeof blob_i8, blob_i8, why, sizeof why) ||
             npu_image_add(&img, A_IOVA, sizeof a, a, why, sizeof why) ||
             npu_image_add(&img, B_IOVA, sizeof w, w, why, sizeof why) ||
             npu_image_add(&img, C_IOVA, BLOB_C_BYTES, NULL, why, sizeof why) ||
             npu_image_save(&img, path, why, sizeof why) || write_file(c->dir, "blob.bin", blob_i8, sizeof blob_i8) ||
             write_file(c->dir, "a.bin", a, sizeof a) || write_file(c->dir, "w.bin", w, sizeof w) ||
             write_file(c->dir, "empty.bin", "", 0) || mkdir(sub, 0700);
    npu_image_free(&img);
    if (rc) {
        snprintf(err, errlen, "scratch files in %s: %s", c->dir, why);
        free(c);
        return -EIO;
    }
    *out = c;
    return 0;
}

static void script_fini(void *ctx)
{
    struct script_ctx *c = ctx;
    static const char *const files[] = {"blob.img", "blob.bin", "a.bin", "w.bin", "empty.bin"};
    char path[PATH_BYTES + 64];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", c->dir, files[i]);
        unlink(path);
    }
    snprintf(path, sizeof path, "%s/sub", c->dir);
    rmdir(path);
    rmdir(c->dir);
    free(c);
}

/* Text edits on a buffer of at most TEXT_MAX bytes (len excludes nothing: NUL bytes are data). */
static void text_insert(char *t, size_t *len, size_t at, const char *w, size_t wl)
{
    if (*len + wl > TEXT_MAX) return;
    memmove(t + at + wl, t + at, *len - at);
    memcpy(t + at, w, wl);
    *len += wl;
}

static void mutate_text(struct script_ctx *c, struct fuzz_rng *r, char *t, size_t *len)
{
    size_t at = fuzz_below(r, (uint32_t)*len + 1);
    const char *w = words[fuzz_below(r, sizeof words / sizeof words[0])];
    size_t wl = strlen(w);
    char num[32];
    if (!strcmp(w, "LONG")) w = c->long_word, wl = LONG_WORD;
    if (!strcmp(w, "NUL")) w = "", wl = 1; /* the string's terminator: one NUL byte */
    switch (fuzz_below(r, 6)) {
    case 0:
        text_insert(t, len, at, w, wl);
        break;
    case 1: { /* replace a range by a word */
        size_t n = fuzz_below(r, (uint32_t)(*len - at) + 1) % 16;
        memmove(t + at, t + at + n, *len - at - n);
        *len -= n;
        text_insert(t, len, at, w, wl);
        break;
    }
    case 2: { /* delete a range */
        size_t n = fuzz_below(r, (uint32_t)(*len - at) + 1);
        memmove(t + at, t + at + n, *len - at - n);
        *len -= n;
        break;
    }
    case 3: { /* a number at a boundary, hex or decimal */
        uint32_t v = fuzz_interesting(r);
        int n = snprintf(num, sizeof num, fuzz_one_in(r, 2) ? "0x%x " : "%u ", v);
        text_insert(t, len, at, num, (size_t)n);
        break;
    }
    case 4: { /* repeat a line */
        size_t s = at, e = at;
        while (s > 0 && t[s - 1] != '\n') s--;
        while (e < *len && t[e] != '\n') e++;
        if (e < *len) e++;
        char line[TEXT_MAX];
        memcpy(line, t + s, e - s);
        text_insert(t, len, e, line, e - s);
        break;
    }
    default:
        fuzz_mutate_bytes(r, (uint8_t *)t, *len, 1 + fuzz_below(r, 3));
    }
}

static void check_task(struct fuzz_run *run, int rc, const char *err)
{
    fuzz_outcome(run, rc, err);
    if (rc != 0 && rc != -EFAULT && rc != -EINVAL && rc != -ENOTSUP && rc != -ETIMEDOUT && rc != -ENOMEM)
        fuzz_finding(run, "a replayed task returned %d, not an errno npusim.h documents (%s)", rc, err);
    if (rc && !err[0]) fuzz_finding(run, "a replayed task failed (%d) without a reason", rc);
}

static void script_one(void *ctx, struct fuzz_rng *r, struct fuzz_run *run)
{
    struct script_ctx *c = ctx;
    char text[TEXT_MAX], err[ERR_BYTES];
    const char *seed = seeds[fuzz_below(r, sizeof seeds / sizeof seeds[0])];
    size_t len = strlen(seed);
    memcpy(text, seed, len);
    unsigned edits = fuzz_one_in(r, 8) ? 0 : 1 + fuzz_below(r, 6);
    for (unsigned e = 0; e < edits; e++) mutate_text(c, r, text, &len);
    /* an exact-size copy, so ASan catches a read past the script's end */
    char *exact = malloc(len ? len : 1);
    if (!exact) return;
    memcpy(exact, text, len);
    static char empty[1];
    FILE *f = fmemopen(len ? exact : empty, len ? len : 1, "r"); /* an empty script: one byte, read from its end */
    if (!f) {
        free(exact);
        return;
    }
    if (!len) fseek(f, 0, SEEK_END);
    struct replay_script s = {0};
    int lineno = 0;
    err[0] = 0;
    int rc = replay_script_parse(f, c->dir, &s, err, sizeof err, &lineno);
    fclose(f);
    fuzz_outcome(run, rc, err);
    fuzz_note(run, "%zu bytes, %u edits: rc %d %s", len, edits, rc, rc ? err : "");
    if (rc) {
        int line = -1;
        if (!err[0] || sscanf(err, "%d:", &line) != 1 || line < 0 || line > lineno)
            fuzz_finding(run, "a rejected script gave no line and reason (rc %d, \"%s\")", rc, err);
    } else if (!edits && (!s.ntasks || !s.img.count)) {
        fuzz_finding(run, "an unmutated seed script parsed to %u tasks and %u segments", s.ntasks, s.img.count);
    }
    for (uint32_t i = 0; !rc && i < s.img.count; i++) {
        const struct npu_image_segment *g = &s.img.seg[i];
        if (!g->length || g->iova % NPU_ADDR_ALIGN || (uint64_t)g->iova + g->length > NPU_IOVA_SPACE)
            fuzz_finding(run, "segment [0x%08x, +%u) accepted outside the format", g->iova, g->length);
    }
    if (!rc && s.ntasks) {
        struct npusim_core *core = npusim_core_create((int)fuzz_below(r, NPU_CORES));
        if (core) {
            npusim_core_set_strict(core, !fuzz_one_in(r, 4));
            npusim_core_begin_job(core);
            struct npusim_mem mem = {.ctx = &s.img, .map = npu_image_map};
            for (uint32_t t = 0; t < s.ntasks && t < TASKS_RUN_MAX; t++) {
                struct npusim_task_stats st;
                char terr[512];
                int trc = npusim_core_run_task(core, &mem, s.tasks[t].iova, replay_task_count(&s, t), &st, terr,
                                               sizeof terr);
                check_task(run, trc, terr);
                if (!edits && trc) fuzz_finding(run, "an unmutated seed's task %u failed: %s", t, terr);
            }
            npusim_core_destroy(core);
        }
    }
    replay_script_free(&s);
    free(exact);
}

const struct fuzz_target fuzz_target_script = {
        .name = "script",
        .what = "npu-replay's script parser (replay_script.c) over real files, then the tasks it parsed",
        .init = script_init,
        .one = script_one,
        .fini = script_fini,
};
