/* Common layer of the device API: selection of the implementation, the per-device BO list, and the
 * validation every submit goes through before it reaches rocket or the sim. The kernel silently drops
 * malformed jobs (SUBMIT still returns 0, docs/hardware/rocket-uapi.md §2.3, §4.3), so everything it would reject is
 * rejected here, with a message. What is checked after SUBMIT (fence BOs, dropped jobs, per-job waits,
 * resets) is in npu_fence.c. */
#include "npu_device_impl.h"
#include "npu_limits.h"
#include "npu_regs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static _Thread_local char npu_error_text[512];

int npu_fail(int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(npu_error_text, sizeof npu_error_text, fmt, ap);
    va_end(ap);
    return err;
}

const char *npu_last_error(void) { return npu_error_text; }

int64_t npu_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t npu_deadline_after_ms(int64_t ms) { return npu_monotonic_ns() + ms * 1000000; }

/* ---- device selection ---- */

static const char *const kind_names[] = {
        [NPU_DEVICE_AUTO] = "auto", [NPU_DEVICE_ROCKET] = "rocket", [NPU_DEVICE_SIM] = "sim"};

int npu_device_kind_parse(const char *name, enum npu_device_kind *kind)
{
    for (int k = NPU_DEVICE_AUTO; name && k <= NPU_DEVICE_SIM; k++)
        if (!strcmp(name, kind_names[k])) {
            *kind = k;
            return 0;
        }
    return npu_fail(-EINVAL, "unknown device '%s' (expected sim, rocket or auto)", name ? name : "(null)");
}

const char *npu_device_kind_name(enum npu_device_kind kind) { return kind <= NPU_DEVICE_SIM ? kind_names[kind] : "?"; }

int npu_device_kind_from_env(enum npu_device_kind *kind)
{
    const char *v = getenv("RKNPU_DEVICE");
    if (!v || !*v) {
        *kind = NPU_DEVICE_AUTO;
        return 0;
    }
    int err = npu_device_kind_parse(v, kind);
    return err ? npu_fail(err, "RKNPU_DEVICE=%s: expected sim, rocket or auto", v) : 0;
}

int npu_device_open(enum npu_device_kind kind, const struct npu_open_options *opt, struct npu_device **out)
{
    if (!out) return npu_fail(-EINVAL, "npu_device_open: out is NULL");
    *out = NULL;
    struct npu_open_options o = opt ? *opt : (struct npu_open_options){0};
    if (!o.model_clock_mhz) o.model_clock_mhz = NPU_CLOCK_MAINLINE_MHZ;
    if (o.model_clock_mhz > NPU_MODEL_CLOCK_MHZ_MAX)
        return npu_fail(-EINVAL, "model clock %u MHz is not plausible (at most %u)", o.model_clock_mhz,
                        NPU_MODEL_CLOCK_MHZ_MAX);
    if (kind > NPU_DEVICE_SIM) return npu_fail(-EINVAL, "unknown device kind %d", (int)kind);

    struct npu_device *dev = calloc(1, sizeof *dev);
    if (!dev) return npu_fail(-ENOMEM, "out of memory");
    dev->fd = -1;
    dev->opt = o;
    pthread_mutex_init(&dev->lock, NULL);
    /* AUTO means "the real NPU if there is one"; it never silently becomes the simulator. */
    int err = kind == NPU_DEVICE_SIM ? sim_device_open(&o, dev) : rocket_device_open(&o, dev);
    if (err) {
        pthread_mutex_destroy(&dev->lock);
        free(dev);
        return err;
    }
    dev->info.model_clock_mhz = o.model_clock_mhz;
    *out = dev;
    return 0;
}

void npu_device_close(struct npu_device *dev)
{
    if (!dev) return;
    while (dev->bos) npu_bo_close(&dev->bos->bo);
    npu_fence_pool_free(dev);
    dev->ops->close(dev);
    pthread_mutex_destroy(&dev->lock);
    free(dev);
}

int npu_device_get_info(const struct npu_device *dev, struct npu_device_info *info)
{
    if (!dev || !info) return npu_fail(-EINVAL, "npu_device_get_info: NULL argument");
    *info = dev->info;
    return 0;
}

/* ---- buffer objects ---- */

static struct npu_bo_node *bo_node_of(struct npu_bo *bo) { return (struct npu_bo_node *)bo; }

int npu_bo_create(struct npu_device *dev, uint32_t size, struct npu_bo **out)
{
    if (!dev || !out) return npu_fail(-EINVAL, "npu_bo_create: NULL argument");
    *out = NULL;
    if (!size) return npu_fail(-EINVAL, "npu_bo_create: size 0");
    struct npu_bo_node *node = calloc(1, sizeof *node);
    if (!node) return npu_fail(-ENOMEM, "out of memory");
    node->bo.dev = dev;
    node->bo.size = size;
    int err = dev->ops->bo_create(dev, node);
    if (err) {
        free(node);
        return err;
    }
    pthread_mutex_lock(&dev->lock);
    node->next = dev->bos;
    dev->bos = node;
    pthread_mutex_unlock(&dev->lock);
    *out = &node->bo;
    return 0;
}

static bool bo_is_live(struct npu_device *dev, const struct npu_bo *bo)
{
    bool found = false;
    pthread_mutex_lock(&dev->lock);
    for (struct npu_bo_node *n = dev->bos; n && !found; n = n->next) found = &n->bo == bo;
    pthread_mutex_unlock(&dev->lock);
    return found;
}

int npu_bo_prep(struct npu_bo *bo, int64_t deadline_ns)
{
    if (!bo || !bo->dev) return npu_fail(-EINVAL, "npu_bo_prep: NULL BO");
    int err = bo->dev->ops->bo_prep(bo_node_of(bo), deadline_ns);
    if (!err) bo_node_of(bo)->cpu_owned = true;
    return err;
}

int npu_bo_fini(struct npu_bo *bo)
{
    if (!bo || !bo->dev) return npu_fail(-EINVAL, "npu_bo_fini: NULL BO");
    int err = bo->dev->ops->bo_fini(bo_node_of(bo));
    if (!err) bo_node_of(bo)->cpu_owned = false;
    return err;
}

void npu_bo_close(struct npu_bo *bo)
{
    if (!bo) return;
    struct npu_device *dev = bo->dev;
    struct npu_bo_node *node = bo_node_of(bo);
    pthread_mutex_lock(&dev->lock);
    for (struct npu_bo_node **p = &dev->bos; *p; p = &(*p)->next)
        if (*p == node) {
            *p = node->next;
            break;
        }
    pthread_mutex_unlock(&dev->lock);
    dev->ops->bo_close(node);
    free(node);
}

/* The device's BO containing [iova, iova + len); caller holds dev->lock. */
static struct npu_bo_node *find_bo_locked(struct npu_device *dev, uint32_t iova, uint64_t len)
{
    for (struct npu_bo_node *n = dev->bos; n; n = n->next)
        if (iova >= n->bo.iova && (uint64_t)iova + len <= (uint64_t)n->bo.iova + n->bo.size) return n;
    return NULL;
}

/* ---- submission ---- */

static int validate_bo_list(struct npu_device *dev, uint32_t j, const char *what, struct npu_bo *const *bos, uint32_t n)
{
    if (n && !bos) return npu_fail(-EINVAL, "job %u: %s_bos is NULL but %s_count is %u", j, what, what, n);
    for (uint32_t i = 0; i < n; i++) {
        if (!bos[i]) return npu_fail(-EINVAL, "job %u: %s_bos[%u] is NULL", j, what, i);
        if (bos[i]->dev != dev || !bo_is_live(dev, bos[i]))
            return npu_fail(-ENOENT, "job %u: %s_bos[%u] is not a live BO of this device (BOs are per fd)", j, what, i);
    }
    return 0;
}

static int validate_task(struct npu_device *dev, uint32_t j, uint32_t t, const struct npu_task *task)
{
    if (task->regcmd_count <= NPU_REGCMD_TAIL_ENTRIES)
        return npu_fail(-EINVAL, "job %u task %u: regcmd_count %u must include a body and the %u-entry tail", j, t,
                        task->regcmd_count, NPU_REGCMD_TAIL_ENTRIES);
    if (task->regcmd_iova % NPU_ADDR_ALIGN)
        return npu_fail(-EINVAL, "job %u task %u: regcmd IOVA 0x%08x is not 16-byte aligned", j, t, task->regcmd_iova);
    uint64_t len = (uint64_t)task->regcmd_count * 8;
    pthread_mutex_lock(&dev->lock);
    struct npu_bo_node *n = find_bo_locked(dev, task->regcmd_iova, len);
    const uint64_t *e = n ? (const uint64_t *)((const char *)n->bo.map + (task->regcmd_iova - n->bo.iova)) : NULL;
    uint64_t marker = e ? e[task->regcmd_count - 2] : 0, op_en = e ? e[task->regcmd_count - 1] : 0;
    pthread_mutex_unlock(&dev->lock);
    if (!n)
        return npu_fail(-EFAULT, "job %u task %u: regcmd [0x%08x, +%llu B) is not inside one BO of this device", j, t,
                        task->regcmd_iova, (unsigned long long)len);
    /* Without the tail the PC never reaches op_en and the job hangs until the 500 ms reset
     * (docs/hardware/rocket-uapi.md §4.2). */
    if (marker != npu_entry(NPU_TGT_MARKER, 0, 0) || npu_entry_target(op_en) != NPU_TGT_OP_EN)
        return npu_fail(-EINVAL,
                        "job %u task %u: stream does not end with the %u-entry tail (entry[count-2]=0x%016llx, "
                        "entry[count-1]=0x%016llx); regcmd_count must include the tail",
                        j, t, NPU_REGCMD_TAIL_ENTRIES, (unsigned long long)marker, (unsigned long long)op_en);
    return 0;
}

static int validate_jobs(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count)
{
    if (!jobs || !job_count) return npu_fail(-EINVAL, "npu_submit: no jobs");
    for (uint32_t j = 0; j < job_count; j++) {
        const struct npu_job *job = &jobs[j];
        if (!job->task_count || !job->tasks) return npu_fail(-EINVAL, "job %u: no tasks", j);
        /* The completion fence is attached to out-BOs only; without one nobody can wait
         * (docs/hardware/rocket-uapi.md §2.3). */
        if (!job->out_count) return npu_fail(-EINVAL, "job %u: no out BO (the only way to wait for a job)", j);
        int err = validate_bo_list(dev, j, "in", job->in_bos, job->in_count);
        if (!err) err = validate_bo_list(dev, j, "out", job->out_bos, job->out_count);
        for (uint32_t t = 0; !err && t < job->task_count; t++) err = validate_task(dev, j, t, &job->tasks[t]);
        if (err) return err;
    }
    return 0;
}

int npu_submit(struct npu_device *dev, const struct npu_job *jobs, uint32_t job_count, struct npu_fence **out)
{
    if (!dev || !out) return npu_fail(-EINVAL, "npu_submit: NULL argument");
    *out = NULL;
    int64_t t0 = npu_monotonic_ns();
    int err = validate_jobs(dev, jobs, job_count);
    if (err) return err;
    struct npu_fence *f = calloc(1, sizeof *f);
    if (!f) return npu_fail(-ENOMEM, "out of memory");
    f->dev = dev;
    f->submit_ns = t0;
    f->job_count = job_count;
    f->stats.model_clock_mhz = dev->opt.model_clock_mhz;
    for (uint32_t j = 0; j < job_count; j++)
        for (uint32_t b = 0; b < jobs[j].in_count; b++)
            f->stats.cpu_owned_in_bos += bo_node_of(jobs[j].in_bos[b])->cpu_owned;
    err = npu_fence_submit(dev, jobs, job_count, f);
    if (err) {
        free(f);
        return err;
    }
    *out = f;
    return 0;
}
