/* logquery.c — Logs/Sessions/Analytics query parameters (see logquery.h). */
#include "config.h"
#include "logquery.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *field(GHashTable *q, const char *name)
{
    const char *v = q != NULL ? g_hash_table_lookup(q, name) : NULL;
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static gboolean all_digits(const char *s)
{
    if (*s == '\0')
        return FALSE;
    for (; *s != '\0'; s++)
        if (!g_ascii_isdigit(*s))
            return FALSE;
    return TRUE;
}

GwStatus adm_time_parse(const char *s, gint64 *out_ms, GError **err)
{
    if (s == NULL)
        return gw_fail(err, GW_EINVAL, "no time");
    if (all_digits(s)) {
        if (strlen(s) > 15)
            return gw_fail(err, GW_EINVAL, "time out of range");
        *out_ms = g_ascii_strtoll(s, NULL, 10);
        return GW_OK;
    }
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    size_t len = strlen(s);
    gboolean ok = FALSE;
    if (len == 10)
        ok = sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3;
    else if (len == 16 && (s[10] == 'T' || s[10] == ' '))
        ok = sscanf(s + 11, "%2d:%2d%n", &h, &mi, &n) == 2 && n == 5 &&
             sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) == 3;
    else if (len == 19 && (s[10] == 'T' || s[10] == ' '))
        ok = sscanf(s + 11, "%2d:%2d:%2d%n", &h, &mi, &sec, &n) == 3 && n == 8 &&
             sscanf(s, "%4d-%2d-%2d", &y, &mo, &d) == 3;
    /* sscanf accepts signs and spaces inside %d: insist on digits where digits belong. */
    for (size_t i = 0; ok && i < len; i++) {
        gboolean sep = i == 4 || i == 7 || i == 10 || i == 13 || i == 16;
        if (!sep && !g_ascii_isdigit(s[i]))
            ok = FALSE;
    }
    GDateTime *dt = ok ? g_date_time_new_utc(y, mo, d, h, mi, sec) : NULL;
    if (dt == NULL)
        return gw_fail(err, GW_EINVAL, "use a date (2026-01-02), a date and time "
                                       "(2026-01-02T03:04, UTC) or Unix milliseconds");
    *out_ms = g_date_time_to_unix(dt) * 1000;
    g_date_time_unref(dt);
    return GW_OK;
}

char *adm_time_input(gint64 ms)
{
    GDateTime *dt = g_date_time_new_from_unix_utc(ms / 1000);
    if (dt == NULL)
        return g_strdup("");
    char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M");
    g_date_time_unref(dt);
    return s;
}

const char *const adm_log_filter_params[] = {
    "from", "to", "virtual_key", "agent", "department", "model", "provider", "status",
    "session_id", "cache", "property", "value", "limit", NULL,
};

static GwStatus field_time(GHashTable *q, const char *name, gint64 *out, GError **err)
{
    const char *v = field(q, name);
    GError *e = NULL;
    if (v == NULL)
        return GW_OK;
    if (adm_time_parse(v, out, &e) != GW_OK) {
        gw_fail(err, GW_EINVAL, "%s: %s", name, e->message);
        g_error_free(e);
        return GW_EINVAL;
    }
    return GW_OK;
}

static GwStatus field_int(GHashTable *q, const char *name, gint64 min, gint64 max, gint64 *out,
                          GError **err)
{
    const char *v = field(q, name);
    if (v == NULL)
        return GW_OK;
    if (!all_digits(v) || strlen(v) > 18 || g_ascii_strtoll(v, NULL, 10) < min ||
        g_ascii_strtoll(v, NULL, 10) > max)
        return gw_fail(err, GW_EINVAL, "%s: a number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT,
                       name, min, max);
    *out = g_ascii_strtoll(v, NULL, 10);
    return GW_OK;
}

GwStatus adm_log_filter_parse(GHashTable *query, int default_limit, GwLogFilter *f, GError **err)
{
    *f = (GwLogFilter){.limit = default_limit};
    gint64 limit = default_limit, cursor = 0;
    if (field_time(query, "from", &f->from_ms, err) != GW_OK ||
        field_time(query, "to", &f->to_ms, err) != GW_OK ||
        field_int(query, "limit", 1, GW_LOG_SEARCH_MAX, &limit, err) != GW_OK ||
        field_int(query, "cursor", 1, G_MAXINT64 / 2, &cursor, err) != GW_OK)
        return GW_EINVAL;
    f->limit = (int)limit;
    f->before_id = cursor;
    f->virtual_key = field(query, "virtual_key");
    f->agent = field(query, "agent");
    f->department = field(query, "department");
    f->model = field(query, "model");
    f->provider = field(query, "provider");
    f->session_id = field(query, "session_id");
    f->property_name = field(query, "property");
    f->property_value = field(query, "value");
    if (f->property_value != NULL && f->property_name == NULL)
        return gw_fail(err, GW_EINVAL, "value: name the property too");
    const char *cache = field(query, "cache");
    if (cache != NULL) {
        if (g_ascii_strcasecmp(cache, "HIT") == 0)
            f->cache_status = "HIT";
        else if (g_ascii_strcasecmp(cache, "MISS") == 0)
            f->cache_status = "MISS";
        else
            return gw_fail(err, GW_EINVAL, "cache: HIT or MISS");
    }
    f->status = field(query, "status");
    GwStatusRange sr;
    GError *e = NULL;
    if (f->status != NULL && gw_log_status_parse(f->status, &sr, &e) != GW_OK) {
        gw_fail(err, GW_EINVAL, "%s", e->message);
        g_error_free(e);
        return GW_EINVAL;
    }
    return GW_OK;
}

GwStatus adm_session_query_parse(GHashTable *query, int default_limit, GwSessionQuery *q,
                                 GError **err)
{
    *q = (GwSessionQuery){.limit = default_limit};
    gint64 limit = default_limit;
    if (field_time(query, "from", &q->from_ms, err) != GW_OK ||
        field_time(query, "to", &q->to_ms, err) != GW_OK ||
        field_int(query, "limit", 1, GW_LOG_SEARCH_MAX, &limit, err) != GW_OK ||
        field_int(query, "cursor_at", 1, G_MAXINT64 / 2, &q->before_last_at, err) != GW_OK)
        return GW_EINVAL;
    q->limit = (int)limit;
    q->before_session = field(query, "cursor_id");
    return GW_OK;
}

void adm_query_append(GString *out, GHashTable *query, const char *const *names)
{
    for (const char *const *n = names; *n != NULL; n++) {
        const char *v = field(query, *n);
        if (v == NULL)
            continue;
        if (out->len > 0 && out->str[out->len - 1] != '?')
            g_string_append_c(out, '&');
        g_string_append_uri_escaped(out, *n, NULL, FALSE);
        g_string_append_c(out, '=');
        g_string_append_uri_escaped(out, v, NULL, FALSE);
    }
}

const char *const adm_analytics_params[] = {"range", "from", "to", "by", "property", "top", NULL};

GwStatus adm_analytics_query_parse(GHashTable *query, gint64 now_ms, AdmAnalyticsQuery *q,
                                   GError **err)
{
    *q = (AdmAnalyticsQuery){.by = GW_DIM_MODEL, .top = 10};
    const char *from = field(query, "from"), *to = field(query, "to");
    if (from != NULL || to != NULL) {
        q->to_ms = now_ms;
        q->from_ms = now_ms - 7 * GW_DAY_MS;
        if (field_time(query, "from", &q->from_ms, err) != GW_OK ||
            field_time(query, "to", &q->to_ms, err) != GW_OK)
            return GW_EINVAL;
        if (q->to_ms <= q->from_ms)
            return gw_fail(err, GW_EINVAL, "to: must be after from");
    } else {
        static const struct {
            const char *name;
            gint64 ms;
        } ranges[] = {{"24h", GW_DAY_MS}, {"7d", 7 * GW_DAY_MS}, {"30d", 30 * GW_DAY_MS},
                      {"90d", 90 * GW_DAY_MS}};
        const char *r = field(query, "range");
        if (r == NULL)
            r = "7d";
        gsize i = 0;
        while (i < G_N_ELEMENTS(ranges) && strcmp(ranges[i].name, r) != 0)
            i++;
        if (i == G_N_ELEMENTS(ranges))
            return gw_fail(err, GW_EINVAL, "range: 24h, 7d, 30d or 90d");
        q->range = ranges[i].name;
        q->to_ms = now_ms + 1; /* include requests of this very millisecond */
        q->from_ms = q->to_ms - ranges[i].ms;
    }
    const char *by = field(query, "by");
    if (by != NULL && gw_analytics_dim_parse(by, &q->by, err) != GW_OK)
        return GW_EINVAL;
    q->property = field(query, "property");
    if (q->by == GW_DIM_PROPERTY && q->property == NULL)
        return gw_fail(err, GW_EINVAL, "property: name the property to break down by");
    gint64 top = 10;
    if (field_int(query, "top", 1, GW_ANALYTICS_TOP_MAX, &top, err) != GW_OK)
        return GW_EINVAL;
    q->top = (int)top;
    return GW_OK;
}
