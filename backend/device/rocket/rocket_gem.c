/* rocket buffers: CREATE_BO + mmap, PREP_BO / FINI_BO, munmap + GEM_CLOSE (docs/hardware/rocket-uapi.md §2.3, §4.1). */
#include "rocket.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static size_t page_round(size_t n)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}

static void gem_close(int fd, uint32_t handle)
{
    struct rocket_uapi_gem_close c = {.handle = handle};
    rocket_ioctl(fd, ROCKET_UAPI_IOCTL_GEM_CLOSE, &c);
}

int rocket_bo_create(struct npu_device *dev, struct npu_bo_node *node)
{
    struct rocket_uapi_create_bo c = {.size = node->bo.size};
    int ret = rocket_ioctl(dev->fd, ROCKET_UAPI_IOCTL_CREATE_BO, &c);
    if (ret < 0) return npu_fail(ret, "CREATE_BO(%u bytes) failed: %s", node->bo.size, strerror(-ret));
    if (c.dma_address + node->bo.size > NPU_IOVA_SPACE) { /* the NPU VA is 32-bit (docs/hardware/rocket-uapi.md §1.4) */
        gem_close(dev->fd, c.handle);
        return npu_fail(-EOVERFLOW, "CREATE_BO returned IOVA 0x%llx beyond 32 bits", (unsigned long long)c.dma_address);
    }
    node->map_len = page_round(node->bo.size);
    void *p = mmap(NULL, node->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, dev->fd, (off_t)c.offset);
    if (p == MAP_FAILED) {
        int err = -errno;
        gem_close(dev->fd, c.handle);
        return npu_fail(err, "mmap of BO %u (%zu bytes) failed: %s", c.handle, node->map_len, strerror(-err));
    }
    node->bo.handle = c.handle;
    node->bo.iova = (uint32_t)c.dma_address;
    node->bo.map = p;
    node->mmap_offset = c.offset;
    return 0;
}

int rocket_bo_busy(struct npu_bo_node *node)
{
    struct rocket_uapi_prep_bo p = {.handle = node->bo.handle, .timeout_ns = 0}; /* deadline long passed */
    int ret = rocket_ioctl(node->bo.dev->fd, ROCKET_UAPI_IOCTL_PREP_BO, &p);
    if (ret == -EBUSY || ret == -ETIMEDOUT) return 1;
    return ret < 0 ? ret : 0;
}

int rocket_bo_prep(struct npu_bo_node *node, int64_t deadline_ns)
{
    /* timeout_ns is an ABSOLUTE CLOCK_MONOTONIC deadline, and success may be a positive value
     * (the remaining jiffies) - treat >= 0 as success (docs/hardware/rocket-uapi.md §2.3). */
    struct rocket_uapi_prep_bo p = {.handle = node->bo.handle, .timeout_ns = deadline_ns};
    int ret = rocket_ioctl(node->bo.dev->fd, ROCKET_UAPI_IOCTL_PREP_BO, &p);
    if (ret >= 0) return 0;
    if (ret == -ETIMEDOUT) return npu_fail(ret, "BO %u still written by a job at the deadline", node->bo.handle);
    if (ret == -EBUSY)
        return npu_fail(ret,
                        "BO %u busy and the deadline %lld ns has already passed (deadlines are absolute "
                        "CLOCK_MONOTONIC times)",
                        node->bo.handle, (long long)deadline_ns);
    return npu_fail(ret, "PREP_BO(%u) failed: %s", node->bo.handle, strerror(-ret));
}

int rocket_bo_fini(struct npu_bo_node *node)
{
    struct rocket_uapi_fini_bo f = {.handle = node->bo.handle};
    int ret = rocket_ioctl(node->bo.dev->fd, ROCKET_UAPI_IOCTL_FINI_BO, &f);
    return ret < 0 ? npu_fail(ret, "FINI_BO(%u) failed: %s", node->bo.handle, strerror(-ret)) : 0;
}

void rocket_bo_close(struct npu_bo_node *node)
{
    /* GEM_CLOSE alone leaks: the VMA keeps the object pinned (docs/hardware/rocket-uapi.md §4.1). */
    if (node->bo.map) munmap(node->bo.map, node->map_len);
    gem_close(node->bo.dev->fd, node->bo.handle);
}
