/* svgchart.c — SVG line/bar charts (see svgchart.h). Coordinates are printed with
 * g_ascii_formatd so the output does not depend on the locale. */
#include "config.h"
#include "svgchart.h"

#include <math.h>
#include <string.h>

#define PAD_LEFT 64.0
#define PAD_RIGHT 16.0
#define PAD_TOP 28.0
#define PAD_BOTTOM 36.0
#define MAX_X_LABELS 8
#define Y_TICKS 5

static void num(GString *s, double v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_string_append(s, g_ascii_formatd(buf, sizeof buf, "%.1f", v));
}

/* Appends text escaped for XML text and attribute values. */
static void esc(GString *s, const char *t)
{
    char *valid = g_utf8_make_valid(t, -1);
    char *e = g_markup_escape_text(valid, -1);
    g_string_append(s, e);
    g_free(e);
    g_free(valid);
}

char *gw_chart_format_value(double v, GwChartUnit unit)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (!isfinite(v))
        return g_strdup("–");
    switch (unit) {
    case GW_CHART_USD: {
        /* Enough decimals to show small per-request costs. */
        double a = v < 0 ? -v : v;
        const char *fmt = a >= 100 ? "%.0f" : a >= 1 ? "%.2f" : "%.4g";
        return g_strconcat("$", g_ascii_formatd(buf, sizeof buf, fmt, v), NULL);
    }
    case GW_CHART_PERCENT:
        return g_strconcat(g_ascii_formatd(buf, sizeof buf, "%.3g", v * 100.0), "%", NULL);
    case GW_CHART_MS:
        return g_strconcat(g_ascii_formatd(buf, sizeof buf, "%.4g", v), " ms", NULL);
    case GW_CHART_COUNT:
    default: {
        static const char *const suffix[] = {"", "k", "M", "G", "T", "P", "E"};
        double a = v < 0 ? -v : v;
        gsize i = 0;
        while (a >= 999.5 && i + 1 < G_N_ELEMENTS(suffix)) {
            a /= 1000.0;
            v /= 1000.0;
            i++;
        }
        /* %.3g keeps huge values readable ("1.2e+03E" past exa). */
        return g_strconcat(g_ascii_formatd(buf, sizeof buf, "%.3g", v), suffix[i], NULL);
    }
    }
}

/* A "nice" axis maximum and step (1, 2 or 5 × 10^k) for values up to max (> 0, finite). Plain
 * arithmetic: the library does not link libm. */
static void nice_axis(double max, double *top, double *step)
{
    double raw = max / Y_TICKS;
    double mag = 1.0;
    for (int i = 0; i < 400 && mag * 10.0 <= raw; i++)
        mag *= 10.0;
    for (int i = 0; i < 400 && mag > raw; i++)
        mag /= 10.0;
    double f = raw / mag;
    double nice = f <= 1.0 ? 1.0 : f <= 2.0 ? 2.0 : f <= 5.0 ? 5.0 : 10.0;
    *step = nice * mag;
    double k = (double)(gint64)(max / *step);
    if (k * *step < max)
        k += 1.0;
    *top = k * *step;
    if (!isfinite(*top) || *top <= 0 || *step <= 0) {
        *top = max;
        *step = max / Y_TICKS;
    }
}

static double clean(double v)
{
    if (!isfinite(v))
        return NAN;
    return v < 0 ? 0 : v;
}

static void text_el(GString *s, double x, double y, const char *anchor, const char *cls,
                    const char *t)
{
    g_string_append(s, "<text x=\"");
    num(s, x);
    g_string_append(s, "\" y=\"");
    num(s, y);
    g_string_append_printf(s, "\" text-anchor=\"%s\" class=\"%s\" font-size=\"11\" "
                              "fill=\"currentColor\">", anchor, cls);
    esc(s, t);
    g_string_append(s, "</text>");
}

char *gw_svg_chart(const GwChartSpec *spec)
{
    int w = spec->width > 0 ? spec->width : 640;
    int h = spec->height > 0 ? spec->height : 220;
    double pw = w - PAD_LEFT - PAD_RIGHT, ph = h - PAD_TOP - PAD_BOTTOM;
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
                              "viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" role=\"img\"",
                           w, h, w, h);
    if (spec->title != NULL) {
        g_string_append(s, " aria-label=\"");
        esc(s, spec->title);
        g_string_append_c(s, '"');
    }
    g_string_append_c(s, '>');
    if (spec->title != NULL)
        text_el(s, PAD_LEFT, 16, "start", "chart-title", spec->title);

    double max = 0;
    gboolean any = FALSE;
    for (gsize i = 0; i < spec->n; i++) {
        double v = clean(spec->values[i]);
        if (!isnan(v)) {
            any = TRUE;
            max = MAX(max, v);
        }
    }
    /* Axes. */
    g_string_append(s, "<g class=\"axes\" stroke=\"currentColor\" stroke-width=\"1\">");
    g_string_append(s, "<line x1=\"");
    num(s, PAD_LEFT);
    g_string_append(s, "\" y1=\"");
    num(s, PAD_TOP);
    g_string_append(s, "\" x2=\"");
    num(s, PAD_LEFT);
    g_string_append(s, "\" y2=\"");
    num(s, PAD_TOP + ph);
    g_string_append(s, "\"/><line x1=\"");
    num(s, PAD_LEFT);
    g_string_append(s, "\" y1=\"");
    num(s, PAD_TOP + ph);
    g_string_append(s, "\" x2=\"");
    num(s, PAD_LEFT + pw);
    g_string_append(s, "\" y2=\"");
    num(s, PAD_TOP + ph);
    g_string_append(s, "\"/></g>");

    if (!any) {
        text_el(s, PAD_LEFT + pw / 2, PAD_TOP + ph / 2, "middle", "chart-empty", "No data");
        g_string_append(s, "</svg>");
        return g_string_free(s, FALSE);
    }

    double top, step;
    if (max <= 0) {
        top = 1;
        step = 1.0 / Y_TICKS;
    } else {
        nice_axis(max, &top, &step);
    }
    /* Y ticks and grid. */
    for (int t = 0; t <= Y_TICKS * 2; t++) {
        double v = step * t;
        if (v > top * (1 + 1e-9))
            break;
        double y = PAD_TOP + ph - v / top * ph;
        g_string_append(s, "<line class=\"grid\" stroke=\"currentColor\" stroke-opacity=\"0.15\" x1=\"");
        num(s, PAD_LEFT);
        g_string_append(s, "\" y1=\"");
        num(s, y);
        g_string_append(s, "\" x2=\"");
        num(s, PAD_LEFT + pw);
        g_string_append(s, "\" y2=\"");
        num(s, y);
        g_string_append(s, "\"/>");
        char *lbl = gw_chart_format_value(v, spec->unit);
        text_el(s, PAD_LEFT - 6, y + 4, "end", "tick", lbl);
        g_free(lbl);
    }

    /* X positions: bars take equal slots; a line spreads points edge to edge. */
    double slot = pw / (double)spec->n;
    gsize every = spec->n > MAX_X_LABELS ? (spec->n + MAX_X_LABELS - 1) / MAX_X_LABELS : 1;
    g_string_append(s, "<g class=\"series\">");
    GString *path = g_string_new(NULL);
    gboolean pen_down = FALSE;
    for (gsize i = 0; i < spec->n; i++) {
        double v = clean(spec->values[i]);
        double cx = spec->kind == GW_CHART_BARS || spec->n == 1
                        ? PAD_LEFT + slot * ((double)i + 0.5)
                        : PAD_LEFT + pw * (double)i / (double)(spec->n - 1);
        const char *label = spec->labels != NULL && spec->labels[i] != NULL ? spec->labels[i] : "";
        if (!isnan(v)) {
            double y = PAD_TOP + ph - v / top * ph;
            if (spec->kind == GW_CHART_BARS) {
                double bw = MAX(slot * 0.8, 1.0);
                g_string_append(s, "<rect class=\"bar\" fill=\"currentColor\" fill-opacity=\"0.6\" x=\"");
                num(s, cx - bw / 2);
                g_string_append(s, "\" y=\"");
                num(s, y);
                g_string_append(s, "\" width=\"");
                num(s, bw);
                g_string_append(s, "\" height=\"");
                num(s, PAD_TOP + ph - y);
                g_string_append(s, "\">");
            } else {
                g_string_append_c(path, pen_down ? 'L' : 'M');
                num(path, cx);
                g_string_append_c(path, ' ');
                num(path, y);
                pen_down = TRUE;
                g_string_append(s, "<circle class=\"point\" fill=\"currentColor\" r=\"2.5\" cx=\"");
                num(s, cx);
                g_string_append(s, "\" cy=\"");
                num(s, y);
                g_string_append(s, "\">");
            }
            char *val = gw_chart_format_value(v, spec->unit);
            g_string_append(s, "<title>");
            esc(s, label);
            g_string_append(s, ": ");
            esc(s, val);
            g_string_append(s, "</title>");
            g_free(val);
            g_string_append(s, spec->kind == GW_CHART_BARS ? "</rect>" : "</circle>");
        } else {
            pen_down = FALSE;
        }
        if (i % every == 0 && label[0] != '\0')
            text_el(s, cx, PAD_TOP + ph + 16, "middle", "tick", label);
    }
    if (path->len > 0) {
        g_string_append(s, "<path class=\"line\" fill=\"none\" stroke=\"currentColor\" "
                           "stroke-width=\"1.5\" d=\"");
        g_string_append(s, path->str);
        g_string_append(s, "\"/>");
    }
    g_string_free(path, TRUE);
    g_string_append(s, "</g></svg>");
    return g_string_free(s, FALSE);
}
