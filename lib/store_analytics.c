/* store_analytics.c — SQL of analytics.h. One aggregate statement and one percentile statement
 * per grouping, all constant strings built from the macros below at compile time. Percentiles are
 * exact (nearest rank, gw_percentile_rank): a window numbers each group's latencies in order and
 * the rows at the p50 and p95 ranks are picked. */
#include "config.h"
#include "analytics.h"
#include "store_internal.h"

#include <string.h>

#include "cost.h"

/* ?1 from, ?2 to (created_at in [?1, ?2)); ?3 bucket ms (series) or property name; ?4 limit. */
#define RANGE " WHERE l.created_at >= ?1 AND l.created_at < ?2 "
#define AGG_COLS                                                                             \
    "COUNT(*), SUM(l.cost_nanos), SUM(l.prompt_tokens), SUM(l.completion_tokens), "         \
    "SUM(l.total_tokens), SUM(l.status IS NULL OR l.status >= 400), "                       \
    "SUM(l.cache_status = 'HIT'), SUM(l.cache_status IS NOT NULL), SUM(l.cache_saved_nanos) "
#define AGG_SQL(KEY, JOIN, ORDER) \
    "SELECT " KEY " AS k, " AGG_COLS "FROM request_logs l " JOIN RANGE "GROUP BY k " ORDER " LIMIT ?4"
#define PCT_SQL(KEY, JOIN)                                                                     \
    "SELECT k, MAX(CASE WHEN rn = (50 * cnt + 99) / 100 THEN lat END), "                      \
    "MAX(CASE WHEN rn = (95 * cnt + 99) / 100 THEN lat END) FROM (SELECT " KEY " AS k, "      \
    "l.latency_ms AS lat, ROW_NUMBER() OVER (PARTITION BY " KEY " ORDER BY l.latency_ms) AS rn, " \
    "COUNT(*) OVER (PARTITION BY " KEY ") AS cnt FROM request_logs l " JOIN RANGE             \
    "AND l.latency_ms IS NOT NULL) GROUP BY k"

#define BY_TOP "ORDER BY COUNT(*) DESC, k"
#define KEY_BUCKET "((l.created_at - ?1) / ?3)"
#define JOIN_VK "LEFT JOIN virtual_keys v ON v.id = l.virtual_key_id"
#define JOIN_AGENT "LEFT JOIN agents a ON a.id = l.agent_id"
#define JOIN_DEPT "LEFT JOIN departments d ON d.id = l.department_id"
#define JOIN_PROP "LEFT JOIN request_properties rp ON rp.log_id = l.id AND rp.name = ?3"

static const char SQL_SERIES_AGG[] = AGG_SQL(KEY_BUCKET, "", "ORDER BY k");
static const char SQL_SERIES_PCT[] = PCT_SQL(KEY_BUCKET, "");
static const char SQL_TOTAL_AGG[] = AGG_SQL("0", "", "ORDER BY k");
static const char SQL_TOTAL_PCT[] = PCT_SQL("0", "");

static const struct {
    const char *agg, *pct;
} dim_sql[] = {
    [GW_DIM_MODEL] = {AGG_SQL("l.model", "", BY_TOP), PCT_SQL("l.model", "")},
    [GW_DIM_PROVIDER] = {AGG_SQL("l.provider", "", BY_TOP), PCT_SQL("l.provider", "")},
    [GW_DIM_VIRTUAL_KEY] = {AGG_SQL("v.name", JOIN_VK, BY_TOP), PCT_SQL("v.name", JOIN_VK)},
    [GW_DIM_AGENT] = {AGG_SQL("a.name", JOIN_AGENT, BY_TOP), PCT_SQL("a.name", JOIN_AGENT)},
    [GW_DIM_DEPARTMENT] = {AGG_SQL("d.name", JOIN_DEPT, BY_TOP), PCT_SQL("d.name", JOIN_DEPT)},
    [GW_DIM_PROPERTY] = {AGG_SQL("rp.value", JOIN_PROP, BY_TOP), PCT_SQL("rp.value", JOIN_PROP)},
};

static json_t *col_int(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? json_null()
                                                    : json_integer(sqlite3_column_int64(s, i));
}

static json_t *usd(json_t *nanos)
{
    char *t = json_is_integer(nanos) ? gw_cost_format_usd(json_integer_value(nanos)) : NULL;
    json_t *v = t != NULL ? json_string(t) : json_null();
    g_free(t);
    return v;
}

static json_t *ratio(gint64 num, gint64 den)
{
    return den > 0 ? json_real((double)num / (double)den) : json_null();
}

/* Metrics from AGG_COLS starting at column c0 into o. */
static void set_metrics(json_t *o, sqlite3_stmt *s, int c0)
{
    gint64 requests = sqlite3_column_int64(s, c0);
    json_object_set_new(o, "requests", json_integer(requests));
    json_t *cost = col_int(s, c0 + 1);
    json_object_set_new(o, "cost_usd", usd(cost));
    json_object_set_new(o, "cost_nanos", cost);
    json_object_set_new(o, "prompt_tokens", col_int(s, c0 + 2));
    json_object_set_new(o, "completion_tokens", col_int(s, c0 + 3));
    json_object_set_new(o, "total_tokens", col_int(s, c0 + 4));
    gint64 errors = sqlite3_column_int64(s, c0 + 5);
    json_object_set_new(o, "errors", json_integer(errors));
    json_object_set_new(o, "error_rate", ratio(errors, requests));
    gint64 hits = sqlite3_column_int64(s, c0 + 6), lookups = sqlite3_column_int64(s, c0 + 7);
    json_object_set_new(o, "cache_hits", json_integer(hits));
    json_object_set_new(o, "cache_lookups", json_integer(lookups));
    json_object_set_new(o, "cache_hit_rate", ratio(hits, lookups));
    json_t *saved = col_int(s, c0 + 8);
    json_object_set_new(o, "cache_saved_usd", usd(saved));
    json_object_set_new(o, "cache_saved_nanos", saved);
}

/* A point or row with no requests. */
static json_t *empty_metrics(void)
{
    json_t *o = json_object();
    json_object_set_new(o, "requests", json_integer(0));
    const char *nulls[] = {"cost_nanos", "cost_usd", "prompt_tokens", "completion_tokens",
                           "total_tokens", "error_rate", "latency_p50_ms", "latency_p95_ms",
                           "cache_hit_rate", "cache_saved_nanos", "cache_saved_usd"};
    for (gsize i = 0; i < G_N_ELEMENTS(nulls); i++)
        json_object_set_new(o, nulls[i], json_null());
    json_object_set_new(o, "errors", json_integer(0));
    json_object_set_new(o, "cache_hits", json_integer(0));
    json_object_set_new(o, "cache_lookups", json_integer(0));
    return o;
}

/* Binds the parameters a statement has (?3 and ?4 are not in every one). */
static int bind_params(sqlite3_stmt *s, gint64 from, gint64 to, gint64 bucket, const char *prop,
                       int limit)
{
    int n = sqlite3_bind_parameter_count(s);
    int rc = sqlite3_bind_int64(s, 1, from);
    if (rc == SQLITE_OK)
        rc = sqlite3_bind_int64(s, 2, to);
    if (rc == SQLITE_OK && n >= 3)
        rc = prop != NULL ? sqlite3_bind_text(s, 3, prop, -1, SQLITE_TRANSIENT)
                          : sqlite3_bind_int64(s, 3, bucket);
    if (rc == SQLITE_OK && n >= 4)
        rc = sqlite3_bind_int(s, 4, limit);
    return rc;
}

/* The key column as a hash key: "" for NULL, "v:" + text otherwise (keys are text or integers). */
static char *key_of(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return g_strdup("");
    return g_strconcat("v:", (const char *)sqlite3_column_text(s, i), NULL);
}

/* Runs an aggregate statement: rows (new array) in statement order; by_key maps key_of → row. */
static GwStatus run_agg(GwStore *st, const char *sql, gint64 from, gint64 to, gint64 bucket,
                        const char *prop, int limit, gboolean key_is_bucket, json_t **rows_out,
                        GHashTable *by_key, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    json_t *rows = json_array();
    int rc = bind_params(s, from, to, bucket, prop, limit);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *o = json_object();
        if (key_is_bucket)
            json_object_set_new(o, "start", json_integer(from + sqlite3_column_int64(s, 0) * bucket));
        else
            json_object_set_new(o, "key", gw_store_json_text(s, 0));
        set_metrics(o, s, 1);
        json_object_set_new(o, "latency_p50_ms", json_null());
        json_object_set_new(o, "latency_p95_ms", json_null());
        g_hash_table_insert(by_key, key_of(s, 0), o);
        json_array_append_new(rows, o);
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        gs = gw_store_fail(st, rc, "computing analytics", err);
        json_decref(rows);
        rows = NULL;
    }
    gw_store_done(s);
    *rows_out = rows;
    return gs;
}

/* Fills latency_p50_ms / latency_p95_ms of the rows in by_key. */
static GwStatus run_pct(GwStore *st, const char *sql, gint64 from, gint64 to, gint64 bucket,
                        const char *prop, GHashTable *by_key, GError **err)
{
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc = bind_params(s, from, to, bucket, prop, 0);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        char *k = key_of(s, 0);
        json_t *o = g_hash_table_lookup(by_key, k);
        g_free(k);
        if (o != NULL) {
            json_object_set_new(o, "latency_p50_ms", col_int(s, 1));
            json_object_set_new(o, "latency_p95_ms", col_int(s, 2));
        }
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE)
        gs = gw_store_fail(st, rc, "computing latency percentiles", err);
    gw_store_done(s);
    return gs;
}

static GwStatus check_range(gint64 from, gint64 to, GError **err)
{
    if (from < 0 || to <= from)
        return gw_fail(err, GW_EINVAL, "analytics: the range must end after it starts");
    if (to - from > GW_ANALYTICS_MAX_RANGE_MS)
        return gw_fail(err, GW_EINVAL, "analytics: the range is limited to %d days",
                       (int)(GW_ANALYTICS_MAX_RANGE_MS / GW_DAY_MS));
    return GW_OK;
}

GwStatus gw_store_analytics_series_json(GwStore *st, gint64 from_ms, gint64 to_ms, json_t **out,
                                        GError **err)
{
    if (check_range(from_ms, to_ms, err) != GW_OK)
        return GW_EINVAL;
    gint64 bucket = gw_analytics_bucket_ms(from_ms, to_ms);
    gint64 from = from_ms - from_ms % bucket;
    gint64 to = to_ms % bucket == 0 ? to_ms : to_ms - to_ms % bucket + bucket;
    gint64 n = (to - from) / bucket;

    GHashTable *by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    json_t *found = NULL, *tot_rows = NULL;
    GwStatus gs = run_agg(st, SQL_SERIES_AGG, from, to, bucket, NULL, (int)n, TRUE, &found,
                          by_key, err);
    if (gs == GW_OK)
        gs = run_pct(st, SQL_SERIES_PCT, from, to, bucket, NULL, by_key, err);
    GHashTable *tot_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    if (gs == GW_OK)
        gs = run_agg(st, SQL_TOTAL_AGG, from, to, bucket, NULL, 1, FALSE, &tot_rows, tot_key, err);
    if (gs == GW_OK)
        gs = run_pct(st, SQL_TOTAL_PCT, from, to, bucket, NULL, tot_key, err);
    if (gs != GW_OK) {
        json_decref(found);
        json_decref(tot_rows);
        g_hash_table_unref(by_key);
        g_hash_table_unref(tot_key);
        return gs;
    }
    /* Every bucket, empty ones included, so a chart's x axis is continuous. */
    json_t *series = json_array();
    for (gint64 i = 0; i < n; i++) {
        char k[32];
        g_snprintf(k, sizeof k, "v:%" G_GINT64_FORMAT, i);
        json_t *o = g_hash_table_lookup(by_key, k);
        if (o != NULL) {
            json_array_append(series, o);
        } else {
            o = empty_metrics();
            json_object_set_new(o, "start", json_integer(from + i * bucket));
            json_array_append_new(series, o);
        }
    }
    json_t *totals = json_array_size(tot_rows) > 0 ? json_incref(json_array_get(tot_rows, 0))
                                                   : empty_metrics();
    json_object_del(totals, "key");
    *out = json_pack("{s:I, s:I, s:s, s:I, s:o, s:o}", "from", (json_int_t)from, "to",
                     (json_int_t)to, "bucket", bucket == GW_HOUR_MS ? "hour" : "day",
                     "bucket_ms", (json_int_t)bucket, "series", series, "totals", totals);
    json_decref(found);
    json_decref(tot_rows);
    g_hash_table_unref(by_key);
    g_hash_table_unref(tot_key);
    return GW_OK;
}

GwStatus gw_store_analytics_breakdown_json(GwStore *st, gint64 from_ms, gint64 to_ms,
                                           GwAnalyticsDim dim, const char *property, int top,
                                           json_t **out, GError **err)
{
    if (check_range(from_ms, to_ms, err) != GW_OK)
        return GW_EINVAL;
    if ((gsize)dim >= G_N_ELEMENTS(dim_sql))
        return gw_fail(err, GW_EINVAL, "analytics: unknown breakdown");
    if (top < 1 || top > GW_ANALYTICS_TOP_MAX)
        return gw_fail(err, GW_EINVAL, "analytics: top must be 1 to %d", GW_ANALYTICS_TOP_MAX);
    if (dim == GW_DIM_PROPERTY && (property == NULL || property[0] == '\0'))
        return gw_fail(err, GW_EINVAL, "analytics: name the property to break down by");
    const char *prop = dim == GW_DIM_PROPERTY ? property : NULL;
    GHashTable *by_key = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    json_t *rows = NULL;
    GwStatus gs = run_agg(st, dim_sql[dim].agg, from_ms, to_ms, 0, prop, top, FALSE, &rows,
                          by_key, err);
    if (gs == GW_OK)
        gs = run_pct(st, dim_sql[dim].pct, from_ms, to_ms, 0, prop, by_key, err);
    g_hash_table_unref(by_key);
    if (gs != GW_OK) {
        json_decref(rows);
        return gs;
    }
    *out = json_pack("{s:I, s:I, s:s, s:s?, s:o}", "from", (json_int_t)from_ms, "to",
                     (json_int_t)to_ms, "by", gw_analytics_dim_name(dim), "property", prop,
                     "rows", rows);
    return GW_OK;
}
