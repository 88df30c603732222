// The on-disk cache of converted NPU weights (rknpu-weight-cache.h).
#include "rknpu-weight-cache.h"

#include "ggml-impl.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#define CACHE_SUFFIX     ".npuw"
#define CACHE_KEY_SEED   0x726b6e7075ull // "rknpu": keys do not collide with other uses of rk_hash128
#define CACHE_EVICT_KEEP 0.9             // evict down to this share of the cap, so not every store scans

namespace {

struct cache_state {
    bool warned = false;  // a failed write was reported
    bool scanned = false; // `bytes` is known
    uint64_t bytes = 0;   // what the directory holds (ours only)
};

cache_state &state()
{
    static cache_state s; // used under dev.mutex
    return s;
}

int mkdir_p(const std::string &dir)
{
    for (size_t i = 1; i <= dir.size(); i++) {
        if (i == dir.size() || dir[i] == '/') {
            std::string part = dir.substr(0, i);
            if (mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) {
                return -errno;
            }
        }
    }
    return 0;
}

struct cache_file {
    std::string path;
    uint64_t bytes;
    struct timespec mtime;
};

std::vector<cache_file> list(const std::string &dir)
{
    std::vector<cache_file> files;
    DIR *d = opendir(dir.c_str());
    if (!d) {
        return files;
    }
    const size_t suffix = strlen(CACHE_SUFFIX);
    while (dirent *de = readdir(d)) {
        const size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n <= suffix || strcmp(de->d_name + n - suffix, CACHE_SUFFIX) != 0) {
            continue;
        }
        struct stat st;
        std::string path = dir + "/" + de->d_name;
        if (stat(path.c_str(), &st) == 0) {
            files.push_back({path, (uint64_t)st.st_size, st.st_mtim});
        }
    }
    closedir(d);
    return files;
}

// Remove the least recently used files until the cache is under the cap (to CACHE_EVICT_KEEP of it).
void evict(const rknpu_config &cfg, cache_state &s)
{
    std::vector<cache_file> files = list(cfg.weight_cache_dir);
    s.bytes = 0;
    for (const cache_file &f : files) {
        s.bytes += f.bytes;
    }
    s.scanned = true;
    if (s.bytes <= cfg.weight_cache_max) {
        return;
    }
    std::sort(files.begin(), files.end(), [](const cache_file &a, const cache_file &b) {
        return a.mtime.tv_sec != b.mtime.tv_sec ? a.mtime.tv_sec < b.mtime.tv_sec : a.mtime.tv_nsec < b.mtime.tv_nsec;
    });
    const uint64_t keep = (uint64_t)(cfg.weight_cache_max * CACHE_EVICT_KEEP);
    for (const cache_file &f : files) {
        if (s.bytes <= keep) {
            break;
        }
        if (unlink(f.path.c_str()) == 0) {
            s.bytes -= f.bytes;
            GGML_LOG_DEBUG("%s: weight cache over %" PRIu64 " bytes: removed %s\n", RKNPU_NAME, cfg.weight_cache_max,
                           f.path.c_str());
        }
    }
}

// The plugin binary's identity (size and mtime of the loaded libggml-rknpu.so): a rebuilt or upgraded plugin does
// not read entries an older one wrote, even if a change to the packing forgot to bump RK_WEIGHT_FORMAT_VERSION.
const std::string &build_identity()
{
    static const std::string id = [] {
        Dl_info info = {};
        struct stat st = {};
        if (dladdr((void *)&build_identity, &info) && info.dli_fname && stat(info.dli_fname, &st) == 0) {
            return std::to_string(st.st_size) + "@" + std::to_string(st.st_mtim.tv_sec) + "." +
                   std::to_string(st.st_mtim.tv_nsec);
        }
        return std::string("unknown");
    }();
    return id;
}

} // namespace

rknpu_cache_entry rknpu_weight_cache_entry(const rknpu_device_context &dev, const ggml_tensor *t, const void *data,
                                           size_t bytes, rk_gemm_mode mode)
{
    rknpu_cache_entry e;
    e.name = t->name;
    if (dev.config.weight_cache_dir.empty()) {
        return e;
    }
    uint64_t content[2];
    rk_hash128(data, bytes, CACHE_KEY_SEED, content);
    char env[256];
    npu_envelope_describe(&dev.envelope, env, sizeof env);
    char id[512];
    snprintf(id, sizeof id, "v%u|%s|%s|%" PRId64 "x%" PRId64 "|%s|%s|%016" PRIx64 "%016" PRIx64,
             RK_WEIGHT_FORMAT_VERSION, build_identity().c_str(), ggml_type_name(t->type), t->ne[0], t->ne[1],
             rk_gemm_mode_name(mode), env, content[0], content[1]);
    uint64_t key[2];
    rk_hash128(id, strlen(id), CACHE_KEY_SEED, key);
    char file[64];
    snprintf(file, sizeof file, "%016" PRIx64 "%016" PRIx64 CACHE_SUFFIX, key[0], key[1]);
    e.path = dev.config.weight_cache_dir + "/" + file;
    return e;
}

rk_weight *rknpu_weight_cache_load(rknpu_device_context &dev, const rknpu_cache_entry &entry, int64_t K, int64_t N,
                                   rk_gemm_mode mode)
{
    if (entry.path.empty()) {
        return nullptr;
    }
    const int fd = open(entry.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return nullptr; // a miss
    }
    rk_weight *w = nullptr;
    const int64_t t0 = npu_monotonic_ns();
    const int rc = rk_weight_read(dev.engine, fd, K, N, mode, &w);
    if (rc == 0) {
        futimens(fd, nullptr); // recently used (the eviction order)
        GGML_LOG_DEBUG("%s: %s: NPU copy read from the weight cache in %.1f ms\n", RKNPU_NAME, entry.name.c_str(),
                       (npu_monotonic_ns() - t0) / 1e6);
        dev.n_cache_hits++;
    } else if (rc == -ESTALE || rc == -EBADMSG) {
        GGML_LOG_WARN("%s: weight cache entry %s of %s unusable (%s): removed, converting again\n", RKNPU_NAME,
                      entry.path.c_str(), entry.name.c_str(), rk_gemm_last_error(dev.engine));
        unlink(entry.path.c_str());
    } else {
        GGML_LOG_WARN("%s: reading the weight cache entry of %s failed: %s\n", RKNPU_NAME, entry.name.c_str(),
                      rk_gemm_last_error(dev.engine));
    }
    close(fd);
    return w;
}

void rknpu_weight_cache_store(rknpu_device_context &dev, const rknpu_cache_entry &entry, const rk_weight *w)
{
    if (entry.path.empty()) {
        return;
    }
    cache_state &s = state();
    const rknpu_config &cfg = dev.config;
    std::string tmp = entry.path + ".tmp." + std::to_string(getpid());
    std::string why;
    int rc = mkdir_p(cfg.weight_cache_dir);
    int fd = rc ? -1 : open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (rc) {
        why = std::string("cannot create ") + cfg.weight_cache_dir + ": " + strerror(-rc);
    } else if (fd < 0) {
        why = tmp + ": " + strerror(errno);
    } else if ((rc = rk_weight_write(dev.engine, w, fd)) != 0) {
        why = rk_gemm_last_error(dev.engine);
    } else if (fsync(fd) != 0) {
        why = std::string("fsync: ") + strerror(errno);
    }
    struct stat st = {};
    if (fd >= 0) {
        fstat(fd, &st);
        close(fd);
    }
    if (why.empty() && rename(tmp.c_str(), entry.path.c_str()) != 0) {
        why = std::string("rename: ") + strerror(errno);
    }
    if (!why.empty()) {
        unlink(tmp.c_str());
        if (!s.warned) {
            s.warned = true;
            GGML_LOG_WARN("%s: the weight cache cannot be written (%s); weights are converted at every load\n",
                          RKNPU_NAME, why.c_str());
        }
        return;
    }
    dev.n_cache_stores++;
    GGML_LOG_DEBUG("%s: %s: NPU copy converted and cached\n", RKNPU_NAME, entry.name.c_str());
    if (!s.scanned) {
        evict(cfg, s); // counts the directory, this file included
    } else if ((s.bytes += (uint64_t)st.st_size) > cfg.weight_cache_max) {
        evict(cfg, s);
    }
}
