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
    uint8_t hdr[16];
    int rc = 0;
    if (fread(hdr, 1, 16, f) != 16 || memcmp(hdr, NPU_IMAGE_MAGIC, 8)) {
        rc = img_fail(-EINVAL, err, errlen, "%s: not an NPU memory image (magic %s)", path, NPU_IMAGE_MAGIC);
        goto out;
    }
    if (get_u32(hdr + 8) != NPU_IMAGE_VERSION) {
        rc = img_fail(-EINVAL, err, errlen, "%s: image version %u, expected %u", path, get_u32(hdr + 8),
                      NPU_IMAGE_VERSION);
        goto out;
    }
    uint32_t count = get_u32(hdr + 12);
    for (uint32_t i = 0; i < count && !rc; i++) {
        uint8_t sh[8];
        if (fread(sh, 1, 8, f) != 8) {
            rc = img_fail(-EINVAL, err, errlen, "%s: truncated at segment %u", path, i);
            break;
        }
        uint32_t iova = get_u32(sh), len = get_u32(sh + 4), padded = (len + 7) & ~7u;
        uint8_t *buf = malloc(padded ? padded : 1);
        if (!buf) {
            rc = img_fail(-ENOMEM, err, errlen, "out of memory");
            break;
        }
        if (fread(buf, 1, padded, f) != padded)
            rc = img_fail(-EINVAL, err, errlen, "%s: segment %u truncated", path, i);
        else
            rc = npu_image_add(img, iova, len, buf, err, errlen);
        free(buf);
    }
out:
    fclose(f);
    return rc;
}

int npu_image_save(const struct npu_image *img, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) return img_fail(-errno, err, errlen, "%s: %s", path, strerror(errno));
    uint8_t hdr[16], zero[8] = {0};
    memcpy(hdr, NPU_IMAGE_MAGIC, 8);
    put_u32(hdr + 8, NPU_IMAGE_VERSION);
    put_u32(hdr + 12, img->count);
    int ok = fwrite(hdr, 1, 16, f) == 16;
    for (uint32_t i = 0; ok && i < img->count; i++) {
        const struct npu_image_segment *s = &img->seg[i];
        uint8_t sh[8];
        put_u32(sh, s->iova), put_u32(sh + 4, s->length);
        ok = fwrite(sh, 1, 8, f) == 8 && fwrite(s->data, 1, s->length, f) == s->length &&
             fwrite(zero, 1, ((s->length + 7) & ~7u) - s->length, f) == ((s->length + 7) & ~7u) - s->length;
    }
    if (fclose(f) || !ok) return img_fail(-EIO, err, errlen, "%s: write failed", path);
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
