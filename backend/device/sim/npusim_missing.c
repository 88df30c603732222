/* Stand-in used only when the software NPU core (sim/core) is not part of the build: the sim device's
 * BO/IOVA/job machinery still works, every task fails with -ENOSYS and says why. */
#include "core/npusim.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct npusim_core {
    int index;
};

struct npusim_core *npusim_core_create(int index)
{
    struct npusim_core *c = calloc(1, sizeof *c);
    if (c) c->index = index;
    return c;
}
void npusim_core_destroy(struct npusim_core *core) { free(core); }
void npusim_core_set_strict(struct npusim_core *core, bool strict) { (void)core, (void)strict; }
int npusim_core_run_task(struct npusim_core *core, const struct npusim_mem *mem, uint32_t regcmd_iova,
                         uint32_t regcmd_count, struct npusim_task_stats *stats, char *err, size_t errlen)
{
    (void)core, (void)mem, (void)regcmd_iova, (void)regcmd_count, (void)stats;
    snprintf(err, errlen, "the software NPU core (backend/device/sim/core) is not built");
    return -ENOSYS;
}
