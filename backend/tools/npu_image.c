/* NPU memory image files (format in npu_image.h). */
#include "npu_image.h"
#include "npu_limits.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int img_fail(int rc, char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int img_fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen) vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

int npu_image_add(struct npu_image *img, uint32_t iova, uint32_t length, const void *data, char *err, size_t errlen)
{
    if (!length) return img_fail(-EINVAL, err, errlen, "segment at 0x%08x is empty", iova);
    if (iova % NPU_ADDR_ALIGN)
        return img_fail(-EINVAL, err, errlen, "segment at 0x%08x is not %u-byte aligned", iova, NPU_ADDR_ALIGN);
    if ((uint64_t)iova + length > NPU_IOVA_SPACE)
        return img_fail(-EINVAL, err, errlen, "segment [0x%08x, +%u) leaves the 32-bit IOVA space", iova, length);
    for (uint32_t i = 0; i < img->count; i++) {
        const struct npu_image_segment *s = &img->seg[i];
        if (iova < (uint64_t)s->iova + s->length && s->iova < (uint64_t)iova + length)
            return img_fail(-EINVAL, err, errlen, "segment [0x%08x, +%u) overlaps [0x%08x, +%u)", iova, length, s->iova,
                            s->length);
    }
    if (img->count >= NPU_IMAGE_SEGMENTS_MAX)
        return img_fail(-EINVAL, err, errlen, "more than %u segments", NPU_IMAGE_SEGMENTS_MAX);
    if (img->count == img->cap) {
        uint32_t cap = img->cap ? img->cap * 2 : 8;
        struct npu_image_segment *n = realloc(img->seg, cap * sizeof *n);
        if (!n) return img_fail(-ENOMEM, err, errlen, "out of memory");
        img->seg = n, img->cap = cap;
    }
    uint8_t *copy = calloc(1, length);
    if (!copy) return img_fail(-ENOMEM, err, errlen, "out of memory for %u bytes", length);
    if (data) memcpy(copy, data, length);
    img->seg[img->count++] = (struct npu_image_segment){iova, length, copy};
    return 0;
}

static uint32_t get_u32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

int npu_image_load(struct npu_image *img, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) return img_fail(-errno, err, errlen, "%s: %s", path, strerror(errno));
    int rc = npu_image_read(img, f, path, err, errlen);
    fclose(f);
    return rc;
}

/* Bytes from the current position to the end of a seekable stream, or -1. */
static long long stream_remaining(FILE *f)
{
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END)) return -1;
    long end = ftell(f);
    if (end < 0 || fseek(f, here, SEEK_SET)) return -1;
    return end - here;
}

int npu_image_read(struct npu_image *img, FILE *f, const char *name, char *err, size_t errlen)
{
    uint8_t hdr[16];
    long long left = stream_remaining(f);
    if (left < 0) return img_fail(-EINVAL, err, errlen, "%s: not a seekable file", name);
    if (left < (long long)sizeof hdr || fread(hdr, 1, sizeof hdr, f) != sizeof hdr || memcmp(hdr, NPU_IMAGE_MAGIC, 8))
        return img_fail(-EINVAL, err, errlen, "%s: not an NPU memory image (magic %s)", name, NPU_IMAGE_MAGIC);
    left -= sizeof hdr;
    if (get_u32(hdr + 8) != NPU_IMAGE_VERSION)
        return img_fail(-EINVAL, err, errlen, "%s: image version %u, expected %u", name, get_u32(hdr + 8),
                        NPU_IMAGE_VERSION);
    uint32_t count = get_u32(hdr + 12);
    if (count > NPU_IMAGE_SEGMENTS_MAX || (uint64_t)img->count + count > NPU_IMAGE_SEGMENTS_MAX)
        return img_fail(-EINVAL, err, errlen, "%s: %u segments, more than the %u an image may hold", name, count,
                        NPU_IMAGE_SEGMENTS_MAX);
    int rc = 0;
    for (uint32_t i = 0; i < count && !rc; i++) {
        uint8_t sh[8];
        if (left < (long long)sizeof sh || fread(sh, 1, sizeof sh, f) != sizeof sh)
            return img_fail(-EINVAL, err, errlen, "%s: truncated at segment %u", name, i);
        left -= sizeof sh;
        /* 64-bit: a length near 4 GiB must not wrap to a small padded size */
        uint32_t iova = get_u32(sh), len = get_u32(sh + 4);
        uint64_t padded = ((uint64_t)len + 7) & ~(uint64_t)7;
        if ((uint64_t)left < padded)
            return img_fail(-EINVAL, err, errlen, "%s: segment %u at 0x%08x claims %u bytes, the file holds %lld", name,
                            i, iova, len, left);
        uint8_t *buf = malloc(padded ? (size_t)padded : 1);
        if (!buf) return img_fail(-ENOMEM, err, errlen, "out of memory");
        if (fread(buf, 1, (size_t)padded, f) != padded)
            rc = img_fail(-EINVAL, err, errlen, "%s: segment %u truncated", name, i);
        else
            rc = npu_image_add(img, iova, len, buf, err, errlen);
        left -= (long long)padded;
        free(buf);
    }
    return rc;
}

int npu_image_save(const struct npu_image *img, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) return img_fail(-errno, err, errlen, "%s: %s", path, strerror(errno));
    int rc = npu_image_write(img, f, path, err, errlen);
    if (fclose(f) && !rc) rc = img_fail(-EIO, err, errlen, "%s: write failed", path);
    return rc;
}

int npu_image_write(const struct npu_image *img, FILE *f, const char *name, char *err, size_t errlen)
{
    uint8_t hdr[16], zero[8] = {0};
    memcpy(hdr, NPU_IMAGE_MAGIC, 8);
    put_u32(hdr + 8, NPU_IMAGE_VERSION);
    put_u32(hdr + 12, img->count);
    int ok = fwrite(hdr, 1, 16, f) == 16;
    for (uint32_t i = 0; ok && i < img->count; i++) {
        const struct npu_image_segment *s = &img->seg[i];
        uint8_t sh[8];
        size_t pad = (((size_t)s->length + 7) & ~(size_t)7) - s->length;
        put_u32(sh, s->iova), put_u32(sh + 4, s->length);
        ok = fwrite(sh, 1, 8, f) == 8 && fwrite(s->data, 1, s->length, f) == s->length &&
             fwrite(zero, 1, pad, f) == pad;
    }
    if (fflush(f) || !ok) return img_fail(-EIO, err, errlen, "%s: write failed", name);
    return 0;
}

void npu_image_free(struct npu_image *img)
{
    for (uint32_t i = 0; i < img->count; i++) free(img->seg[i].data);
    free(img->seg);
    *img = (struct npu_image){0};
}

void *npu_image_map(void *ctx, uint32_t iova, size_t len)
{
    struct npu_image *img = ctx;
    for (uint32_t i = 0; i < img->count; i++) {
        struct npu_image_segment *s = &img->seg[i];
        if (iova >= s->iova && (uint64_t)iova + len <= (uint64_t)s->iova + s->length) return s->data + (iova - s->iova);
    }
    return NULL;
}
