/* uAPI checks. The real proof is compile time: rocket_uapi.h static-asserts every size, offset and
 * ioctl number against the reference table (docs/hardware/rocket-uapi.md §2.1/§2.2) and, when <drm/rocket_accel.h> is
 * installed, against the system header. This program repeats the table at run time so the TAP log
 * shows what was checked. */
#include "rocket_uapi.h"
#include "tap.h"

#define FIELD(S, f, off, sz)                                                                                           \
    tap_ok(offsetof(struct S, f) == (off) && sizeof(((struct S *)0)->f) == (sz), #S "." #f " at %d, %d bytes", off, sz)

int main(void)
{
    tap_diag("system <drm/rocket_accel.h> %s", ROCKET_UAPI_SYSTEM_HEADER
                                                       ? "found: layouts and ioctl numbers proven equal at compile time"
                                                       : "not installed: checked against the reference table only");
    tap_is_int(sizeof(struct rocket_uapi_create_bo), 24, "create_bo is 24 bytes");
    FIELD(rocket_uapi_create_bo, size, 0, 4);
    FIELD(rocket_uapi_create_bo, handle, 4, 4);
    FIELD(rocket_uapi_create_bo, dma_address, 8, 8);
    FIELD(rocket_uapi_create_bo, offset, 16, 8);
    tap_is_int(sizeof(struct rocket_uapi_prep_bo), 16, "prep_bo is 16 bytes");
    FIELD(rocket_uapi_prep_bo, handle, 0, 4);
    FIELD(rocket_uapi_prep_bo, reserved, 4, 4);
    FIELD(rocket_uapi_prep_bo, timeout_ns, 8, 8);
    tap_is_int(sizeof(struct rocket_uapi_fini_bo), 8, "fini_bo is 8 bytes");
    FIELD(rocket_uapi_fini_bo, handle, 0, 4);
    FIELD(rocket_uapi_fini_bo, reserved, 4, 4);
    tap_is_int(sizeof(struct rocket_uapi_task), 8, "task is 8 bytes");
    FIELD(rocket_uapi_task, regcmd, 0, 4);
    FIELD(rocket_uapi_task, regcmd_count, 4, 4);
    tap_is_int(sizeof(struct rocket_uapi_job), 40, "job is 40 bytes");
    FIELD(rocket_uapi_job, tasks, 0, 8);
    FIELD(rocket_uapi_job, in_bo_handles, 8, 8);
    FIELD(rocket_uapi_job, out_bo_handles, 16, 8);
    FIELD(rocket_uapi_job, task_count, 24, 4);
    FIELD(rocket_uapi_job, task_struct_size, 28, 4);
    FIELD(rocket_uapi_job, in_bo_handle_count, 32, 4);
    FIELD(rocket_uapi_job, out_bo_handle_count, 36, 4);
    tap_is_int(sizeof(struct rocket_uapi_submit), 24, "submit is 24 bytes");
    FIELD(rocket_uapi_submit, jobs, 0, 8);
    FIELD(rocket_uapi_submit, job_count, 8, 4);
    FIELD(rocket_uapi_submit, job_struct_size, 12, 4);
    FIELD(rocket_uapi_submit, reserved, 16, 8);
    tap_ok(ROCKET_UAPI_IOCTL_CREATE_BO == 0xC0186440u, "DRM_IOCTL_ROCKET_CREATE_BO = 0x%08lx",
           (unsigned long)ROCKET_UAPI_IOCTL_CREATE_BO);
    tap_ok(ROCKET_UAPI_IOCTL_SUBMIT == 0x40186441u, "DRM_IOCTL_ROCKET_SUBMIT = 0x%08lx",
           (unsigned long)ROCKET_UAPI_IOCTL_SUBMIT);
    tap_ok(ROCKET_UAPI_IOCTL_PREP_BO == 0x40106442u, "DRM_IOCTL_ROCKET_PREP_BO = 0x%08lx",
           (unsigned long)ROCKET_UAPI_IOCTL_PREP_BO);
    tap_ok(ROCKET_UAPI_IOCTL_FINI_BO == 0x40086443u, "DRM_IOCTL_ROCKET_FINI_BO = 0x%08lx",
           (unsigned long)ROCKET_UAPI_IOCTL_FINI_BO);
    tap_ok(ROCKET_UAPI_IOCTL_GEM_CLOSE == 0x40086409u, "DRM_IOCTL_GEM_CLOSE = 0x%08lx",
           (unsigned long)ROCKET_UAPI_IOCTL_GEM_CLOSE);
    tap_ok(sizeof(void *) != 8 || ROCKET_UAPI_IOCTL_VERSION == 0xC0406400u, "DRM_IOCTL_VERSION = 0x%08lx",
           (unsigned long)ROCKET_UAPI_IOCTL_VERSION);
    tap_ok(ROCKET_UAPI_SYSTEM_HEADER == 0 || ROCKET_UAPI_SYSTEM_HEADER == 1, "system-header comparison compiled in: %s",
           ROCKET_UAPI_SYSTEM_HEADER ? "yes" : "no (header absent)");
    return tap_done();
}
