/* rocket device: find the accel node whose DRM driver is "rocket", open it, describe it.
 * One open = one fd = one private IOVA space and one scheduler entity (docs/hardware/rocket-uapi.md §1.4, §4.6). */
#include "rocket.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ACCEL_DIR_DEFAULT   "/dev/accel" /* DRIVER_COMPUTE_ACCEL node (docs/hardware/rocket-uapi.md §3) */
#define ROCKET_SYSFS_DRIVER "/sys/bus/platform/drivers/rocket"

int rocket_ioctl(int fd, unsigned long request, void *arg)
{
    int ret;
    do ret = ioctl(fd, request, arg);
    while (ret == -1 && (errno == EINTR || errno == EAGAIN));
    return ret == -1 ? -errno : ret;
}

static const char *accel_dir(void)
{
    const char *d = getenv("RKNPU_ACCEL_DIR"); /* tests point this at a temp dir */
    return d && *d ? d : ACCEL_DIR_DEFAULT;
}

/* DRM_IOCTL_VERSION: the driver name tells rocket from other accel drivers. */
static int query_version(int fd, struct npu_device_info *info)
{
    char name[64] = "", desc[128] = "", date[32] = "";
    struct rocket_uapi_drm_version v = {.name_len = sizeof name - 1,
                                        .name = name,
                                        .date_len = sizeof date - 1,
                                        .date = date,
                                        .desc_len = sizeof desc - 1,
                                        .desc = desc};
    int ret = rocket_ioctl(fd, ROCKET_UAPI_IOCTL_VERSION, &v);
    if (ret < 0) return ret;
    name[sizeof name - 1] = desc[sizeof desc - 1] = 0;
    snprintf(info->driver, sizeof info->driver, "%.31s", name);
    snprintf(info->desc, sizeof info->desc, "%.63s", desc);
    info->version_major = v.version_major;
    info->version_minor = v.version_minor;
    info->version_patch = v.version_patchlevel;
    return 0;
}

/* The uAPI cannot report cores; count the core platform devices bound to the rocket driver. */
static void count_cores(struct npu_device_info *info)
{
    DIR *d = opendir(ROCKET_SYSFS_DRIVER);
    uint32_t n = 0;
    for (struct dirent *e; d && (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".npu")) n++; /* e.g. fdab0000.npu */
    }
    if (d) closedir(d);
    info->cores = n ? n : NPU_CORES;
    if (n)
        snprintf(info->cores_source, sizeof info->cores_source, "sysfs rocket driver bindings");
    else
        snprintf(info->cores_source, sizeof info->cores_source, "assumed (RK3588 has %u)", NPU_CORES);
}

static int accel_name_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    long nx = strtol(x + 5, NULL, 10), ny = strtol(y + 5, NULL, 10);
    return nx < ny ? -1 : nx > ny;
}

static void rocket_close(struct npu_device *dev)
{
    if (dev->fd >= 0) close(dev->fd);
    dev->fd = -1;
}

/* No job completes sooner after SUBMIT is entered: under a quarter of the ~90 us the drm_sched worker alone
 * takes before a job reaches a core (docs/hardware/rocket-uapi.md §4.5), a measurement on one rocket-derived
 * kernel, hence the margin. */
#define ROCKET_SCHED_LATENCY_MIN_NS 20000

static const struct npu_device_ops rocket_ops = {
        .bo_create = rocket_bo_create,
        .bo_prep = rocket_bo_prep,
        .bo_busy = rocket_bo_busy,
        .bo_fini = rocket_bo_fini,
        .bo_close = rocket_bo_close,
        .submit = rocket_job_submit,
        .fence_wait = rocket_fence_wait,
        .fence_free = rocket_fence_free,
        .close = rocket_close,
};

int rocket_device_open(const struct npu_open_options *opt, struct npu_device *dev)
{
    const char *dir = accel_dir();
    char why[320] = "";
    size_t wl = 0;
    DIR *d = opendir(dir);
    if (!d)
        return npu_fail(-ENODEV, "no rocket NPU found (%s/* absent or not rocket): cannot read %s: %s", dir, dir,
                        strerror(errno));
    char *names[64];
    int count = 0;
    for (struct dirent *e; (e = readdir(d)) && count < 64;)
        if (!strncmp(e->d_name, "accel", 5)) names[count++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)count, sizeof names[0], accel_name_cmp);

    int found = -1;
    for (int i = 0; i < count && found < 0; i++) {
        char path[sizeof dev->info.node];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        const char *reason = NULL;
        char buf[96];
        if (fd < 0) {
            snprintf(buf, sizeof buf, "cannot open: %s%s", strerror(errno),
                     errno == EACCES ? " (need access to the accel node, e.g. group render)" : "");
            reason = buf;
        } else {
            int ret = query_version(fd, &dev->info);
            if (ret < 0)
                snprintf(buf, sizeof buf, "not a DRM device (%s)", strerror(-ret)), reason = buf;
            else if (strcmp(dev->info.driver, ROCKET_UAPI_DRIVER_NAME))
                snprintf(buf, sizeof buf, "DRM driver is '%s', not rocket", dev->info.driver), reason = buf;
        }
        if (!reason) {
            dev->fd = fd;
            snprintf(dev->info.node, sizeof dev->info.node, "%s", path);
            found = i;
        } else {
            if (fd >= 0) close(fd);
            wl += (size_t)snprintf(why + wl, wl < sizeof why ? sizeof why - wl : 0, "; %s: %s", names[i], reason);
            if (wl >= sizeof why) wl = sizeof why - 1;
        }
    }
    for (int i = 0; i < count; i++) free(names[i]);
    if (found < 0)
        return npu_fail(-ENODEV, "no rocket NPU found (%s/* absent or not rocket)%s%s", dir,
                        count ? "" : ": no accel nodes", why);

    dev->ops = &rocket_ops;
    dev->info.kind = NPU_DEVICE_ROCKET;
    dev->info.is_simulator = false;
    dev->info.job_timeout_ms = ROCKET_UAPI_JOB_TIMEOUT_MS;
    dev->info.iova_space = NPU_IOVA_SPACE; /* the IOMMU aperture (docs/hardware/rocket-uapi.md §1.4) */
    dev->job_timeout_ns = (uint64_t)ROCKET_UAPI_JOB_TIMEOUT_MS * 1000000;
    dev->jobs_in_order = true;    /* one drm_sched entity per fd (docs/hardware/rocket-uapi.md §1.2) */
    dev->busy_check_waits = true; /* a zero-timeout PREP_BO waits up to a jiffy per pending fence */
    dev->sched_latency_min_ns = ROCKET_SCHED_LATENCY_MIN_NS;
    dev->info.model_clock_mhz = opt->model_clock_mhz;
    count_cores(&dev->info);
    return 0;
}
