/* plot: the run's figures as standalone SVG files, from the timeline's
 * times: latency over time per command kind (successful commands), and
 * throughput over time (commands completed per second, failed apart). */
#ifndef DKV_REPORT_PLOT_H
#define DKV_REPORT_PLOT_H

#include "../../common/err.h"
#include "timeline.h"

/* Writes path. -1 with err when it cannot be written. */
int plot_latency(const timeline *t, const char *path, dkv_err *err);
int plot_throughput(const timeline *t, const char *path, dkv_err *err);

#endif
