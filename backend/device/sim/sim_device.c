/* Simulated rocket device: the machine (3 cores + threads, shared by every sim fd of the process, so
 * register state persists across jobs and fds like on silicon, docs/hardware/registers.md §3.1), the files, fault
 * injection (what each fault does: npu_device.h, sim_job.c). */
#include "sim.h"
#include "../npu_timing.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t machine_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_machine *machine;

/* Fault injection: process-wide, survives machine restarts; guarded by machine_lock. */
static enum npu_sim_fault fault_kind;
static uint32_t fault_nth, fault_seen, fault_one_in;
static bool fault_env_read;
static _Atomic bool hold_cores;
/* Simulated silicon flaws (core/flaws.c): process-wide like the silicon they stand for; guarded by
 * machine_lock. A bad RKNPU_SIM_FLAW makes every sim open fail: a flaw asked for is never ignored. */
static struct npusim_flaws flaws;
static bool flaw_env_read;
static char flaw_env_error[320];

bool sim_held(void) { return hold_cores; }

int npu_sim_hold(bool hold)
{
    pthread_mutex_lock(&machine_lock);
    hold_cores = hold;
    if (machine) {
        pthread_mutex_lock(&machine->lock);
        pthread_cond_broadcast(&machine->cond);
        pthread_mutex_unlock(&machine->lock);
    }
    pthread_mutex_unlock(&machine_lock);
    return 0;
}

static const char *const fault_names[] = {[NPU_SIM_FAULT_NONE] = "none",
                                          [NPU_SIM_FAULT_RESET] = "reset",
                                          [NPU_SIM_FAULT_DROPPED] = "dropped",
                                          [NPU_SIM_FAULT_SLOW] = "slow",
                                          [NPU_SIM_FAULT_DMA] = "dma"};
/* Earlier names, from when the simulator reported these as errors the kernel never reports. */
static const struct {
    const char *name;
    enum npu_sim_fault fault;
} fault_aliases[] = {{"timeout", NPU_SIM_FAULT_RESET}, {"reject", NPU_SIM_FAULT_DROPPED}};

const char *npu_sim_fault_name(enum npu_sim_fault f) { return f <= NPU_SIM_FAULT_LAST ? fault_names[f] : "?"; }

static bool name_is(const char *name, const char *spec, size_t len)
{
    return strlen(name) == len && !strncmp(spec, name, len);
}

int npu_sim_fault_plan_parse(const char *spec, struct npu_sim_fault_plan *plan)
{
    if (!spec) return npu_fail(-EINVAL, "fault spec is NULL");
    const char *sep = strpbrk(spec, "@%");
    size_t len = sep ? (size_t)(sep - spec) : strlen(spec);
    *plan = (struct npu_sim_fault_plan){0};
    if (sep) {
        char *end;
        unsigned long v = strtoul(sep + 1, &end, 10);
        bool rate = *sep == '%';
        if (!isdigit((unsigned char)sep[1]) || *end || v < (rate ? 2ul : 1ul) || v > UINT32_MAX)
            return npu_fail(-EINVAL, "fault '%s': expected KIND, KIND@N with N >= 1 or KIND%%N with N >= 2", spec);
        *(rate ? &plan->one_in : &plan->nth) = (uint32_t)v;
    }
    for (int f = NPU_SIM_FAULT_NONE; f <= NPU_SIM_FAULT_LAST; f++)
        if (name_is(fault_names[f], spec, len)) {
            plan->fault = f;
            return 0;
        }
    for (size_t i = 0; i < sizeof fault_aliases / sizeof fault_aliases[0]; i++)
        if (name_is(fault_aliases[i].name, spec, len)) {
            plan->fault = fault_aliases[i].fault;
            return 0;
        }
    return npu_fail(-EINVAL, "unknown fault '%s' (expected reset, dropped, slow, dma or none, optionally @N or %%N)",
                    spec);
}

int npu_sim_set_flaws(const char *spec)
{
    struct npusim_flaws f;
    char err[256];
    if (npusim_flaws_parse(spec, &f, err, sizeof err)) return npu_fail(-EINVAL, "%s", err);
    pthread_mutex_lock(&machine_lock);
    flaws = f;
    flaw_env_read = true; /* an explicit call wins over RKNPU_SIM_FLAW */
    flaw_env_error[0] = 0;
    pthread_mutex_unlock(&machine_lock);
    return 0;
}

static void read_flaw_env_locked(void)
{
    if (flaw_env_read) return;
    flaw_env_read = true;
    const char *v = getenv("RKNPU_SIM_FLAW");
    char err[256];
    if (v && npusim_flaws_parse(v, &flaws, err, sizeof err))
        snprintf(flaw_env_error, sizeof flaw_env_error, "RKNPU_SIM_FLAW='%s': %s", v, err);
}

void sim_flaws_current(struct npusim_flaws *out)
{
    pthread_mutex_lock(&machine_lock);
    *out = flaws;
    pthread_mutex_unlock(&machine_lock);
}

int npu_sim_fault_parse(const char *spec, enum npu_sim_fault *fault, uint32_t *nth)
{
    struct npu_sim_fault_plan plan;
    int rc = npu_sim_fault_plan_parse(spec, &plan);
    if (rc) return rc;
    if (plan.one_in) return npu_fail(-EINVAL, "fault '%s': a rate needs npu_sim_fault_plan_parse", spec);
    *fault = plan.fault, *nth = plan.nth;
    return 0;
}

int npu_sim_inject_fault_plan(const struct npu_sim_fault_plan *plan)
{
    if (plan->fault > NPU_SIM_FAULT_LAST) return npu_fail(-EINVAL, "unknown fault %d", (int)plan->fault);
    if (plan->nth && plan->one_in) return npu_fail(-EINVAL, "a fault plan has either nth or one_in");
    pthread_mutex_lock(&machine_lock);
    fault_kind = plan->fault;
    fault_nth = plan->nth;
    fault_one_in = plan->one_in;
    fault_seen = 0;
    fault_env_read = true; /* an explicit call wins over RKNPU_SIM_FAULT */
    pthread_mutex_unlock(&machine_lock);
    return 0;
}

int npu_sim_inject_fault(enum npu_sim_fault fault, uint32_t nth)
{
    return npu_sim_inject_fault_plan(&(struct npu_sim_fault_plan){.fault = fault, .nth = nth});
}

/* Whether job number `seen` (1, 2, ...) of a KIND%N plan faults: a fixed hash of the number, so the same jobs
 * fault in every run with the same submission order. */
#define FAULT_RATE_SEED 0x5EEDFA17u
static bool rate_strikes(uint32_t seen, uint32_t one_in)
{
    uint64_t z = ((uint64_t)FAULT_RATE_SEED << 32 | seen) * 0x9e3779b97f4a7c15ull; /* splitmix64's finaliser */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (z ^ (z >> 31)) % one_in == 0;
}

static void read_fault_env_locked(void)
{
    if (fault_env_read) return;
    fault_env_read = true;
    const char *v = getenv("RKNPU_SIM_FAULT");
    struct npu_sim_fault_plan plan;
    if (!v || !*v) return;
    if (npu_sim_fault_plan_parse(v, &plan)) {
        fprintf(stderr, "npu sim: ignoring RKNPU_SIM_FAULT=%s: %s\n", v, npu_last_error());
        return;
    }
    fault_kind = plan.fault;
    fault_nth = plan.nth;
    fault_one_in = plan.one_in;
    fault_seen = 0;
}

enum npu_sim_fault sim_fault_for_next_job(void)
{
    pthread_mutex_lock(&machine_lock);
    enum npu_sim_fault f = NPU_SIM_FAULT_NONE;
    if (fault_kind != NPU_SIM_FAULT_NONE) {
        fault_seen++;
        if (fault_one_in ? rate_strikes(fault_seen, fault_one_in) : !fault_nth || fault_seen == fault_nth)
            f = fault_kind;
    }
    pthread_mutex_unlock(&machine_lock);
    return f;
}

void sim_sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000), .tv_nsec = (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) && errno == EINTR) {}
}

int sim_cond_wait_until(struct sim_machine *m, int64_t deadline_ns)
{
    if (deadline_ns == INT64_MAX) return pthread_cond_wait(&m->cond, &m->lock);
    if (npu_monotonic_ns() >= deadline_ns) return ETIMEDOUT;
    struct timespec ts = {.tv_sec = deadline_ns / 1000000000, .tv_nsec = deadline_ns % 1000000000};
    return pthread_cond_timedwait(&m->cond, &m->lock, &ts);
}

struct sim_machine *sim_machine_get(void)
{
    pthread_mutex_lock(&machine_lock);
    read_fault_env_locked();
    read_flaw_env_locked();
    if (machine) {
        machine->refs++;
        pthread_mutex_unlock(&machine_lock);
        return machine;
    }
    struct sim_machine *m = calloc(1, sizeof *m);
    if (!m) goto fail;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->cond, &ca);
    pthread_condattr_destroy(&ca);
    m->refs = 1;
    m->next_seq = 1;
    int started = 0;
    for (; started < NPU_CORES; started++) {
        struct sim_core *c = &m->cores[started];
        c->m = m;
        c->index = started;
        c->hw = npusim_core_create(started);
        if (!c->hw || pthread_create(&c->thread, NULL, sim_core_thread, c)) {
            if (c->hw) npusim_core_destroy(c->hw);
            break;
        }
    }
    if (started < NPU_CORES) {
        pthread_mutex_lock(&m->lock);
        m->quit = true;
        pthread_cond_broadcast(&m->cond);
        pthread_mutex_unlock(&m->lock);
        for (int i = 0; i < started; i++) {
            pthread_join(m->cores[i].thread, NULL);
            npusim_core_destroy(m->cores[i].hw);
        }
        free(m);
        goto fail;
    }
    machine = m;
    pthread_mutex_unlock(&machine_lock);
    return m;
fail:
    pthread_mutex_unlock(&machine_lock);
    return NULL;
}

void sim_machine_put(struct sim_machine *m)
{
    pthread_mutex_lock(&machine_lock);
    if (--m->refs) {
        pthread_mutex_unlock(&machine_lock);
        return;
    }
    machine = NULL;
    pthread_mutex_unlock(&machine_lock);
    pthread_mutex_lock(&m->lock);
    m->quit = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < NPU_CORES; i++) {
        pthread_join(m->cores[i].thread, NULL);
        npusim_core_destroy(m->cores[i].hw);
    }
    pthread_cond_destroy(&m->cond);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static void sim_close(struct npu_device *dev)
{
    struct sim_file *f = dev->impl;
    struct sim_machine *m = f->m;
    /* Like closing the fd: the entity drains (the kernel waits for its jobs before teardown). */
    pthread_mutex_lock(&m->lock);
    while (f->pending) pthread_cond_wait(&m->cond, &m->lock);
    pthread_mutex_unlock(&m->lock);
    /* BOs still referenced by finished jobs' last_writer links are gone with their handles; any left
     * in the table belong to nobody now. */
    pthread_rwlock_wrlock(&f->mem_lock);
    size_t left = f->bo_count;
    pthread_rwlock_unlock(&f->mem_lock);
    if (left) fprintf(stderr, "npu sim: %zu BO(s) still mapped at close\n", left);
    pthread_rwlock_destroy(&f->mem_lock);
    free(f->bos);
    free(f);
    dev->impl = NULL;
    sim_machine_put(m);
}

static const struct npu_device_ops sim_ops = {
        .bo_create = sim_bo_create,
        .bo_prep = sim_bo_prep,
        .bo_busy = sim_bo_busy,
        .bo_fini = sim_bo_fini,
        .bo_close = sim_bo_close,
        .submit = sim_job_submit,
        .fence_wait = sim_fence_wait,
        .fence_free = sim_fence_free,
        .close = sim_close,
        .job_time_ns = sim_job_time_ns,
};

/* The simulated IOVA space: the option, else RKNPU_SIM_IOVA_SPACE (a test knob: bytes with an optional K, M or G
 * suffix), else the 4 GiB aperture of rocket. 0 or -EINVAL with the reason. */
static int sim_iova_space(const struct npu_open_options *opt, uint64_t *out)
{
    uint64_t v = opt->sim_iova_space;
    const char *env = getenv("RKNPU_SIM_IOVA_SPACE");
    if (!v && env && *env) {
        char *end = NULL;
        errno = 0;
        unsigned long long x = strtoull(env, &end, 10);
        unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
        if (shift) end++;
        if (errno || end == env || *end || *env < '0' || *env > '9' || x > (NPU_IOVA_SPACE >> shift))
            return npu_fail(-EINVAL, "invalid RKNPU_SIM_IOVA_SPACE='%s' (bytes, optional K/M/G suffix)", env);
        v = (uint64_t)x << shift;
    }
    if (!v) v = NPU_IOVA_SPACE;
    if (v < NPU_SIM_IOVA_SPACE_MIN || v > NPU_IOVA_SPACE || v % SIM_PAGE)
        return npu_fail(-EINVAL, "simulated IOVA space of %llu bytes: outside %llu..%llu or not a page multiple",
                        (unsigned long long)v, NPU_SIM_IOVA_SPACE_MIN, (unsigned long long)NPU_IOVA_SPACE);
    *out = v;
    return 0;
}

int sim_device_open(const struct npu_open_options *opt, struct npu_device *dev)
{
    uint64_t iova_space = 0;
    int err = sim_iova_space(opt, &iova_space);
    if (err) return err;
    if (opt->sim_sched > NPU_SIM_SCHED_SPREAD)
        return npu_fail(-EINVAL, "unknown sim scheduling policy %d", opt->sim_sched);
    pthread_mutex_lock(&machine_lock);
    read_flaw_env_locked();
    char flaw_error[sizeof flaw_env_error];
    snprintf(flaw_error, sizeof flaw_error, "%s", flaw_env_error);
    pthread_mutex_unlock(&machine_lock);
    if (flaw_error[0]) return npu_fail(-EINVAL, "%s", flaw_error);
    struct sim_file *f = calloc(1, sizeof *f);
    if (!f) return npu_fail(-ENOMEM, "out of memory");
    f->m = sim_machine_get();
    if (!f->m) {
        free(f);
        return npu_fail(-ENOMEM, "cannot start the simulated NPU cores");
    }
    pthread_rwlock_init(&f->mem_lock, NULL);
    f->dev = dev;
    f->core = -1;
    /* strict by default: stale registers bite on silicon (docs/hardware/registers.md §3.1, §3.2) */
    f->strict = !opt->sim_lenient;
    f->sched = opt->sim_sched;
    f->has_envelope = opt->envelope != NULL;
    if (opt->envelope) f->envelope = *opt->envelope;
    f->clock_mhz = opt->model_clock_mhz;
    f->job_timeout_ns = opt->sim_job_timeout_us ? opt->sim_job_timeout_us * 1000ull : npu_model_job_timeout_ns();
    f->iova_space = iova_space;
    dev->impl = f;
    dev->ops = &sim_ops;
    struct npu_device_info *i = &dev->info;
    i->kind = NPU_DEVICE_SIM;
    i->is_simulator = true;
    snprintf(i->driver, sizeof i->driver, "npusim");
    snprintf(i->desc, sizeof i->desc, "register-level software RK3588 NPU");
    i->version_major = 1;
    snprintf(i->node, sizeof i->node, "(simulator, no device node)");
    i->cores = NPU_CORES;
    snprintf(i->cores_source, sizeof i->cores_source, "simulated RK3588");
    i->job_timeout_ms = (uint32_t)((f->job_timeout_ns + 999999) / 1000000);
    i->iova_space = iova_space;
    dev->job_timeout_ns = f->job_timeout_ns;
    dev->jobs_in_order = f->sched == NPU_SIM_SCHED_STICKY; /* SPREAD runs a file's jobs on any idle core */
    /* what a core thread waits before a job (sim_job.c): the shortest, so the optimistic bound */
    dev->sched_latency_min_ns = npu_model_job_overhead_ns(NPU_MODEL_OPTIMISTIC);
    return 0;
}
