/* logquery.h — the query-string parameters of the Logs, Sessions and Analytics pages and their
 * API: parsing them into store queries (times, filters, cursors, ranges) and writing them back
 * into links (next page, CSV, JSON). Pure: works on a field table, unit-tested. */
#ifndef ADM_LOGQUERY_H
#define ADM_LOGQUERY_H

#include <glib.h>
#include "analytics.h"
#include "status.h"
#include "store_logs.h"

/* A time as the forms send it, in UTC: "2026-01-02", "2026-01-02T03:04" (datetime-local),
 * "2026-01-02 03:04[:05]", or Unix milliseconds (digits). A date alone means its start. */
GwStatus adm_time_parse(const char *s, gint64 *out_ms, GError **err);
/* Unix ms → "2026-01-02T03:04" (the datetime-local form value). Caller frees. */
char *adm_time_input(gint64 ms);

/* The filter parameters, in the order the form shows them; every one is also a GwLogFilter
 * member (see adm_log_filter_parse). */
extern const char *const adm_log_filter_params[];

/* Fills *f from the query fields (strings borrowed from query; empty fields are absent):
 * from, to, virtual_key, agent, department, model, provider, status, session_id, cache
 * (HIT/MISS, any case), property, value, cursor (before_id), limit (default default_limit).
 * GW_EINVAL with a message naming the field on a bad value. */
GwStatus adm_log_filter_parse(GHashTable *query, int default_limit, GwLogFilter *f, GError **err);

/* Sessions list parameters: from, to, limit (as for logs), cursor_at (Unix ms) and cursor_id
 * (the next_cursor of the previous page). */
GwStatus adm_session_query_parse(GHashTable *query, int default_limit, GwSessionQuery *q,
                                 GError **err);

/* Appends "name=value&…" (percent-encoded) of the non-empty fields among names (NULL-ended). */
void adm_query_append(GString *out, GHashTable *query, const char *const *names);

/* Analytics parameters: range (24h, 7d, 30d, 90d; default 7d) or from/to, by (default model),
 * property, top (default 10). *now_ms is the clock (for ranges ending now). */
typedef struct {
    gint64 from_ms, to_ms;
    const char *range;          /* the named range used, NULL when from/to were given */
    GwAnalyticsDim by;
    const char *property;       /* borrowed */
    int top;
} AdmAnalyticsQuery;
GwStatus adm_analytics_query_parse(GHashTable *query, gint64 now_ms, AdmAnalyticsQuery *q,
                                   GError **err);
extern const char *const adm_analytics_params[];

#endif
