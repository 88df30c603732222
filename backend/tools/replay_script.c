/* npu-replay's script parser (replay_script.h). Every number must parse whole and fit 32 bits, every
 * file must be a regular file of at most one BO: a typo is an error naming its line, never a zero. */
#include "replay_script.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#define LINE_MAX_CHARS 4096
#define WORD_CHARS     16
#define PATH_CHARS     1024
#define NUMBER_CHARS   64

static int fail(int rc, char *err, size_t errlen, int line, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(int rc, char *err, size_t errlen, int line, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "%d: ", line);
        va_list ap;
        va_start(ap, fmt);
        if (n >= 0 && (size_t)n < errlen) vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return rc;
}

/* A whole decimal or 0x-hex number that fits 32 bits. */
static bool parse_u32(const char *s, uint32_t *v)
{
    if (!s[0] || s[0] == '-' || s[0] == '+') return false;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 0);
    if (errno || *end || x > UINT32_MAX) return false;
    *v = (uint32_t)x;
    return true;
}

/* A regular file of 1..REPLAY_FILE_BYTES_MAX bytes, read whole. */
static int read_file(const char *path, uint8_t **data, uint32_t *len, char *why, size_t whylen)
{
    FILE *f = fopen(path, "rb");
    struct stat st;
    *data = NULL;
    if (!f) return snprintf(why, whylen, "%s", strerror(errno)), -errno;
    int rc = 0;
    if (fstat(fileno(f), &st))
        rc = -errno, snprintf(why, whylen, "%s", strerror(errno));
    else if (!S_ISREG(st.st_mode))
        rc = -EINVAL, snprintf(why, whylen, "not a regular file");
    else if (st.st_size <= 0 || (unsigned long long)st.st_size > REPLAY_FILE_BYTES_MAX)
        rc = -EINVAL,
        snprintf(why, whylen, "%lld bytes: a segment holds 1..%u", (long long)st.st_size, REPLAY_FILE_BYTES_MAX);
    else if (!(*data = malloc((size_t)st.st_size)))
        rc = -ENOMEM, snprintf(why, whylen, "out of memory for %lld bytes", (long long)st.st_size);
    else if (fread(*data, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        rc = -EIO, snprintf(why, whylen, "short read");
    fclose(f);
    if (rc) {
        free(*data);
        *data = NULL;
    } else {
        *len = (uint32_t)st.st_size;
    }
    return rc;
}

static int add_task(struct replay_script *s, uint32_t iova, uint32_t count)
{
    if (s->ntasks == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 16;
        struct replay_task *t = realloc(s->tasks, cap * sizeof *t);
        if (!t) return -ENOMEM;
        s->tasks = t, s->cap = cap;
    }
    s->tasks[s->ntasks++] = (struct replay_task){iova, count};
    return 0;
}

/* One directive (words[0..n)); 0 or a negative errno with the reason in why. */
static int directive(struct replay_script *s, const char *dir, char words[][PATH_CHARS], int n, char *why,
                     size_t whylen)
{
    const char *w = words[0];
    uint32_t a = 0, b = 0;
    if (!strcmp(w, "image") && n == 2) {
        char path[PATH_CHARS + PATH_CHARS + 2];
        snprintf(path, sizeof path, "%s%s%s", words[1][0] == '/' ? "" : dir, words[1][0] == '/' ? "" : "/", words[1]);
        return npu_image_load(&s->img, path, why, whylen);
    }
    if ((!strcmp(w, "regcmd") || !strcmp(w, "segment")) && n == 3) {
        if (!parse_u32(words[2], &a))
            return snprintf(why, whylen, "IOVA '%s' is not a 32-bit number", words[2]), -EINVAL;
        char path[PATH_CHARS + PATH_CHARS + 2], reason[128];
        snprintf(path, sizeof path, "%s%s%s", words[1][0] == '/' ? "" : dir, words[1][0] == '/' ? "" : "/", words[1]);
        uint8_t *data;
        uint32_t len = 0;
        int rc = read_file(path, &data, &len, reason, sizeof reason);
        if (rc) return snprintf(why, whylen, "%s: %s", path, reason), rc;
        rc = npu_image_add(&s->img, a, len, data, why, whylen);
        free(data);
        return rc;
    }
    if (!strcmp(w, "zero") && n == 3) {
        if (!parse_u32(words[1], &a) || !parse_u32(words[2], &b))
            return snprintf(why, whylen, "zero IOVA BYTES: '%s %s' are not 32-bit numbers", words[1], words[2]),
                   -EINVAL;
        return npu_image_add(&s->img, a, b, NULL, why, whylen);
    }
    if (!strcmp(w, "task") && (n == 2 || n == 3)) {
        if (!parse_u32(words[1], &a) || (n == 3 && !parse_u32(words[2], &b)))
            return snprintf(why, whylen, "task IOVA [COUNT]: not 32-bit numbers"), -EINVAL;
        if (add_task(s, a, b)) return snprintf(why, whylen, "out of memory"), -ENOMEM;
        return 0;
    }
    return snprintf(why, whylen, "unknown or incomplete directive '%s' (%d words)", w, n), -EINVAL;
}

int replay_script_parse(FILE *f, const char *dir, struct replay_script *s, char *err, size_t errlen, int *lineno)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0, no = 0;
    while (!rc && (len = getline(&line, &cap, f)) >= 0) {
        no++;
        if (len > LINE_MAX_CHARS) {
            rc = fail(-EINVAL, err, errlen, no, "line longer than %d characters", LINE_MAX_CHARS);
            break;
        }
        if (memchr(line, 0, (size_t)len)) {
            rc = fail(-EINVAL, err, errlen, no, "a NUL byte in the line: not a text file");
            break;
        }
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char words[4][PATH_CHARS];
        int n = 0;
        for (char *p = line, *save = NULL, *tok; (tok = strtok_r(p, " \t\r\n", &save)); p = NULL) {
            if (n == 4 || strlen(tok) >= (n ? PATH_CHARS : WORD_CHARS)) {
                n = -1;
                break;
            }
            snprintf(words[n++], sizeof words[0], "%s", tok);
        }
        if (!n) continue;
        if (n < 0) {
            rc = fail(-EINVAL, err, errlen, no, "too many or too long words (a directive has at most 3 arguments)");
            break;
        }
        char why[4 * PATH_CHARS + 512] = ""; /* a message quoting a path of two PATH_CHARS parts */
        if ((rc = directive(s, dir, words, n, why, sizeof why))) fail(rc, err, errlen, no, "%s", why);
    }
    free(line);
    if (!rc && ferror(f)) rc = fail(-EIO, err, errlen, no, "read error");
    if (lineno) *lineno = no;
    return rc;
}

int replay_script_load(const char *path, struct replay_script *s, char *err, size_t errlen, int *lineno)
{
    if (lineno) *lineno = 0;
    FILE *f = fopen(path, "r");
    if (!f) return snprintf(err, errlen, "0: %s", strerror(errno)), -errno;
    char dir[PATH_CHARS] = ".";
    const char *slash = strrchr(path, '/');
    if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int rc = replay_script_parse(f, dir, s, err, errlen, lineno);
    fclose(f);
    return rc;
}

uint32_t replay_task_count(const struct replay_script *s, uint32_t t)
{
    const struct replay_task *task = &s->tasks[t];
    if (task->count) return task->count;
    for (uint32_t i = 0; i < s->img.count; i++) {
        const struct npu_image_segment *seg = &s->img.seg[i];
        if (task->iova >= seg->iova && task->iova - seg->iova < seg->length)
            return (seg->length - (task->iova - seg->iova)) / 8;
    }
    return 0;
}

void replay_script_free(struct replay_script *s)
{
    npu_image_free(&s->img);
    free(s->tasks);
    *s = (struct replay_script){0};
}
