/* page_analytics.c — the Analytics page: a range and breakdown form (GET), totals, charts drawn
 * on the server as SVG (lib/svgchart.c: no script, no inline style), the breakdown table, and
 * CSV downloads of both. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "analytics.h"
#include "html.h"
#include "http.h"
#include "layout.h"
#include "logquery.h"
#include "logview.h"
#include "router.h"
#include "svgchart.h"

static const char *const dims[] = {"model", "provider", "virtual_key", "agent", "department",
                                   "property"};
static const char *const dim_labels[] = {"Model", "Provider", "Virtual key", "Agent",
                                         "Department", "Property"};

static void form(AdmCtx *c, GString *out, const AdmAnalyticsQuery *q)
{
    adm_html(out, "<form class=\"filters\" method=\"get\" action=\"%s/analytics\">\n", c->base);
    static const char *const ranges[] = {"24h", "7d", "30d", "90d"};
    g_string_append(out, "<label>Range <select name=\"range\">");
    for (gsize i = 0; i < G_N_ELEMENTS(ranges); i++)
        adm_html(out, "<option%s>%s</option>",
                 q != NULL && q->range != NULL && strcmp(q->range, ranges[i]) == 0 ? " selected" : "",
                 ranges[i]);
    g_string_append(out, "</select></label>\n");
    adm_html(out, "<label>or from (UTC) <input type=\"datetime-local\" name=\"from\" value=\"%s\">"
                  "</label>\n<label>to <input type=\"datetime-local\" name=\"to\" value=\"%s\">"
                  "</label>\n", adm_query(c, "from"), adm_query(c, "to"));
    g_string_append(out, "<label>Breakdown <select name=\"by\">");
    for (gsize i = 0; i < G_N_ELEMENTS(dims); i++)
        adm_html(out, "<option value=\"%s\"%s>%s</option>", dims[i],
                 q != NULL && (gsize)q->by == i ? " selected" : "", dim_labels[i]);
    g_string_append(out, "</select></label>\n");
    adm_html(out, "<label>Property name <input name=\"property\" value=\"%s\" "
                  "placeholder=\"for Property\"></label>\n"
                  "<label>Top <input type=\"number\" name=\"top\" min=\"1\" max=\"%d\" value=\"%d\">"
                  "</label>\n<button type=\"submit\">Show</button>\n</form>\n",
             adm_query(c, "property"), GW_ANALYTICS_TOP_MAX, q != NULL ? q->top : 10);
}

static double num_or_nan(json_t *v)
{
    return json_is_number(v) ? json_number_value(v) : (double)NAN;
}

/* One chart of metric key over the series (scale multiplies, e.g. nanos → USD). */
static void chart(GString *out, json_t *series, const char *title, const char *key,
                  GwChartKind kind, GwChartUnit unit, double scale, gboolean null_is_zero)
{
    gsize n = json_array_size(series);
    double *vals = g_new0(double, n > 0 ? n : 1);
    char **labels = g_new0(char *, n + 1);
    gboolean hourly = n >= 2 && json_integer_value(json_object_get(json_array_get(series, 1), "start")) -
                                        json_integer_value(json_object_get(json_array_get(series, 0), "start")) <
                                    GW_DAY_MS;
    for (gsize i = 0; i < n; i++) {
        json_t *p = json_array_get(series, i);
        json_t *v = json_object_get(p, key);
        vals[i] = json_is_null(v) && null_is_zero ? 0 : num_or_nan(v) * scale;
        GDateTime *t = g_date_time_new_from_unix_utc(json_integer_value(json_object_get(p, "start")) / 1000);
        labels[i] = t != NULL ? g_date_time_format(t, hourly ? "%m-%d %H:00" : "%Y-%m-%d") : g_strdup("");
        if (t != NULL)
            g_date_time_unref(t);
    }
    GwChartSpec spec = {.title = title, .kind = kind, .unit = unit, .n = n, .values = vals,
                        .labels = (const char *const *)labels};
    char *svg = gw_svg_chart(&spec);
    /* The SVG is built by svgchart.c with every text escaped: trusted markup here. */
    g_string_append(out, "<figure class=\"chart\">");
    g_string_append(out, svg);
    g_string_append(out, "</figure>\n");
    g_free(svg);
    g_strfreev(labels);
    g_free(vals);
}

static void metrics_cells(GString *out, json_t *r)
{
    adm_cell_int(out, json_object_get(r, "requests"));
    adm_cell_usd(out, json_object_get(r, "cost_nanos"));
    adm_cell_int(out, json_object_get(r, "prompt_tokens"));
    adm_cell_int(out, json_object_get(r, "completion_tokens"));
    adm_cell_int(out, json_object_get(r, "total_tokens"));
    adm_cell_pct(out, json_object_get(r, "error_rate"));
    adm_cell_int(out, json_object_get(r, "latency_p50_ms"));
    adm_cell_int(out, json_object_get(r, "latency_p95_ms"));
    adm_cell_pct(out, json_object_get(r, "cache_hit_rate"));
    adm_cell_usd(out, json_object_get(r, "cache_saved_nanos"));
}

static const char METRIC_HEAD[] =
    "<th>Requests</th><th>Spend</th><th>Prompt tokens</th><th>Completion tokens</th>"
    "<th>Total tokens</th><th>Error rate</th><th>p50 ms</th><th>p95 ms</th><th>Cache hits</th>"
    "<th>Cache savings</th>";

static void analytics_get(AdmCtx *c)
{
    AdmAnalyticsQuery q;
    GError *err = NULL;
    json_t *series = NULL, *bd = NULL;
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Analytics", "/analytics");
    g_string_append(out, "<h1>Analytics</h1>\n");
    GwStatus gs = adm_analytics_query_parse(c->query, g_get_real_time() / 1000, &q, &err);
    form(c, out, gs == GW_OK ? &q : NULL);
    if (gs == GW_OK)
        gs = gw_store_analytics_series_json(c->store, q.from_ms, q.to_ms, &series, &err);
    if (gs == GW_OK)
        gs = gw_store_analytics_breakdown_json(c->store, q.from_ms, q.to_ms, q.by, q.property,
                                               q.top, &bd, &err);
    if (gs != GW_OK) {
        int status = adm_status_for(gs, NULL);
        adm_notice(out, "error", err->message);
        g_error_free(err);
        json_decref(series);
        adm_page_end(c, out);
        adm_respond_html(c, status, out);
        g_string_free(out, TRUE);
        return;
    }
    char *from = adm_fmt_time(json_integer_value(json_object_get(series, "from")));
    char *to = adm_fmt_time(json_integer_value(json_object_get(series, "to")));
    adm_html(out, "<p class=\"hint\">%s to %s, per %s.</p>\n", from, to,
             json_string_value(json_object_get(series, "bucket")));
    g_free(from);
    g_free(to);
    GString *qs = g_string_new(NULL);
    adm_query_append(qs, c->query, adm_analytics_params);

    g_string_append(out, "<h2>Totals</h2>\n<table class=\"totals\"><thead><tr>");
    g_string_append(out, METRIC_HEAD);
    g_string_append(out, "</tr></thead><tbody><tr>");
    metrics_cells(out, json_object_get(series, "totals"));
    g_string_append(out, "</tr></tbody></table>\n");

    json_t *pts = json_object_get(series, "series");
    g_string_append(out, "<div class=\"charts\">\n");
    chart(out, pts, "Requests", "requests", GW_CHART_BARS, GW_CHART_COUNT, 1, TRUE);
    chart(out, pts, "Spend (USD)", "cost_nanos", GW_CHART_BARS, GW_CHART_USD, 1e-9, TRUE);
    chart(out, pts, "Tokens", "total_tokens", GW_CHART_BARS, GW_CHART_COUNT, 1, TRUE);
    chart(out, pts, "Error rate", "error_rate", GW_CHART_LINE, GW_CHART_PERCENT, 1, FALSE);
    chart(out, pts, "Latency p50 (ms)", "latency_p50_ms", GW_CHART_LINE, GW_CHART_MS, 1, FALSE);
    chart(out, pts, "Latency p95 (ms)", "latency_p95_ms", GW_CHART_LINE, GW_CHART_MS, 1, FALSE);
    chart(out, pts, "Cache hit rate", "cache_hit_rate", GW_CHART_LINE, GW_CHART_PERCENT, 1, FALSE);
    chart(out, pts, "Cache savings (USD)", "cache_saved_nanos", GW_CHART_BARS, GW_CHART_USD, 1e-9,
          TRUE);
    g_string_append(out, "</div>\n");
    adm_html(out, "<p><a href=\"%s/analytics/series.csv?%s\" download>Download the series (CSV)</a>"
                  " · <a class=\"hint\" href=\"%s/api/analytics?%s\">JSON</a></p>\n",
             c->base, qs->str, c->base, qs->str);

    const char *by = json_string_value(json_object_get(bd, "by"));
    adm_html(out, "<h2>By %s%s%s</h2>\n", by, q.by == GW_DIM_PROPERTY ? " " : "",
             q.by == GW_DIM_PROPERTY ? q.property : "");
    json_t *rows = json_object_get(bd, "rows");
    if (json_array_size(rows) == 0) {
        adm_notice(out, "info", "No requests in this range.");
    } else {
        g_string_append(out, "<table class=\"breakdown\"><thead><tr><th>Key</th>");
        g_string_append(out, METRIC_HEAD);
        g_string_append(out, "</tr></thead><tbody>\n");
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r) {
            const char *key = json_string_value(json_object_get(r, "key"));
            if (key != NULL)
                adm_html(out, "<tr><td>%s</td>", key);
            else
                g_string_append(out, "<tr><td class=\"hint\">(none)</td>");
            metrics_cells(out, r);
            g_string_append(out, "</tr>\n");
        }
        g_string_append(out, "</tbody></table>\n");
    }
    adm_html(out, "<p><a href=\"%s/analytics/breakdown.csv?%s\" download>Download the breakdown "
                  "(CSV)</a></p>\n", c->base, qs->str);
    g_string_free(qs, TRUE);
    json_decref(series);
    json_decref(bd);
    adm_page_end(c, out);
    adm_respond_html(c, 200, out);
    g_string_free(out, TRUE);
}

void adm_analytics_csv(AdmCtx *c, gboolean breakdown)
{
    AdmAnalyticsQuery q;
    GError *err = NULL;
    json_t *j = NULL;
    GwStatus gs = adm_analytics_query_parse(c->query, g_get_real_time() / 1000, &q, &err);
    if (gs == GW_OK)
        gs = breakdown ? gw_store_analytics_breakdown_json(c->store, q.from_ms, q.to_ms, q.by,
                                                           q.property, q.top, &j, &err)
                       : gw_store_analytics_series_json(c->store, q.from_ms, q.to_ms, &j, &err);
    if (gs != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    char *csv = breakdown ? gw_analytics_breakdown_csv(j) : gw_analytics_series_csv(j);
    json_decref(j);
    adm_respond(c, 200, "text/csv; charset=utf-8; header=present", csv, strlen(csv));
    g_free(csv);
}

static void series_csv_get(AdmCtx *c)
{
    adm_analytics_csv(c, FALSE);
}

static void breakdown_csv_get(AdmCtx *c)
{
    adm_analytics_csv(c, TRUE);
}

const AdmRoute adm_routes_analytics[] = {
    {"GET", "/analytics", analytics_get, ADM_ROLE_VIEWER},
    {"GET", "/analytics/series.csv", series_csv_get, ADM_ROLE_VIEWER},
    {"GET", "/analytics/breakdown.csv", breakdown_csv_get, ADM_ROLE_VIEWER},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
