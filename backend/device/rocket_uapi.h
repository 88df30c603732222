/* Our own definitions of the mainline rocket accel uAPI (kernel 6.18+) and the two generic DRM ioctls
 * we need (VERSION, GEM_CLOSE). Layouts and ioctl numbers are the facts in
 * docs/hardware/rocket-uapi.md §2.1/§2.2 (no implicit padding anywhere; unchanged after 6.18
 * apart from comments). Every size, offset and ioctl number is checked at compile time below; when the
 * system header <drm/rocket_accel.h> exists we additionally prove that it agrees with us.
 *
 * Names carry a rocket_uapi_ prefix so they never collide with the system header's drm_rocket_*. */
#ifndef ROSENBLATT_ROCKET_UAPI_H
#define ROSENBLATT_ROCKET_UAPI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>

#ifdef __cplusplus
#define ROCKET_UAPI_STATIC_ASSERT static_assert
#else
#define ROCKET_UAPI_STATIC_ASSERT _Static_assert
#endif

/* ---- rocket structs (docs/hardware/rocket-uapi.md §2.2) ---- */
struct rocket_uapi_create_bo { /* 24 B */
    uint32_t size;             /* in: bytes (< 4 GiB) */
    uint32_t handle;           /* out: GEM handle */
    uint64_t dma_address;      /* out: NPU VA in this fd's private 4 GiB space */
    uint64_t offset;           /* out: fake offset for mmap() on the device fd */
};

struct rocket_uapi_prep_bo { /* 16 B: CPU takes ownership (waits for NPU writers, cache sync) */
    uint32_t handle;
    uint32_t reserved;  /* must be 0 */
    int64_t timeout_ns; /* ABSOLUTE CLOCK_MONOTONIC deadline (docs/hardware/rocket-uapi.md §2.3) */
};

struct rocket_uapi_fini_bo { /* 8 B: CPU hands the BO back to the NPU (cache sync) */
    uint32_t handle;
    uint32_t reserved; /* must be 0 */
};

struct rocket_uapi_task {  /* 8 B: one register-command stream */
    uint32_t regcmd;       /* 32-bit NPU VA of the stream */
    uint32_t regcmd_count; /* 64-bit entries, including the 4-entry tail; > 0 */
};

struct rocket_uapi_job {     /* 40 B: tasks run in order on one core */
    uint64_t tasks;          /* user pointer to rocket_uapi_task[] */
    uint64_t in_bo_handles;  /* user pointer to uint32_t[] */
    uint64_t out_bo_handles; /* user pointer to uint32_t[] */
    uint32_t task_count;
    uint32_t task_struct_size; /* array stride, >= 8 */
    uint32_t in_bo_handle_count;
    uint32_t out_bo_handle_count;
};

struct rocket_uapi_submit { /* 24 B */
    uint64_t jobs;          /* user pointer to rocket_uapi_job[] */
    uint32_t job_count;
    uint32_t job_struct_size; /* array stride, >= 40 */
    uint64_t reserved;        /* must be 0 */
};

/* ---- generic DRM (drm.h) pieces we use; layouts are the stable DRM core ABI ---- */
struct rocket_uapi_drm_version {
    int version_major, version_minor, version_patchlevel;
    size_t name_len;
    char *name;
    size_t date_len;
    char *date;
    size_t desc_len;
    char *desc;
};
struct rocket_uapi_gem_close {
    uint32_t handle;
    uint32_t pad;
};

#define ROCKET_UAPI_DRM_IOCTL_TYPE   'd'
#define ROCKET_UAPI_DRM_COMMAND_BASE 0x40 /* driver ioctls start here (docs/hardware/rocket-uapi.md §2.1) */

#define ROCKET_UAPI_IOCTL_CREATE_BO                                                                                    \
    _IOWR(ROCKET_UAPI_DRM_IOCTL_TYPE, ROCKET_UAPI_DRM_COMMAND_BASE + 0x00, struct rocket_uapi_create_bo)
#define ROCKET_UAPI_IOCTL_SUBMIT                                                                                       \
    _IOW(ROCKET_UAPI_DRM_IOCTL_TYPE, ROCKET_UAPI_DRM_COMMAND_BASE + 0x01, struct rocket_uapi_submit)
#define ROCKET_UAPI_IOCTL_PREP_BO                                                                                      \
    _IOW(ROCKET_UAPI_DRM_IOCTL_TYPE, ROCKET_UAPI_DRM_COMMAND_BASE + 0x02, struct rocket_uapi_prep_bo)
#define ROCKET_UAPI_IOCTL_FINI_BO                                                                                      \
    _IOW(ROCKET_UAPI_DRM_IOCTL_TYPE, ROCKET_UAPI_DRM_COMMAND_BASE + 0x03, struct rocket_uapi_fini_bo)
#define ROCKET_UAPI_IOCTL_VERSION   _IOWR(ROCKET_UAPI_DRM_IOCTL_TYPE, 0x00, struct rocket_uapi_drm_version)
#define ROCKET_UAPI_IOCTL_GEM_CLOSE _IOW(ROCKET_UAPI_DRM_IOCTL_TYPE, 0x09, struct rocket_uapi_gem_close)

#define ROCKET_UAPI_DRIVER_NAME    "rocket" /* DRM_IOCTL_VERSION name (docs/hardware/rocket-uapi.md §3) */
#define ROCKET_UAPI_JOB_TIMEOUT_MS 500      /* per job, then core reset (docs/hardware/rocket-uapi.md §1.3) */

/* ---- compile-time proof against the reference table (docs/hardware/rocket-uapi.md §2.1/§2.2) ---- */
#define ROCKET_UAPI_CHECK_FIELD(S, f, off, sz)                                                                         \
    ROCKET_UAPI_STATIC_ASSERT(offsetof(struct S, f) == (off) && sizeof(((struct S *)0)->f) == (sz), #S "." #f)

ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_create_bo) == 24, "create_bo is 24 bytes");
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_create_bo, size, 0, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_create_bo, handle, 4, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_create_bo, dma_address, 8, 8);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_create_bo, offset, 16, 8);

ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_prep_bo) == 16, "prep_bo is 16 bytes");
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_prep_bo, handle, 0, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_prep_bo, reserved, 4, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_prep_bo, timeout_ns, 8, 8);

ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_fini_bo) == 8, "fini_bo is 8 bytes");
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_fini_bo, handle, 0, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_fini_bo, reserved, 4, 4);

ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_task) == 8, "task is 8 bytes");
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_task, regcmd, 0, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_task, regcmd_count, 4, 4);

ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_job) == 40, "job is 40 bytes");
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_job, tasks, 0, 8);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_job, in_bo_handles, 8, 8);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_job, out_bo_handles, 16, 8);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_job, task_count, 24, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_job, task_struct_size, 28, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_job, in_bo_handle_count, 32, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_job, out_bo_handle_count, 36, 4);

ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_submit) == 24, "submit is 24 bytes");
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_submit, jobs, 0, 8);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_submit, job_count, 8, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_submit, job_struct_size, 12, 4);
ROCKET_UAPI_CHECK_FIELD(rocket_uapi_submit, reserved, 16, 8);

ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_CREATE_BO == 0xC0186440u, "CREATE_BO ioctl number");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_SUBMIT == 0x40186441u, "SUBMIT ioctl number");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_PREP_BO == 0x40106442u, "PREP_BO ioctl number");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_FINI_BO == 0x40086443u, "FINI_BO ioctl number");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_GEM_CLOSE == 0x40086409u, "GEM_CLOSE ioctl number");
ROCKET_UAPI_STATIC_ASSERT(sizeof(void *) != 8 || ROCKET_UAPI_IOCTL_VERSION == 0xC0406400u,
                          "VERSION ioctl number (LP64)");

/* ---- agreement with the system header, when the installed kernel headers have it (6.18+) ---- */
#if defined(__has_include)
#if __has_include(<drm/rocket_accel.h>) && !defined(ROCKET_UAPI_NO_SYSTEM_HEADER)
#include <drm/rocket_accel.h>
#define ROCKET_UAPI_SYSTEM_HEADER 1
#define ROCKET_UAPI_SAME_FIELD(ours, sys, f)                                                                           \
    ROCKET_UAPI_STATIC_ASSERT(offsetof(struct ours, f) == offsetof(struct sys, f) &&                                   \
                                      sizeof(((struct ours *)0)->f) == sizeof(((struct sys *)0)->f),                   \
                              #sys "." #f " agrees")
ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_create_bo) == sizeof(struct drm_rocket_create_bo),
                          "create_bo size agrees");
ROCKET_UAPI_SAME_FIELD(rocket_uapi_create_bo, drm_rocket_create_bo, size);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_create_bo, drm_rocket_create_bo, handle);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_create_bo, drm_rocket_create_bo, dma_address);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_create_bo, drm_rocket_create_bo, offset);
ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_prep_bo) == sizeof(struct drm_rocket_prep_bo),
                          "prep_bo size agrees");
ROCKET_UAPI_SAME_FIELD(rocket_uapi_prep_bo, drm_rocket_prep_bo, handle);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_prep_bo, drm_rocket_prep_bo, reserved);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_prep_bo, drm_rocket_prep_bo, timeout_ns);
ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_fini_bo) == sizeof(struct drm_rocket_fini_bo),
                          "fini_bo size agrees");
ROCKET_UAPI_SAME_FIELD(rocket_uapi_fini_bo, drm_rocket_fini_bo, handle);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_fini_bo, drm_rocket_fini_bo, reserved);
ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_task) == sizeof(struct drm_rocket_task), "task size agrees");
ROCKET_UAPI_SAME_FIELD(rocket_uapi_task, drm_rocket_task, regcmd);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_task, drm_rocket_task, regcmd_count);
ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_job) == sizeof(struct drm_rocket_job), "job size agrees");
ROCKET_UAPI_SAME_FIELD(rocket_uapi_job, drm_rocket_job, tasks);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_job, drm_rocket_job, in_bo_handles);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_job, drm_rocket_job, out_bo_handles);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_job, drm_rocket_job, task_count);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_job, drm_rocket_job, task_struct_size);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_job, drm_rocket_job, in_bo_handle_count);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_job, drm_rocket_job, out_bo_handle_count);
ROCKET_UAPI_STATIC_ASSERT(sizeof(struct rocket_uapi_submit) == sizeof(struct drm_rocket_submit), "submit size agrees");
ROCKET_UAPI_SAME_FIELD(rocket_uapi_submit, drm_rocket_submit, jobs);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_submit, drm_rocket_submit, job_count);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_submit, drm_rocket_submit, job_struct_size);
ROCKET_UAPI_SAME_FIELD(rocket_uapi_submit, drm_rocket_submit, reserved);
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_CREATE_BO == DRM_IOCTL_ROCKET_CREATE_BO, "CREATE_BO number agrees");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_SUBMIT == DRM_IOCTL_ROCKET_SUBMIT, "SUBMIT number agrees");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_PREP_BO == DRM_IOCTL_ROCKET_PREP_BO, "PREP_BO number agrees");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_FINI_BO == DRM_IOCTL_ROCKET_FINI_BO, "FINI_BO number agrees");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_VERSION == DRM_IOCTL_VERSION, "VERSION number agrees");
ROCKET_UAPI_STATIC_ASSERT(ROCKET_UAPI_IOCTL_GEM_CLOSE == DRM_IOCTL_GEM_CLOSE, "GEM_CLOSE number agrees");
#endif
#endif
#ifndef ROCKET_UAPI_SYSTEM_HEADER
#define ROCKET_UAPI_SYSTEM_HEADER 0
#endif

#endif
