// SPDX-License-Identifier: MIT
/* npu-model: the timing MODEL's parameter table (both bounds, sources) and its calibration against the
 * published measurements (docs/performance.md, "Calibration"), as Markdown on stdout.
 *
 *   npu-model [--params] [--calibration]     (no option: both)
 *
 * Exit status 1 when a fitted row is outside its tolerance (test_timing checks the same). */
#include <stdio.h>
#include <string.h>

#include "npu_calibration.h"
#include "npu_timing.h"

static void print_params_markdown(void)
{
    printf("| parameter | optimistic | pessimistic | unit | source |\n|---|---:|---:|---|---|\n");
    for (int i = 0; i < NPU_MODEL_PARAM_COUNT; i++)
        printf("| %s | %g | %g | %s | %s |\n", npu_model_params[i].name,
               npu_model_param((enum npu_model_param_id)i, NPU_MODEL_OPTIMISTIC),
               npu_model_param((enum npu_model_param_id)i, NPU_MODEL_PESSIMISTIC), npu_model_params[i].unit,
               npu_model_params[i].source);
}

int main(int argc, char **argv)
{
    bool params = false, cal = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--params"))
            params = true;
        else if (!strcmp(argv[i], "--calibration"))
            cal = true;
        else {
            fprintf(stderr, "usage: npu-model [--params] [--calibration]\n");
            return 2;
        }
    }
    if (!params && !cal) params = cal = true;
    printf("<!-- npu-model: timing MODEL (%s) -->\n", npu_model_source());
    if (params) print_params_markdown();
    if (params && cal) printf("\n");
    int bad = 0;
    if (cal) {
        npu_cal_print_markdown(stdout);
        for (unsigned i = 0; i < npu_cal_row_count; i++) bad += !npu_cal_row_fits(&npu_cal_rows[i]);
    }
    return bad ? 1 : 0;
}
