/* svgchart.h — server-rendered SVG charts (a time series as a line or bars, with axes, ticks and
 * labels) for the admin's Analytics page. Pure: no JavaScript, no inline style (presentation
 * attributes and class names only, so a strict CSP without 'unsafe-inline' shows it), every text
 * escaped. */
#ifndef GW_SVGCHART_H
#define GW_SVGCHART_H

#include <glib.h>

typedef enum { GW_CHART_LINE, GW_CHART_BARS } GwChartKind;

/* How the y values and tick labels read. */
typedef enum {
    GW_CHART_COUNT,     /* 1200 → "1.2k" */
    GW_CHART_USD,       /* value in USD → "$0.0012" */
    GW_CHART_PERCENT,   /* 0.25 → "25%" */
    GW_CHART_MS,        /* 1500 → "1500 ms" */
} GwChartUnit;

typedef struct {
    const char *title;            /* shown above the chart and as aria-label; NULL = none */
    GwChartKind kind;
    GwChartUnit unit;
    gsize n;                      /* number of points (0 draws an empty chart saying "No data") */
    const double *values;         /* n values; NaN = no value (a gap) */
    const char *const *labels;    /* n x labels (e.g. "11-25 14:00"), may be NULL */
    int width, height;            /* pixels; 0 = 640 × 220 */
} GwChartSpec;

/* The <svg> element as text (caller frees). Values below 0 are drawn at 0; infinities as gaps.
 * At most about 8 x labels are drawn (evenly spaced); each point carries a <title> with its label
 * and value (a tooltip without script). */
char *gw_svg_chart(const GwChartSpec *spec);

/* One value as the chart prints it (tick labels, tooltips); caller frees. */
char *gw_chart_format_value(double v, GwChartUnit unit);

#endif
