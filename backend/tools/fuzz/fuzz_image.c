// SPDX-License-Identifier: MIT
/*
 * Fuzz target "image": the NPU memory image reader (backend/tools/npu_image.c) fed mutated image files. Seeds
 * are images npu_image_write made from random segments; mutations edit bytes anywhere, the segment count,
 * a segment's address or length, and cut or extend the file.
 *
 * Invariants: a rejected file names its reason; an accepted one holds only segments the format allows
 * (16-byte aligned, non-empty, inside the 32-bit IOVA space, not overlapping, at most
 * NPU_IMAGE_SEGMENTS_MAX), writes back and reads again to the same segments, and npu_image_map hands out only
 * ranges inside them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "npu_image.h"
#include "npu_limits.h"

#define SEED_SEGMENTS_MAX 5
#define SEED_LENGTH_MAX   300
#define HEADER_BYTES      16
#define SEGMENT_HDR_BYTES 8
#define ERR_BYTES         512
#define MAP_PROBES        8

static bool same_image(const struct npu_image *a, const struct npu_image *b)
{
    if (a->count != b->count) return false;
    for (uint32_t i = 0; i < a->count; i++)
        if (a->seg[i].iova != b->seg[i].iova || a->seg[i].length != b->seg[i].length ||
            memcmp(a->seg[i].data, b->seg[i].data, a->seg[i].length))
            return false;
    return true;
}

/* The serialized form of img in a malloc'd buffer. */
static uint8_t *serialize(const struct npu_image *img, size_t *len)
{
    char *buf = NULL, err[128];
    FILE *f = open_memstream(&buf, len);
    if (!f) return NULL;
    int rc = npu_image_write(img, f, "memstream", err, sizeof err);
    fclose(f);
    if (rc) {
        free(buf);
        return NULL;
    }
    return (uint8_t *)buf;
}

static int parse(const uint8_t *data, size_t len, struct npu_image *img, char *err, size_t errlen)
{
    /* fmemopen needs a non-empty buffer: an empty file is a one-byte buffer read from its end */
    static const uint8_t empty[1];
    FILE *f = fmemopen((void *)(len ? data : empty), len ? len : 1, "rb");
    if (!f) return snprintf(err, errlen, "fmemopen failed"), -ENOMEM;
    if (!len) fseek(f, 0, SEEK_END);
    int rc = npu_image_read(img, f, "input", err, errlen);
    fclose(f);
    return rc;
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

static void check_image(struct fuzz_run *run, const struct npu_image *img, struct fuzz_rng *r)
{
    if (img->count > NPU_IMAGE_SEGMENTS_MAX) fuzz_finding(run, "%u segments accepted", img->count);
    for (uint32_t i = 0; i < img->count; i++) {
        const struct npu_image_segment *s = &img->seg[i];
        if (!s->length || s->iova % NPU_ADDR_ALIGN || (uint64_t)s->iova + s->length > NPU_IOVA_SPACE)
            fuzz_finding(run, "segment %u [0x%08x, +%u) accepted outside the format", i, s->iova, s->length);
        for (uint32_t j = 0; j < i; j++)
            if (s->iova < (uint64_t)img->seg[j].iova + img->seg[j].length &&
                img->seg[j].iova < (uint64_t)s->iova + s->length)
                fuzz_finding(run, "segments %u and %u overlap", j, i);
        /* touching the first and last byte lets ASan check the allocation holds the whole length */
        volatile uint8_t sink = s->data[0];
        sink = s->data[s->length - 1];
        (void)sink;
    }
    for (int p = 0; p < MAP_PROBES && img->count; p++) {
        const struct npu_image_segment *s = &img->seg[fuzz_below(r, img->count)];
        uint32_t off = fuzz_below(r, s->length + 2), len = 1 + fuzz_below(r, s->length + 2);
        uint32_t iova = s->iova + off;
        uint8_t *m = npu_image_map((void *)img, iova, len);
        bool inside = (uint64_t)off + len <= s->length;
        if (inside && m != s->data + off) fuzz_finding(run, "map of [0x%08x, +%u) inside a segment failed", iova, len);
        if (m) {
            volatile uint8_t sink = m[0];
            sink = m[len - 1];
            (void)sink;
        }
    }
}

static void image_one(void *ctx, struct fuzz_rng *r, struct fuzz_run *run)
{
    (void)ctx;
    struct npu_image seed = {0};
    char err[ERR_BYTES];
    uint32_t nseg = fuzz_below(r, SEED_SEGMENTS_MAX + 1), iova = (uint32_t)fuzz_below(r, 16) * NPU_ADDR_ALIGN;
    for (uint32_t i = 0; i < nseg; i++) {
        uint32_t len = 1 + fuzz_below(r, SEED_LENGTH_MAX);
        uint8_t data[SEED_LENGTH_MAX];
        for (uint32_t b = 0; b < len; b++) data[b] = (uint8_t)fuzz_u64(r);
        if (npu_image_add(&seed, iova, len, data, err, sizeof err)) break;
        iova += (len + NPU_ADDR_ALIGN - 1) / NPU_ADDR_ALIGN * NPU_ADDR_ALIGN + NPU_ADDR_ALIGN * fuzz_below(r, 4);
    }
    size_t len = 0;
    uint8_t *file = serialize(&seed, &len);
    if (!file) {
        npu_image_free(&seed);
        return;
    }
    unsigned edits = fuzz_one_in(r, 8) ? 0 : 1 + fuzz_below(r, 4);
    for (unsigned e = 0; e < edits; e++) {
        switch (fuzz_below(r, 5)) {
        case 0:
            fuzz_mutate_bytes(r, file, len, 1 + fuzz_below(r, 8));
            break;
        case 1: /* the segment count */
            if (len >= HEADER_BYTES)
                put_u32(file + HEADER_BYTES - 4,
                        fuzz_one_in(r, 2) ? fuzz_interesting(r) : seed.count + fuzz_below(r, 5) - 2);
            break;
        case 2: /* a segment header: the first one, where it is certain to be */
            if (len >= HEADER_BYTES + SEGMENT_HDR_BYTES)
                put_u32(file + HEADER_BYTES + 4 * fuzz_below(r, 2), fuzz_interesting(r));
            break;
        case 3: /* cut */
            len = fuzz_below(r, (uint32_t)len + 1);
            break;
        default: { /* extend with a copy of a random part */
            size_t extra = 1 + fuzz_below(r, 64);
            uint8_t *n = realloc(file, len + extra);
            if (!n) break;
            file = n;
            for (size_t b = 0; b < extra; b++) file[len + b] = len ? file[fuzz_u64(r) % len] : 0;
            len += extra;
        }
        }
    }
    /* an exact-size copy, so ASan catches a read past the file's end through fmemopen's buffer */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact) memcpy(exact, file, len);
    free(file);
    if (!exact) {
        npu_image_free(&seed);
        return;
    }

    struct npu_image img = {0};
    int rc = parse(exact, len, &img, err, sizeof err);
    fuzz_outcome(run, rc, err);
    fuzz_note(run, "%zu bytes, %u edits: rc %d %s", len, edits, rc, rc ? err : "");
    if (rc && !err[0]) fuzz_finding(run, "a rejected image gave no reason (rc %d)", rc);
    if (!rc && edits == 0 && !same_image(&img, &seed)) fuzz_finding(run, "an unmutated image did not read back");
    if (!rc) {
        check_image(run, &img, r);
        size_t len2 = 0;
        uint8_t *again = serialize(&img, &len2);
        struct npu_image img2 = {0};
        if (!again || parse(again, len2, &img2, err, sizeof err) || !same_image(&img, &img2))
            fuzz_finding(run, "an accepted image does not survive write + read (%s)", err);
        free(again);
        npu_image_free(&img2);
    }
    npu_image_free(&img);
    npu_image_free(&seed);
    free(exact);
}

const struct fuzz_target fuzz_target_image = {
        .name = "image",
        .what = "the NPU memory image reader (npu_image.c): mutated RKNPUIMG files",
        .one = image_one,
};
