/* Simulated BOs: anonymous memory (zero-filled like shmem pages, committed lazily so a 4 GiB IOVA
 * space can be exercised), placed first-fit at page alignment in the file's private 32-bit IOVA space
 * starting at 0 (0 is a valid IOVA, docs/hardware/rocket-uapi.md §2.3). */
#include "sim.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* First free page-aligned hole of `span` bytes; table sorted by IOVA. */
static int iova_find_hole(const struct sim_file *f, uint64_t span, uint64_t *iova, size_t *slot)
{
    uint64_t cursor = 0;
    size_t i = 0;
    for (; i < f->bo_count; i++) {
        if (f->bos[i]->iova - cursor >= span) break;
        cursor = (uint64_t)f->bos[i]->iova + f->bos[i]->span;
    }
    if (f->iova_space - cursor < span && i == f->bo_count) return -ENOSPC;
    *iova = cursor;
    *slot = i;
    return 0;
}

int sim_bo_create(struct npu_device *dev, struct npu_bo_node *node)
{
    struct sim_file *f = dev->impl;
    uint64_t span = ((uint64_t)node->bo.size + SIM_PAGE - 1) / SIM_PAGE * SIM_PAGE;
    struct sim_bo *bo = calloc(1, sizeof *bo);
    if (!bo) return npu_fail(-ENOMEM, "out of memory");
    bo->mem = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (bo->mem == MAP_FAILED) {
        free(bo);
        return npu_fail(-ENOMEM, "cannot back a %u-byte BO: %s", node->bo.size, strerror(errno));
    }
    pthread_rwlock_wrlock(&f->mem_lock);
    uint64_t iova;
    size_t slot;
    int err = iova_find_hole(f, span, &iova, &slot);
    if (!err && f->bo_count == f->bo_cap) {
        size_t cap = f->bo_cap ? f->bo_cap * 2 : 16;
        struct sim_bo **nb = realloc(f->bos, cap * sizeof *nb);
        if (!nb)
            err = -ENOMEM;
        else
            f->bos = nb, f->bo_cap = cap;
    }
    if (!err) {
        memmove(&f->bos[slot + 1], &f->bos[slot], (f->bo_count - slot) * sizeof *f->bos);
        f->bos[slot] = bo;
        f->bo_count++;
        bo->handle = ++f->next_handle;
    }
    pthread_rwlock_unlock(&f->mem_lock);
    if (err) {
        munmap(bo->mem, span);
        free(bo);
        if (err == -ENOSPC)
            return npu_fail(err,
                            "IOVA space of this fd exhausted: no free %llu-byte range in the %llu-byte aperture "
                            "(each fd has its own 32-bit space, docs/hardware/rocket-uapi.md §1.4)",
                            (unsigned long long)span, (unsigned long long)f->iova_space);
        return npu_fail(err, "out of memory");
    }
    bo->file = f;
    bo->node = node;
    bo->iova = (uint32_t)iova;
    bo->span = span;
    bo->refs = 1;
    node->impl = bo;
    node->map_len = span;
    node->bo.handle = bo->handle;
    node->bo.iova = bo->iova;
    node->bo.map = bo->mem;
    return 0;
}

void *sim_file_map(void *ctx, uint32_t iova, size_t len)
{
    struct sim_file *f = ctx;
    size_t lo = 0, hi = f->bo_count;
    while (lo < hi) { /* last BO with bo->iova <= iova */
        size_t mid = (lo + hi) / 2;
        if (f->bos[mid]->iova <= iova)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (!lo) return NULL;
    struct sim_bo *bo = f->bos[lo - 1];
    /* The mapping covers the whole page-rounded span, as the IOMMU mapping does. */
    if ((uint64_t)iova + len > (uint64_t)bo->iova + bo->span) return NULL;
    return (char *)bo->mem + (iova - bo->iova);
}

int sim_bo_prep(struct npu_bo_node *node, int64_t deadline_ns)
{
    struct sim_bo *bo = node->impl;
    struct sim_machine *m = bo->file->m;
    int err = 0;
    /* A deadline already in the past is a zero timeout: -EBUSY when busy (docs/hardware/rocket-uapi.md §2.3). */
    bool zero_timeout = npu_monotonic_ns() >= deadline_ns;
    pthread_mutex_lock(&m->lock);
    /* Waits for the job writing the BO (its fence is on out-BOs only, docs/hardware/rocket-uapi.md §2.3). */
    while (bo->last_writer && bo->last_writer->state != SIM_JOB_DONE) {
        if (zero_timeout || sim_cond_wait_until(m, deadline_ns) == ETIMEDOUT) {
            if (bo->last_writer->state != SIM_JOB_DONE) err = zero_timeout ? -EBUSY : -ETIMEDOUT;
            break;
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (err == -EBUSY)
        return npu_fail(err,
                        "BO %u busy and the deadline %lld ns had already passed (deadlines are absolute "
                        "CLOCK_MONOTONIC times)",
                        node->bo.handle, (long long)deadline_ns);
    if (err) return npu_fail(err, "BO %u still written by a job at the deadline", node->bo.handle);
    return 0;
}

int sim_bo_busy(struct npu_bo_node *node)
{
    struct sim_bo *bo = node->impl;
    struct sim_machine *m = bo->file->m;
    pthread_mutex_lock(&m->lock);
    int busy = bo->last_writer && bo->last_writer->state != SIM_JOB_DONE;
    pthread_mutex_unlock(&m->lock);
    return busy;
}

int sim_bo_fini(struct npu_bo_node *node)
{
    (void)node; /* no caches to flush in the simulator */
    return 0;
}

void sim_bo_put(struct sim_bo *bo)
{
    struct sim_machine *m = bo->file->m;
    pthread_mutex_lock(&m->lock);
    bool dead = --bo->refs == 0;
    if (dead && bo->last_writer) sim_job_put_locked(bo->last_writer);
    pthread_mutex_unlock(&m->lock);
    if (!dead) return;
    struct sim_file *f = bo->file;
    pthread_rwlock_wrlock(&f->mem_lock);
    for (size_t i = 0; i < f->bo_count; i++)
        if (f->bos[i] == bo) {
            memmove(&f->bos[i], &f->bos[i + 1], (f->bo_count - i - 1) * sizeof *f->bos);
            f->bo_count--;
            break;
        }
    pthread_rwlock_unlock(&f->mem_lock);
    munmap(bo->mem, bo->span);
    free(bo);
}

void sim_bo_close(struct npu_bo_node *node)
{
    struct sim_bo *bo = node->impl;
    /* Pending jobs keep their BOs alive (their GEM references), like the kernel. */
    bo->node = NULL;
    node->impl = NULL;
    sim_bo_put(bo);
}
