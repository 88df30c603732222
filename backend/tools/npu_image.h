/* NPU memory image: a list of (IOVA, bytes) segments of one fd's 32-bit NPU address space, used by
 * npu-replay for captured streams. File format (all integers little-endian):
 *
 *   offset 0   8 bytes  magic "RKNPUIMG"
 *          8   u32      version = 1
 *         12   u32      segment count
 *   then per segment:
 *              u32      iova    (16-byte aligned)
 *              u32      length  (bytes, > 0; [iova, iova+length) must not overlap another segment or wrap 4 GiB)
 *              length bytes of data, then zero padding to a multiple of 8 bytes
 *
 * See backend/tools/README.md. */
#ifndef ROSENBLATT_NPU_IMAGE_H
#define ROSENBLATT_NPU_IMAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NPU_IMAGE_MAGIC   "RKNPUIMG"
#define NPU_IMAGE_VERSION 1u

struct npu_image_segment {
    uint32_t iova, length;
    uint8_t *data;
};
struct npu_image {
    struct npu_image_segment *seg;
    uint32_t count, cap;
};

/* Add a segment (copies data; NULL data = zero-filled). 0 or -EINVAL (alignment/overlap/wrap) / -ENOMEM,
 * with a message in err. */
int npu_image_add(struct npu_image *img, uint32_t iova, uint32_t length, const void *data, char *err, size_t errlen);
/* Segments per image: one fd's BOs of a replayed job are a handful; the bound keeps a damaged count from
 * costing quadratic overlap checks. */
#define NPU_IMAGE_SEGMENTS_MAX 4096u

int npu_image_load(struct npu_image *img, const char *path, char *err, size_t errlen); /* appends */
/* The same from a seekable stream (a file, fmemopen); name is used in messages. Every length is checked
 * against the bytes the stream still holds before anything is allocated. */
int npu_image_read(struct npu_image *img, FILE *f, const char *name, char *err, size_t errlen);
int npu_image_save(const struct npu_image *img, const char *path, char *err, size_t errlen);
int npu_image_write(const struct npu_image *img, FILE *f, const char *name, char *err, size_t errlen);
void npu_image_free(struct npu_image *img);
/* Host pointer for [iova, iova+len) inside one segment, else NULL (usable as npusim_mem.map). */
void *npu_image_map(void *img, uint32_t iova, size_t len);

#endif
