// The NPU memory budget (rknpu-budget.h).
#include "rknpu-budget.h"

#include "ggml-impl.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unistd.h>

#define RKNPU_NO_LAYER INT32_MAX // weights outside "blk.N." sort after every layer

namespace {

struct entry {
    std::string name;
    int32_t layer = RKNPU_NO_LAYER;
    uint64_t bytes = 0;   // its NPU copy (all experts of a stack)
    bool decided = false; // fixed once decided
    bool admitted = false;
};

struct budget_state {
    std::mutex mutex;
    std::map<const void *, entry> weights; // by tensor->data
    uint64_t admitted_bytes = 0;
};

budget_state &state()
{
    static budget_state s;
    return s;
}

int32_t layer_of(const char *name)
{
    int layer = -1, n = 0;
    if (sscanf(name, "blk.%d.%n", &layer, &n) == 1 && n > 0 && layer >= 0) {
        return layer;
    }
    return RKNPU_NO_LAYER;
}

uint64_t npu_bytes(const rknpu_device_context &dev, const ggml_tensor *t)
{
    uint64_t bytes = 0;
    if (rk_gemm_weight_bytes(t->ne[0], t->ne[1], rknpu_weight_mode(dev, t->type), 0, &dev.envelope, &bytes) != 0) {
        return 0; // never converted: the engine declines the shape
    }
    return bytes * (uint64_t)t->ne[2];
}

std::string human(uint64_t bytes)
{
    char s[32];
    if (bytes >= (1ull << 30)) {
        snprintf(s, sizeof s, "%.1f GiB", bytes / (double)(1ull << 30));
    } else {
        snprintf(s, sizeof s, "%.1f MiB", bytes / (double)(1ull << 20));
    }
    return s;
}

// "layers 0–17" / "layer 3" / "" from a sorted list of layer numbers (contiguous by construction), plus the
// names of the other weights.
std::string describe(const std::vector<int32_t> &layers, const std::vector<std::string> &others)
{
    std::string s;
    if (!layers.empty()) {
        s = layers.size() == 1 ? "layer " + std::to_string(layers[0])
                               : "layers " + std::to_string(layers.front()) + "\u2013" + std::to_string(layers.back());
    }
    for (size_t i = 0; i < others.size(); i++) {
        s += (s.empty() ? "" : i + 1 == others.size() ? " and " : ", ") + others[i];
    }
    return s;
}

std::string short_name(const std::string &name)
{
    const std::string suffix = ".weight";
    if (name.size() > suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0) {
        return name.substr(0, name.size() - suffix.size());
    }
    return name;
}

// Decide every undecided weight at once: whole layers in order while they fit, then the rest. Logs the line.
void decide_all(budget_state &s, uint64_t budget)
{
    std::map<int32_t, std::vector<entry *>> by_layer; // ascending, RKNPU_NO_LAYER last
    for (auto &it : s.weights) {
        if (!it.second.decided) {
            by_layer[it.second.layer].push_back(&it.second);
        }
    }
    if (by_layer.empty()) {
        return;
    }
    bool full = false;
    std::vector<int32_t> on_layers, off_layers;
    std::vector<std::string> on_other, off_other;
    for (auto &it : by_layer) {
        const bool is_layer = it.first != RKNPU_NO_LAYER;
        // weights outside the layers are weighed one by one (each is a node of its own)
        std::vector<std::vector<entry *>> units;
        if (is_layer) {
            units.push_back(it.second);
        } else {
            for (entry *e : it.second) {
                units.push_back({e});
            }
        }
        for (auto &unit : units) {
            uint64_t cost = 0;
            for (entry *e : unit) {
                cost += e->bytes;
            }
            const bool fits = !full && s.admitted_bytes + cost <= budget;
            full = full || !fits;
            for (entry *e : unit) {
                e->decided = true;
                e->admitted = fits;
            }
            if (fits) {
                s.admitted_bytes += cost;
            }
            if (is_layer) {
                (fits ? on_layers : off_layers).push_back(it.first);
            } else {
                (fits ? on_other : off_other).push_back(short_name(unit[0]->name));
            }
        }
    }
    std::string on = describe(on_layers, on_other), off = describe(off_layers, off_other);
    GGML_LOG_WARN("%s: NPU copies for %s (%s of %s budget)%s%s%s\n", RKNPU_NAME, on.empty() ? "no weights" : on.c_str(),
                  human(s.admitted_bytes).c_str(), human(budget).c_str(), off.empty() ? "" : "; ", off.c_str(),
                  off.empty() ? "" : " run on the CPU");
}

} // namespace

void rknpu_budget_register(const rknpu_device_context &dev, const ggml_tensor *t)
{
    if (!dev.config.max_mem || !t->data) {
        return;
    }
    budget_state &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    entry &e = s.weights[t->data];
    if (e.decided && e.admitted) {
        s.admitted_bytes -= e.bytes; // a new tensor at a reused address
    }
    e = entry{};
    e.name = t->name;
    e.layer = layer_of(t->name);
    e.bytes = npu_bytes(dev, t);
}

void rknpu_budget_forget(const void *base, size_t size)
{
    budget_state &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.weights.lower_bound(base);
    while (it != s.weights.end() && (const char *)it->first < (const char *)base + size) {
        if (it->second.decided && it->second.admitted) {
            s.admitted_bytes -= it->second.bytes;
        }
        it = s.weights.erase(it);
    }
}

bool rknpu_budget_admits(const rknpu_device_context &dev, const ggml_tensor *t)
{
    const uint64_t budget = dev.config.max_mem;
    if (!budget) {
        return true;
    }
    budget_state &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.weights.find(t->data);
    if (it == s.weights.end()) {
        return s.admitted_bytes + npu_bytes(dev, t) <= budget; // not registered: a probe or a test's tensor
    }
    if (!it->second.decided) {
        decide_all(s, budget);
    }
    return it->second.admitted;
}

// MemTotal and MemAvailable of /proc/meminfo (MemAvailable: what can be allocated without swapping), else the
// physical pages sysconf knows.
static void host_memory(size_t *free, size_t *total)
{
    *free = *total = 0;
    if (FILE *f = fopen("/proc/meminfo", "r")) {
        char line[128];
        unsigned long long kib;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, "MemTotal: %llu kB", &kib) == 1) {
                *total = (size_t)kib * 1024;
            } else if (sscanf(line, "MemAvailable: %llu kB", &kib) == 1) {
                *free = (size_t)kib * 1024;
            }
        }
        fclose(f);
    }
    if (!*total) {
        const long page = sysconf(_SC_PAGESIZE);
        *total = (size_t)sysconf(_SC_PHYS_PAGES) * (size_t)page;
        *free = (size_t)sysconf(_SC_AVPHYS_PAGES) * (size_t)page;
    }
}

void rknpu_budget_memory(const rknpu_device_context &dev, size_t *free, size_t *total)
{
    host_memory(free, total);
    const uint64_t budget = dev.config.max_mem;
    if (!budget) {
        return;
    }
    budget_state &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    const uint64_t left = budget - std::min(budget, s.admitted_bytes);
    *total = (size_t)std::min<uint64_t>(*total, budget);
    *free = (size_t)std::min<uint64_t>(*free, left);
}
