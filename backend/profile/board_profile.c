// SPDX-License-Identifier: MIT
/*
 * The board profile parser (board_profile.h): a strict RFC 8259 reader into a small tree of nodes, then
 * the profile's schema on that tree. Everything is bounded (input size, nodes, nesting), nothing is
 * trusted, and every error says where (line and column, or the key) and what was expected.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_profile.h"

#define MAX_NODES 1024 /* a profile has about 40 values; the "ladder" member may add some */

enum jtype {
    J_NULL,
    J_FALSE,
    J_TRUE,
    J_NUM,
    J_STR,
    J_ARR,
    J_OBJ
};

struct jnode {
    enum jtype type;
    size_t pos;            /* offset of the value in the text, for messages */
    double num;            /* J_NUM */
    size_t str, slen;      /* J_STR: decoded bytes in the arena */
    size_t key, klen;      /* members of an object: the decoded key */
    int first, last, next; /* children (J_ARR, J_OBJ) and siblings; -1 = none */
};

struct jparser {
    const char *s;
    size_t n, i;
    struct jnode *nodes;
    int count;
    char *arena; /* decoded strings; never longer than the text */
    size_t used;
    char *err;
    size_t errlen;
    int failed;
};

static int fail_at(struct jparser *p, size_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(struct jparser *p, size_t pos, const char *fmt, ...)
{
    if (p->failed) return -EINVAL;
    p->failed = 1;
    unsigned line = 1, col = 1;
    for (size_t k = 0; k < pos && k < p->n; k++) p->s[k] == '\n' ? (line++, col = 1) : col++;
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (p->err && p->errlen) snprintf(p->err, p->errlen, "line %u, column %u: %s", line, col, what);
    return -EINVAL;
}

static void skip_ws(struct jparser *p)
{
    while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r')) p->i++;
}

static int new_node(struct jparser *p, enum jtype type)
{
    if (p->count >= MAX_NODES) return fail_at(p, p->i, "more than %d values", MAX_NODES), -1;
    struct jnode *n = &p->nodes[p->count];
    *n = (struct jnode){.type = type, .pos = p->i, .first = -1, .last = -1, .next = -1};
    return p->count++;
}

static void add_child(struct jparser *p, int parent, int child)
{
    struct jnode *n = &p->nodes[parent];
    if (n->last < 0)
        n->first = child;
    else
        p->nodes[n->last].next = child;
    n->last = child;
}

static int hex4(struct jparser *p, unsigned *out)
{
    if (p->n - p->i < 4) return fail_at(p, p->i, "a \\u escape needs four hex digits");
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p->s[p->i++];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return fail_at(p, p->i - 1, "'%c' is not a hex digit", c);
        v = v * 16 + (unsigned)d;
    }
    *out = v;
    return 0;
}

static void put_utf8(struct jparser *p, unsigned cp)
{
    char *o = p->arena + p->used;
    if (cp < 0x80)
        o[0] = (char)cp, p->used += 1;
    else if (cp < 0x800)
        o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), p->used += 2;
    else if (cp < 0x10000)
        o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[2] = (char)(0x80 | (cp & 0x3f)),
        p->used += 3;
    else
        o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f)),
        o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f)), p->used += 4;
}

/* Length of one valid UTF-8 sequence at s[i] (shortest form, no surrogates), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t avail)
{
    unsigned c = s[0], n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
    if (!n || n > avail) return 0;
    unsigned cp = c & (0xff >> (n + 1));
    for (unsigned k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[k] & 0x3f);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

/* A string at p->i (the opening quote), decoded into the arena. */
static int parse_string(struct jparser *p, size_t *start, size_t *len)
{
    size_t open = p->i++;
    *start = p->used;
    for (;;) {
        if (p->i >= p->n) return fail_at(p, open, "a string that never ends");
        unsigned char c = (unsigned char)p->s[p->i];
        if (c == '"') break;
        if (c < 0x20) return fail_at(p, p->i, "a control character (0x%02x) inside a string", c);
        if (c >= 0x80) {
            size_t l = utf8_len((const unsigned char *)p->s + p->i, p->n - p->i);
            if (!l) return fail_at(p, p->i, "invalid UTF-8 inside a string");
            memcpy(p->arena + p->used, p->s + p->i, l);
            p->used += l, p->i += l;
            continue;
        }
        p->i++;
        if (c != '\\') {
            p->arena[p->used++] = (char)c;
            continue;
        }
        if (p->i >= p->n) return fail_at(p, open, "a string that never ends");
        char e = p->s[p->i++];
        const char *from = "\"\\/bfnrt", *to = "\"\\/\b\f\n\r\t", *at = e ? strchr(from, e) : NULL;
        if (at) {
            p->arena[p->used++] = to[at - from];
            continue;
        }
        if (e != 'u') return fail_at(p, p->i - 1, "unknown escape '\\%c'", e);
        unsigned cp, lo;
        if (hex4(p, &cp)) return -EINVAL;
        if (cp >= 0xdc00 && cp < 0xe000) return fail_at(p, p->i - 6, "a lone low surrogate \\u%04x", cp);
        if (cp >= 0xd800 && cp < 0xdc00) {
            if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                return fail_at(p, p->i - 6, "a high surrogate \\u%04x without its low half", cp);
            p->i += 2;
            if (hex4(p, &lo)) return -EINVAL;
            if (lo < 0xdc00 || lo >= 0xe000) return fail_at(p, p->i - 6, "\\u%04x is not a low surrogate", lo);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        }
        if (!cp) return fail_at(p, p->i - 6, "\\u0000 inside a string");
        put_utf8(p, cp);
    }
    p->i++;
    *len = p->used - *start;
    p->arena[p->used++] = 0; /* strings are NUL-terminated in the arena; the 6-byte escapes leave room */
    return 0;
}

static int digits(struct jparser *p, double *v, int *count)
{
    *count = 0;
    while (p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        if (v) *v = *v * 10 + (p->s[p->i] - '0');
        p->i++, (*count)++;
    }
    return *count;
}

/* RFC 8259 number, read without strtod (the plugin runs in processes whose locale is not ours). */
static int parse_number(struct jparser *p, double *out)
{
    size_t start = p->i;
    bool neg = p->s[p->i] == '-';
    double mant = 0, frac = 0;
    int nd, nf = 0, ne = 0, exp = 0;
    if (neg) p->i++;
    if (p->i < p->n && p->s[p->i] == '0')
        p->i++;
    else if (!digits(p, &mant, &nd))
        return fail_at(p, start, "a number needs digits");
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        size_t f0 = p->i;
        if (!digits(p, &frac, &nf)) return fail_at(p, f0, "a decimal point needs digits after it");
        if (nf > 300) return fail_at(p, f0, "too many digits");
        mant += frac / pow(10, nf);
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        bool eneg = p->i < p->n && p->s[p->i] == '-';
        if (p->i < p->n && (p->s[p->i] == '-' || p->s[p->i] == '+')) p->i++;
        size_t e0 = p->i;
        double e = 0;
        if (!digits(p, &e, &ne)) return fail_at(p, e0, "an exponent needs digits");
        if (e > 400) e = 400;
        exp = (int)(eneg ? -e : e);
    }
    double v = mant * pow(10, exp);
    if (!isfinite(v)) return fail_at(p, start, "a number out of range");
    *out = neg ? -v : v;
    return 0;
}

static int parse_value(struct jparser *p, int depth);

static int parse_literal(struct jparser *p, const char *word, enum jtype type)
{
    size_t l = strlen(word);
    if (p->n - p->i < l || memcmp(p->s + p->i, word, l)) return fail_at(p, p->i, "expected a value");
    int n = new_node(p, type);
    p->i += l;
    return n;
}

static int parse_container(struct jparser *p, int depth, bool object)
{
    int node = new_node(p, object ? J_OBJ : J_ARR);
    if (node < 0) return -1;
    if (depth >= RK_PROFILE_MAX_DEPTH) return fail_at(p, p->i, "nested deeper than %d", RK_PROFILE_MAX_DEPTH), -1;
    char close = object ? '}' : ']';
    p->i++;
    skip_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return node;
    }
    for (;;) {
        size_t key = 0, klen = 0;
        if (object) {
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != '"') return fail_at(p, p->i, "expected a key in double quotes"), -1;
            if (parse_string(p, &key, &klen)) return -1;
            skip_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':') return fail_at(p, p->i, "expected ':' after a key"), -1;
            p->i++;
        }
        int child = parse_value(p, depth + 1);
        if (child < 0) return -1;
        p->nodes[child].key = key, p->nodes[child].klen = klen;
        add_child(p, node, child);
        skip_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            return node;
        }
        return fail_at(p, p->i, "expected ',' or '%c'", close), -1;
    }
}

static int parse_value(struct jparser *p, int depth)
{
    skip_ws(p);
    if (p->i >= p->n) return fail_at(p, p->i, "the text ends where a value should be"), -1;
    char c = p->s[p->i];
    if (c == '{' || c == '[') return parse_container(p, depth, c == '{');
    if (c == '"') {
        int node = new_node(p, J_STR);
        if (node < 0 || parse_string(p, &p->nodes[node].str, &p->nodes[node].slen)) return -1;
        return node;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int node = new_node(p, J_NUM);
        if (node < 0 || parse_number(p, &p->nodes[node].num)) return -1;
        return node;
    }
    if (c == 't') return parse_literal(p, "true", J_TRUE);
    if (c == 'f') return parse_literal(p, "false", J_FALSE);
    if (c == 'n') return parse_literal(p, "null", J_NULL);
    return fail_at(p, p->i, "expected a value"), -1;
}

/* ---- the schema ---- */

struct schema {
    struct jparser *p;
    int failed;
};

static int fail_key(struct schema *s, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_key(struct schema *s, const char *path, const char *fmt, ...)
{
    if (s->failed++) return -EINVAL;
    char what[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (s->p->err && s->p->errlen) snprintf(s->p->err, s->p->errlen, "%s: %s", path, what);
    return -EINVAL;
}

static const char *key_of(struct schema *s, int n) { return s->p->arena + s->p->nodes[n].key; }

static bool key_is(struct schema *s, int n, const char *k)
{
    const struct jnode *j = &s->p->nodes[n];
    return j->klen == strlen(k) && !memcmp(s->p->arena + j->key, k, j->klen);
}

/* Every key known, none twice. */
static int check_keys(struct schema *s, int obj, const char *where, const char *const *known)
{
    for (int c = s->p->nodes[obj].first; c >= 0; c = s->p->nodes[c].next) {
        if (memchr(key_of(s, c), 0, s->p->nodes[c].klen)) return fail_key(s, where, "a key holds a NUL character");
        size_t k = 0;
        while (known[k] && !key_is(s, c, known[k])) k++;
        if (!known[k]) return fail_key(s, where, "unknown key \"%s\"", key_of(s, c));
        for (int d = s->p->nodes[obj].first; d != c; d = s->p->nodes[d].next)
            if (key_is(s, d, known[k])) return fail_key(s, where, "the key \"%s\" appears twice", known[k]);
    }
    return 0;
}

static int member(struct schema *s, int obj, const char *k)
{
    for (int c = s->p->nodes[obj].first; c >= 0; c = s->p->nodes[c].next)
        if (key_is(s, c, k)) return c;
    return -1;
}

static const char *path_of(char *buf, size_t len, const char *where, const char *k)
{
    snprintf(buf, len, "%s%s%s", where, *where ? "." : "", k);
    return buf;
}

/* The member's node, or -1 and an error if it is missing or of another type. */
static int typed(struct schema *s, int obj, const char *where, const char *k, enum jtype type, const char *what,
                 bool required)
{
    int n = member(s, obj, k);
    char path[96];
    path_of(path, sizeof path, where, k);
    if (n < 0) return required ? fail_key(s, path, "missing (%s)", what), -1 : -1;
    enum jtype t = s->p->nodes[n].type;
    if (t != type && !(type == J_TRUE && t == J_FALSE)) return fail_key(s, path, "expected %s", what), -1;
    return n;
}

static void get_str(struct schema *s, int obj, const char *where, const char *k, char *buf, size_t cap, bool required)
{
    int n = typed(s, obj, where, k, J_STR, "a string", required);
    if (n < 0) return;
    const struct jnode *j = &s->p->nodes[n];
    char path[96];
    if (j->slen >= cap || memchr(s->p->arena + j->str, 0, j->slen))
        fail_key(s, path_of(path, sizeof path, where, k),
                 "expected a string of at most %zu bytes without NUL characters", cap - 1);
    else
        memcpy(buf, s->p->arena + j->str, j->slen + 1);
}

static uint32_t get_uint(struct schema *s, int obj, const char *where, const char *k, uint32_t lo, uint32_t hi)
{
    char what[64];
    snprintf(what, sizeof what, "an integer in %u..%u", lo, hi);
    int n = typed(s, obj, where, k, J_NUM, what, true);
    if (n < 0) return 0;
    double v = s->p->nodes[n].num;
    char path[96];
    if (v != floor(v) || v < lo || v > hi) {
        fail_key(s, path_of(path, sizeof path, where, k), "expected %s, got %g", what, v);
        return 0;
    }
    return (uint32_t)v;
}

static double get_pos(struct schema *s, int obj, const char *where, const char *k)
{
    int n = typed(s, obj, where, k, J_NUM, "a positive number", true);
    if (n < 0) return 0;
    double v = s->p->nodes[n].num;
    char path[96];
    if (!(v > 0)) fail_key(s, path_of(path, sizeof path, where, k), "expected a positive number, got %g", v);
    return v;
}

static bool get_bool(struct schema *s, int obj, const char *where, const char *k)
{
    int n = typed(s, obj, where, k, J_TRUE, "true or false", true);
    return n >= 0 && s->p->nodes[n].type == J_TRUE;
}

static const struct {
    const char *name;
    uint32_t pair;
} pair_names[] = {{"int8-int32", NPU_PAIR_I8_I32},
                  {"int8-fp32", NPU_PAIR_I8_F32},
                  {"fp16-fp32", NPU_PAIR_F16_F32},
                  {"fp16-fp16", NPU_PAIR_F16_F16}};

static uint32_t get_pairs(struct schema *s, int env)
{
    const char *what = "an array of \"int8-int32\", \"int8-fp32\", \"fp16-fp32\", \"fp16-fp16\"";
    int arr = typed(s, env, "envelope", "out_pairs", J_ARR, what, true);
    uint32_t mask = 0;
    if (arr < 0) return 0;
    for (int c = s->p->nodes[arr].first; c >= 0; c = s->p->nodes[c].next) {
        const struct jnode *j = &s->p->nodes[c];
        size_t k = 0;
        while (j->type == J_STR && k < sizeof pair_names / sizeof *pair_names &&
               !(j->slen == strlen(pair_names[k].name) && !memcmp(s->p->arena + j->str, pair_names[k].name, j->slen)))
            k++;
        if (j->type != J_STR || k == sizeof pair_names / sizeof *pair_names)
            return fail_key(s, "envelope.out_pairs", "expected %s", what), 0;
        if (mask & pair_names[k].pair)
            return fail_key(s, "envelope.out_pairs", "\"%s\" appears twice", pair_names[k].name), 0;
        mask |= pair_names[k].pair;
    }
    if (!mask) fail_key(s, "envelope.out_pairs", "empty: no output is proven");
    return mask;
}

static int read_profile(struct schema *s, int root, struct rk_board_profile *p)
{
    static const char *const top[] = {"format",   "version",   "created",      "host",  "kernel",
                                      "driver",   "clock_mhz", "clock_source", "cores", "simulator",
                                      "envelope", "timing",    "ladder",       NULL};
    static const char *const drv[] = {"name", "version", NULL};
    static const char *const env[] = {"m_tile_max",
                                      "n_tile_max",
                                      "k_task_max_int8",
                                      "k_task_max_fp16",
                                      "inplace_k_slices",
                                      "chained_tails",
                                      "weight_reuse",
                                      "out_pairs",
                                      "tasks_per_job_max",
                                      "job_budget_ms",
                                      NULL};
    static const char *const tim[] = {
            "task_overhead_us", "job_overhead_us", "int8_macs_per_cycle", "fp16_macs_per_cycle",
            "dma_gbps",         "mac_efficiency",  "job_time_ratio_max",  NULL};
    if (s->p->nodes[root].type != J_OBJ) return fail_key(s, "profile", "expected a JSON object");
    if (check_keys(s, root, "profile", top)) return -EINVAL;
    char format[64] = "";
    get_str(s, root, "", "format", format, sizeof format, true);
    if (!s->failed && strcmp(format, RK_PROFILE_FORMAT))
        return fail_key(s, "format", "expected \"%s\", got \"%s\"", RK_PROFILE_FORMAT, format);
    if (!s->failed && get_uint(s, root, "", "version", 1, UINT32_MAX) != RK_PROFILE_VERSION && !s->failed)
        return fail_key(s, "version", "this plugin reads version %d; run rosenblatt-dl calibrate again",
                        RK_PROFILE_VERSION);
    get_str(s, root, "", "created", p->created, sizeof p->created, true);
    get_str(s, root, "", "host", p->host, sizeof p->host, true);
    get_str(s, root, "", "kernel", p->kernel, sizeof p->kernel, true);
    get_str(s, root, "", "clock_source", p->clock_source, sizeof p->clock_source, false);
    p->clock_mhz = get_uint(s, root, "", "clock_mhz", 1, 100000);
    p->cores = get_uint(s, root, "", "cores", 1, NPU_CORES);
    p->simulator = get_bool(s, root, "", "simulator");
    int d = typed(s, root, "", "driver", J_OBJ, "an object {\"name\", \"version\"}", true);
    if (d >= 0 && !check_keys(s, d, "driver", drv)) {
        get_str(s, d, "driver", "name", p->driver, sizeof p->driver, true);
        get_str(s, d, "driver", "version", p->driver_version, sizeof p->driver_version, true);
    }
    int e = typed(s, root, "", "envelope", J_OBJ, "an object", true);
    if (e >= 0 && !check_keys(s, e, "envelope", env)) {
        struct npu_envelope *v = &p->envelope;
        v->kind = NPU_ENVELOPE_BOARD;
        v->m_tile_max = get_uint(s, e, "envelope", "m_tile_max", 1, UINT32_MAX);
        v->n_tile_max = get_uint(s, e, "envelope", "n_tile_max", 1, UINT32_MAX);
        v->k_task_max_int8 = get_uint(s, e, "envelope", "k_task_max_int8", 1, UINT32_MAX);
        v->k_task_max_fp16 = get_uint(s, e, "envelope", "k_task_max_fp16", 1, UINT32_MAX);
        v->inplace_k_slices = get_bool(s, e, "envelope", "inplace_k_slices");
        v->chained_tails = get_bool(s, e, "envelope", "chained_tails");
        v->weight_reuse = get_bool(s, e, "envelope", "weight_reuse");
        v->out_pairs = get_pairs(s, e);
        v->tasks_per_job_max = get_uint(s, e, "envelope", "tasks_per_job_max", 1, UINT32_MAX);
        v->job_budget_ms = get_uint(s, e, "envelope", "job_budget_ms", 1, UINT32_MAX);
        char why[200];
        if (!s->failed && npu_envelope_validate(v, why, sizeof why)) return fail_key(s, "envelope", "%s", why);
    }
    int t = typed(s, root, "", "timing", J_OBJ, "an object", true);
    if (t >= 0 && !check_keys(s, t, "timing", tim)) {
        struct rk_board_timing *m = &p->timing;
        m->task_overhead_us = get_pos(s, t, "timing", "task_overhead_us");
        m->job_overhead_us = get_pos(s, t, "timing", "job_overhead_us");
        m->int8_macs_per_cycle = get_pos(s, t, "timing", "int8_macs_per_cycle");
        m->fp16_macs_per_cycle = get_pos(s, t, "timing", "fp16_macs_per_cycle");
        m->dma_gbps = get_pos(s, t, "timing", "dma_gbps");
        m->mac_efficiency = get_pos(s, t, "timing", "mac_efficiency");
        m->job_time_ratio_max = get_pos(s, t, "timing", "job_time_ratio_max");
    }
    return s->failed ? -EINVAL : 0;
}

int rk_board_profile_parse(const char *text, size_t len, struct rk_board_profile *out, char *err, size_t errlen)
{
    if (err && errlen) err[0] = 0;
    memset(out, 0, sizeof *out);
    if (!text) return -EINVAL;
    struct jparser p = {.s = text, .n = len, .err = err, .errlen = errlen};
    if (len > RK_PROFILE_MAX_BYTES) return fail_at(&p, 0, "more than %d bytes", RK_PROFILE_MAX_BYTES);
    if (memchr(text, 0, len)) return fail_at(&p, (size_t)((const char *)memchr(text, 0, len) - text), "a NUL byte");
    p.nodes = malloc(MAX_NODES * sizeof *p.nodes);
    p.arena = malloc(len + 1);
    int rc = -ENOMEM;
    if (!p.nodes || !p.arena) {
        if (err && errlen) snprintf(err, errlen, "out of memory");
        goto out;
    }
    int root = parse_value(&p, 0);
    rc = -EINVAL;
    if (root < 0) goto out;
    skip_ws(&p);
    if (p.i < p.n) {
        fail_at(&p, p.i, "text after the end of the profile");
        goto out;
    }
    struct rk_board_profile prof = {0};
    struct schema s = {.p = &p};
    rc = read_profile(&s, root, &prof);
    if (!rc) *out = prof;
out:
    free(p.nodes);
    free(p.arena);
    return rc;
}

int rk_board_profile_load(const char *path, struct rk_board_profile *p, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (err && errlen) snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -(e ? e : EIO);
    }
    char *buf = malloc(RK_PROFILE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, RK_PROFILE_MAX_BYTES + 1, f) : 0;
    int rc = !buf ? -ENOMEM : ferror(f) ? -EIO : 0;
    fclose(f);
    if (rc) {
        if (err && errlen) snprintf(err, errlen, "%s: %s", path, strerror(-rc));
    } else {
        char why[300];
        rc = rk_board_profile_parse(buf, n, p, why, sizeof why);
        if (rc && err && errlen) snprintf(err, errlen, "%s: %s", path, why);
    }
    free(buf);
    return rc;
}

int rk_board_profile_check(const struct rk_board_profile *p, const char *kernel, const char *driver,
                           const char *driver_version, uint32_t clock_mhz, uint32_t cores, char *why, size_t whylen)
{
    const char *what = NULL, *had = NULL, *now = NULL;
    char hb[32], nb[32];
    if (strcmp(p->kernel, kernel))
        what = "kernel", had = p->kernel, now = kernel;
    else if (strcmp(p->driver, driver))
        what = "driver", had = p->driver, now = driver;
    else if (strcmp(p->driver_version, driver_version))
        what = "driver version", had = p->driver_version, now = driver_version;
    else if (p->clock_mhz != clock_mhz)
        snprintf(hb, sizeof hb, "%u MHz", p->clock_mhz), snprintf(nb, sizeof nb, "%u MHz", clock_mhz),
                what = "NPU clock", had = hb, now = nb;
    else if (p->cores != cores)
        snprintf(hb, sizeof hb, "%u", p->cores), snprintf(nb, sizeof nb, "%u", cores), what = "cores", had = hb,
                                                                                       now = nb;
    if (!what) return 0;
    if (why && whylen)
        snprintf(why, whylen, "made for %s %s, this system has %s; run rosenblatt-dl calibrate again", what, had, now);
    return -ESTALE;
}
