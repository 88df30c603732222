/* npu-replay's script: the directives that build one fd's memory image and the tasks to run on it
 * (format in backend/tools/README.md, "npu-replay"). A library so the fuzz driver (backend/tools/fuzz) feeds
 * the same parser npu-replay uses. */
#ifndef ROSENBLATT_REPLAY_SCRIPT_H
#define ROSENBLATT_REPLAY_SCRIPT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npu_image.h"

struct replay_task {
    uint32_t iova, count; /* count 0: the rest of the segment holding the stream (replay_task_count) */
};

struct replay_script {
    struct npu_image img;
    struct replay_task *tasks;
    uint32_t ntasks, cap;
};

/* Largest file a `regcmd` or `segment` directive places: one BO of the 32-bit IOVA space. */
#define REPLAY_FILE_BYTES_MAX 0xfffffff0u

/* Parse the script read from f; relative paths are resolved against dir. Appends to s. Returns 0, or a
 * negative errno with "LINE: reason" in err (the line number also in *lineno when not NULL). */
int replay_script_parse(FILE *f, const char *dir, struct replay_script *s, char *err, size_t errlen, int *lineno);
/* Open the file `path` and parse it, with relative paths resolved against its folder. */
int replay_script_load(const char *path, struct replay_script *s, char *err, size_t errlen, int *lineno);
/* Entries task t runs: its COUNT, or the rest of the segment holding its IOVA (0 when none does). */
uint32_t replay_task_count(const struct replay_script *s, uint32_t t);
void replay_script_free(struct replay_script *s);

#endif
