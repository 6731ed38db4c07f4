/* analytics.c — the pure parts of analytics.h: dimension names, bucket choice, percentile rank
 * and CSV export. */
#include "config.h"
#include "analytics.h"

#include <string.h>

#include "csv.h"

static const char *const dim_names[] = {
    [GW_DIM_MODEL] = "model",           [GW_DIM_PROVIDER] = "provider",
    [GW_DIM_VIRTUAL_KEY] = "virtual_key", [GW_DIM_AGENT] = "agent",
    [GW_DIM_DEPARTMENT] = "department", [GW_DIM_PROPERTY] = "property",
};

GwStatus gw_analytics_dim_parse(const char *s, GwAnalyticsDim *out, GError **err)
{
    for (gsize i = 0; s != NULL && i < G_N_ELEMENTS(dim_names); i++)
        if (strcmp(s, dim_names[i]) == 0) {
            *out = (GwAnalyticsDim)i;
            return GW_OK;
        }
    return gw_fail(err, GW_EINVAL, "breakdown: use model, provider, virtual_key, agent, "
                                   "department or property");
}

const char *gw_analytics_dim_name(GwAnalyticsDim d)
{
    return (gsize)d < G_N_ELEMENTS(dim_names) ? dim_names[d] : "?";
}

gint64 gw_analytics_bucket_ms(gint64 from_ms, gint64 to_ms)
{
    return to_ms - from_ms <= 48 * GW_HOUR_MS ? GW_HOUR_MS : GW_DAY_MS;
}

gint64 gw_percentile_rank(gint64 n, int pct)
{
    if (n <= 0)
        return 0;
    gint64 r = (pct * n + 99) / 100;
    return r < 1 ? 1 : r;
}

/* ---- CSV ---- */

static const char *const metric_cols[] = {
    "requests",      "cost_usd",       "prompt_tokens",  "completion_tokens", "total_tokens",
    "errors",        "error_rate",     "latency_p50_ms", "latency_p95_ms",    "cache_hits",
    "cache_lookups", "cache_hit_rate", "cache_saved_usd",
};

/* A number or decimal text we produced (never guarded); null → empty. */
static void csv_value(GString *out, json_t *v)
{
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    if (json_is_integer(v))
        gw_csv_int(out, json_integer_value(v));
    else if (json_is_real(v))
        g_string_append(out, g_ascii_formatd(buf, sizeof buf, "%.6g", json_real_value(v)));
    else if (json_is_string(v))
        g_string_append(out, json_string_value(v)); /* cost_usd: digits and a dot */
}

static void csv_metrics_header(GString *out, const char *first)
{
    gw_csv_text(out, first);
    for (gsize i = 0; i < G_N_ELEMENTS(metric_cols); i++) {
        gw_csv_sep(out);
        gw_csv_text(out, metric_cols[i]);
    }
    gw_csv_end(out);
}

static void csv_metrics(GString *out, json_t *row)
{
    for (gsize i = 0; i < G_N_ELEMENTS(metric_cols); i++) {
        gw_csv_sep(out);
        csv_value(out, json_object_get(row, metric_cols[i]));
    }
    gw_csv_end(out);
}

char *gw_analytics_series_csv(json_t *series)
{
    GString *out = g_string_new(NULL);
    csv_metrics_header(out, "bucket_start_utc");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(series, "series"), i, p) {
        GDateTime *t = g_date_time_new_from_unix_utc(json_integer_value(json_object_get(p, "start")) / 1000);
        char *iso = t != NULL ? g_date_time_format(t, "%Y-%m-%dT%H:%M:%SZ") : NULL;
        gw_csv_text(out, iso);
        g_free(iso);
        if (t != NULL)
            g_date_time_unref(t);
        csv_metrics(out, p);
    }
    return g_string_free(out, FALSE);
}

char *gw_analytics_breakdown_csv(json_t *breakdown)
{
    GString *out = g_string_new(NULL);
    const char *by = json_string_value(json_object_get(breakdown, "by"));
    const char *prop = json_string_value(json_object_get(breakdown, "property"));
    char *first = prop != NULL ? g_strconcat("property:", prop, NULL) : g_strdup(by != NULL ? by : "key");
    csv_metrics_header(out, first);
    g_free(first);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(breakdown, "rows"), i, r) {
        gw_csv_text(out, json_string_value(json_object_get(r, "key")));
        csv_metrics(out, r);
    }
    return g_string_free(out, FALSE);
}
