/* The timing MODEL against published measurements (docs/hardware/measurements.md): each row is one
 * measurement, the tiling and driver it was measured with, and the tolerance within which both bounds of
 * the model must reproduce it. npu-model prints the rows as the calibration table of docs/performance.md;
 * test_timing holds the model to every row with a tolerance, so a parameter edit that breaks a fit fails. */
#ifndef ROSENBLATT_NPU_CALIBRATION_H
#define ROSENBLATT_NPU_CALIBRATION_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "npu_timing.h"

enum npu_cal_unit {
    NPU_CAL_TOPS,   /* int8 tera-operations per second (2 per MAC), all runs together */
    NPU_CAL_GFLOPS, /* fp16 giga-operations per second */
    NPU_CAL_US,     /* time of one run */
    NPU_CAL_MS,
};

struct npu_cal_row {
    const char *what;
    const char *source; /* the docs/hardware/measurements.md section and who measured it */
    double measured;
    enum npu_cal_unit unit;
    struct npu_model_tiling tiling; /* as measured: the vendor's tiling and driver */
    uint32_t clock_mhz;
    uint32_t runs;    /* matmuls running at the same time (concurrent contexts), for throughput */
    double tolerance; /* both bounds within ±tolerance of the measurement; 0 = shown, not fitted */
    const char *note; /* does it transfer to our register programming; why a row is not fitted */
};

extern const struct npu_cal_row npu_cal_rows[];
extern const unsigned npu_cal_row_count;

/* The model's value of a row in the row's unit. */
double npu_cal_predict(const struct npu_cal_row *r, enum npu_model_bound b);
/* predicted / measured in the row's unit: above 1 the model is too fast for a throughput, too slow for a time. */
double npu_cal_ratio(const struct npu_cal_row *r, enum npu_model_bound b);
/* Both bounds within the tolerance (always true for rows that are not fitted). */
bool npu_cal_row_fits(const struct npu_cal_row *r);
const char *npu_cal_unit_name(enum npu_cal_unit u);
/* The calibration table as Markdown (docs/performance.md). */
void npu_cal_print_markdown(FILE *out);

#endif
