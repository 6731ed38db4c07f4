/* store_logs.c — SQLite implementation of store_logs.h: the admin's log listing, log detail and
 * sessions. Every statement is a constant string; optional filters use (?N IS NULL OR …). */
#include "config.h"
#include "store_logs.h"
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#include "cost.h"
#include "sse_message.h"

GwStatus gw_log_status_parse(const char *s, GwStatusRange *out, GError **err)
{
    if (s == NULL || out == NULL)
        return gw_fail(err, GW_EINVAL, "status filter: empty");
    *out = (GwStatusRange){0};
    if (g_ascii_strcasecmp(s, "error") == 0) {
        *out = (GwStatusRange){.lo = 400, .hi = 999, .with_null = TRUE};
        return GW_OK;
    }
    if (g_ascii_strcasecmp(s, "ok") == 0) {
        *out = (GwStatusRange){.lo = 100, .hi = 399};
        return GW_OK;
    }
    if (strlen(s) == 3 && s[0] >= '1' && s[0] <= '5' && g_ascii_tolower(s[1]) == 'x' &&
        g_ascii_tolower(s[2]) == 'x') {
        int c = s[0] - '0';
        *out = (GwStatusRange){.lo = c * 100, .hi = c * 100 + 99};
        return GW_OK;
    }
    if (strlen(s) == 3 && g_ascii_isdigit(s[0]) && g_ascii_isdigit(s[1]) && g_ascii_isdigit(s[2]) &&
        s[0] >= '1') {
        int v = atoi(s);
        *out = (GwStatusRange){.lo = v, .hi = v};
        return GW_OK;
    }
    return gw_fail(err, GW_EINVAL,
                   "status filter: use a status code (200), a class (4xx, 5xx), error or ok");
}

/* ---- listing ---- */

/* The summary columns (no bodies); names are looked up per row, properties folded into one JSON
 * object per row. */
#define SUMMARY_SELECT                                                                         \
    "SELECT l.id, l.request_id, l.created_at, l.latency_ms, l.ttfb_ms, "                      \
    "(SELECT name FROM virtual_keys WHERE id = l.virtual_key_id), "                           \
    "(SELECT name FROM agents WHERE id = l.agent_id), "                                       \
    "(SELECT name FROM departments WHERE id = l.department_id), "                             \
    "l.provider, l.model, l.method, l.path, l.status, l.error_code, l.prompt_tokens, "        \
    "l.completion_tokens, l.total_tokens, l.cost_nanos, l.stream, l.session_id, "             \
    "l.session_path, l.cache_status, l.cache_saved_nanos, "                                   \
    "(SELECT json_group_object(rp.name, rp.value) FROM request_properties rp "                \
    "WHERE rp.log_id = l.id) "

/* ?1 limit, ?2 before id, ?3/?4 time range, ?5 key, ?6 agent, ?7 department (names: an unknown
 * name matches nothing), ?8 model, ?9 provider, ?10/?11/?12 status range and "no status too",
 * ?13 session, ?14 cache status, ?15/?16 property name and value. CA is how the time range
 * reads created_at: "+l.created_at" (the unary plus keeps the planner off the created_at index,
 * so it walks ids in order and stops at the page size) or "l.created_at" (index range). */
#define FILTERS(CA)                                                                             \
    "l.id < ?2 AND " CA " >= ?3 AND " CA " < ?4 "                                              \
    "AND (?5 IS NULL OR l.virtual_key_id = (SELECT id FROM virtual_keys WHERE name = ?5)) "    \
    "AND (?6 IS NULL OR l.agent_id = (SELECT id FROM agents WHERE name = ?6)) "                \
    "AND (?7 IS NULL OR l.department_id = (SELECT id FROM departments WHERE name = ?7)) "      \
    "AND (?8 IS NULL OR l.model = ?8) AND (?9 IS NULL OR l.provider = ?9) "                    \
    "AND (?10 IS NULL OR l.status BETWEEN ?10 AND ?11 OR (?12 = 1 AND l.status IS NULL)) "     \
    "AND (?13 IS NULL OR l.session_id = ?13) AND (?14 IS NULL OR l.cache_status = ?14) "
/* The property test where no join on request_properties drives the query. */
#define PROPERTY_FILTER                                                                        \
    "AND (?15 IS NULL OR EXISTS (SELECT 1 FROM request_properties rp WHERE rp.log_id = l.id " \
    "AND rp.name = ?15 AND (?16 IS NULL OR rp.value = ?16))) "

/* Four plans for the same filters (the property variant's join is its property test) (EXPLAIN QUERY PLAN in README "Admin: Logs, Sessions and
 * Analytics"):
 * - scan: walks ids downwards from the cursor, reading only as many rows as the page needs
 *   (unless the filters are rare);
 * - time: a start time was given: the rows of [from, to) through the created_at index, sorted
 *   (bounded by the range instead of the table);
 * - session: one session's rows through its index;
 * - property: one property value through request_properties (name, value, log_id), in id order. */
static const char SQL_SEARCH_SCAN[] =
    SUMMARY_SELECT "FROM request_logs l WHERE " FILTERS("+l.created_at") PROPERTY_FILTER
                   "ORDER BY l.id DESC LIMIT ?1";
static const char SQL_SEARCH_TIME[] =
    SUMMARY_SELECT "FROM request_logs l WHERE " FILTERS("l.created_at") PROPERTY_FILTER
                   "ORDER BY l.id DESC LIMIT ?1";
static const char SQL_SEARCH_SESSION[] =
    SUMMARY_SELECT "FROM request_logs l WHERE l.session_id = ?13 AND " FILTERS("+l.created_at")
                   PROPERTY_FILTER "ORDER BY l.id DESC LIMIT ?1";
static const char SQL_SEARCH_PROPERTY[] =
    SUMMARY_SELECT "FROM request_properties px JOIN request_logs l ON l.id = px.log_id "
                   "WHERE px.name = ?15 AND px.value = ?16 AND px.log_id < ?2 AND "
                   FILTERS("+l.created_at") "ORDER BY px.log_id DESC LIMIT ?1";

static json_t *col_int(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? json_null()
                                                    : json_integer(sqlite3_column_int64(s, i));
}

static json_t *usd_or_null(sqlite3_stmt *s, int i)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return json_null();
    char *usd = gw_cost_format_usd(sqlite3_column_int64(s, i));
    json_t *v = usd != NULL ? json_string(usd) : json_null();
    g_free(usd);
    return v;
}

/* A JSON object stored as text (json_group_object, request_headers); {} when unreadable. */
static json_t *col_object(sqlite3_stmt *s, int i, gboolean null_ok)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (t == NULL)
        return null_ok ? json_null() : json_object();
    json_t *o = json_loadb(t, (size_t)sqlite3_column_bytes(s, i), 0, NULL);
    if (!json_is_object(o)) {
        json_decref(o);
        return json_object();
    }
    return o;
}

static json_t *summary_row(sqlite3_stmt *s)
{
    static const struct {
        const char *key;
        char kind;
    } cols[] = {
        {"id", 'i'},          {"request_id", 's'},  {"created_at", 'i'},  {"latency_ms", 'i'},
        {"ttfb_ms", 'i'},     {"virtual_key", 's'}, {"agent", 's'},       {"department", 's'},
        {"provider", 's'},    {"model", 's'},       {"method", 's'},      {"path", 's'},
        {"status", 'i'},      {"error_code", 's'},  {"prompt_tokens", 'i'},
        {"completion_tokens", 'i'},                 {"total_tokens", 'i'}, {"cost_nanos", 'i'},
        {"stream", 'b'},      {"session_id", 's'},  {"session_path", 's'}, {"cache_status", 's'},
        {"cache_saved_nanos", 'i'},                 {"properties", 'o'},
    };
    json_t *o = json_object();
    for (int i = 0; i < (int)G_N_ELEMENTS(cols); i++) {
        json_t *v;
        switch (cols[i].kind) {
        case 'i':
            v = col_int(s, i);
            break;
        case 'b':
            v = json_boolean(sqlite3_column_int(s, i) != 0);
            break;
        case 'o':
            v = col_object(s, i, FALSE);
            break;
        default:
            v = gw_store_json_text(s, i);
        }
        json_object_set_new(o, cols[i].key, v);
    }
    json_object_set_new(o, "cost_usd", usd_or_null(s, 17));
    return o;
}

static int bind_text(sqlite3_stmt *s, int i, const char *v)
{
    return v != NULL ? sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, i);
}

#define BIND(expr)                      \
    do {                                \
        if ((rc = (expr)) != SQLITE_OK) \
            goto check_rc;              \
    } while (0)

GwStatus gw_store_logs_search_json(GwStore *st, const GwLogFilter *f, json_t **out, GError **err)
{
    if (f == NULL || out == NULL)
        return gw_fail(err, GW_EINVAL, "log search: no filter");
    if (f->limit < 1 || f->limit > GW_LOG_SEARCH_MAX)
        return gw_fail(err, GW_EINVAL, "log search: limit must be 1 to %d", GW_LOG_SEARCH_MAX);
    if (f->before_id < 0 || f->from_ms < 0 || f->to_ms < 0)
        return gw_fail(err, GW_EINVAL, "log search: cursor and times must not be negative");
    if (f->property_value != NULL && f->property_name == NULL)
        return gw_fail(err, GW_EINVAL, "log search: a property value needs a property name");
    if (f->cache_status != NULL && strcmp(f->cache_status, "HIT") != 0 &&
        strcmp(f->cache_status, "MISS") != 0)
        return gw_fail(err, GW_EINVAL, "log search: cache status is HIT or MISS");
    GwStatusRange sr = {0};
    if (f->status != NULL && gw_log_status_parse(f->status, &sr, err) != GW_OK)
        return GW_EINVAL;

    const char *sql = f->property_name != NULL && f->property_value != NULL ? SQL_SEARCH_PROPERTY
                      : f->session_id != NULL                                ? SQL_SEARCH_SESSION
                      : f->from_ms > 0                                       ? SQL_SEARCH_TIME
                                                                             : SQL_SEARCH_SCAN;
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, sql, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc;
    /* One row more than asked tells whether an older page exists. */
    BIND(sqlite3_bind_int(s, 1, f->limit + 1));
    BIND(sqlite3_bind_int64(s, 2, f->before_id > 0 ? f->before_id : G_MAXINT64));
    BIND(sqlite3_bind_int64(s, 3, f->from_ms));
    BIND(sqlite3_bind_int64(s, 4, f->to_ms > 0 ? f->to_ms : G_MAXINT64));
    BIND(bind_text(s, 5, f->virtual_key));
    BIND(bind_text(s, 6, f->agent));
    BIND(bind_text(s, 7, f->department));
    BIND(bind_text(s, 8, f->model));
    BIND(bind_text(s, 9, f->provider));
    if (f->status != NULL) {
        BIND(sqlite3_bind_int(s, 10, sr.lo));
        BIND(sqlite3_bind_int(s, 11, sr.hi));
        BIND(sqlite3_bind_int(s, 12, sr.with_null ? 1 : 0));
    }
    BIND(bind_text(s, 13, f->session_id));
    BIND(bind_text(s, 14, f->cache_status));
    BIND(bind_text(s, 15, f->property_name));
    BIND(bind_text(s, 16, f->property_value));

    json_t *rows = json_array();
    gint64 last_id = 0;
    gboolean more = FALSE;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((int)json_array_size(rows) == f->limit) {
            more = TRUE;
            break;
        }
        last_id = sqlite3_column_int64(s, 0);
        json_array_append_new(rows, summary_row(s));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        gs = gw_store_fail(st, rc, "searching request logs", err);
        gw_store_done(s);
        json_decref(rows);
        return gs;
    }
    gw_store_done(s);
    *out = json_pack("{s:o, s:o}", "rows", rows, "next_cursor",
                     more ? json_integer(last_id) : json_null());
    return GW_OK;
check_rc:
    gs = gw_store_fail(st, rc, "searching request logs", err);
    gw_store_done(s);
    return gs;
}

/* ---- one row in full ---- */

static const char SQL_DETAIL[] =
    "SELECT l.*, v.name AS virtual_key, a.name AS agent, d.name AS department, "
    "p.name AS provider_key FROM request_logs l "
    "LEFT JOIN virtual_keys v ON v.id = l.virtual_key_id "
    "LEFT JOIN agents a ON a.id = l.agent_id "
    "LEFT JOIN departments d ON d.id = l.department_id "
    "LEFT JOIN provider_keys p ON p.id = l.provider_key_id WHERE l.id = ?1";

static gboolean is_flag_column(const char *name)
{
    static const char *const flags[] = {"stream", "request_truncated", "response_truncated",
                                        "request_omitted", "response_omitted"};
    for (gsize i = 0; i < G_N_ELEMENTS(flags); i++)
        if (strcmp(name, flags[i]) == 0)
            return TRUE;
    return FALSE;
}

/* Every column by its name, so columns added by later migrations show up too. */
static json_t *detail_row(sqlite3_stmt *s)
{
    json_t *o = json_object();
    int n = sqlite3_column_count(s);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(s, i);
        json_t *v;
        if (strcmp(name, "attempts") == 0)
            name = "attempt_count"; /* "attempts" is the list below */
        if (strcmp(name, "request_headers") == 0) {
            v = col_object(s, i, TRUE);
        } else if (sqlite3_column_type(s, i) == SQLITE_NULL) {
            v = json_null();
        } else if (is_flag_column(name)) {
            v = json_boolean(sqlite3_column_int(s, i) != 0);
        } else {
            switch (sqlite3_column_type(s, i)) {
            case SQLITE_INTEGER:
                v = json_integer(sqlite3_column_int64(s, i));
                break;
            case SQLITE_FLOAT:
                v = json_real(sqlite3_column_double(s, i));
                break;
            case SQLITE_TEXT:
                v = gw_store_json_text(s, i);
                break;
            default:
                v = json_string("(binary)");
            }
        }
        json_object_set_new(o, name, v);
    }
    return o;
}

static void set_usd(json_t *o, const char *nanos_key, const char *usd_key)
{
    json_t *n = json_object_get(o, nanos_key);
    char *usd = json_is_integer(n) ? gw_cost_format_usd(json_integer_value(n)) : NULL;
    json_object_set_new(o, usd_key, usd != NULL ? json_string(usd) : json_null());
    g_free(usd);
}

GwStatus gw_store_log_detail_json(GwStore *st, gint64 id, json_t **out, GError **err)
{
    if (out == NULL || id <= 0)
        return gw_fail(err, GW_ENOTFOUND, "log %" G_GINT64_FORMAT " not found", id);
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_DETAIL, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc = sqlite3_bind_int64(s, 1, id);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc == SQLITE_DONE) {
        gw_store_done(s);
        return gw_fail(err, GW_ENOTFOUND, "log %" G_GINT64_FORMAT " not found", id);
    }
    if (rc != SQLITE_ROW) {
        gs = gw_store_fail(st, rc, "reading a request log", err);
        gw_store_done(s);
        return gs;
    }
    json_t *o = detail_row(s);
    gw_store_done(s);
    set_usd(o, "cost_nanos", "cost_usd");
    set_usd(o, "cache_saved_nanos", "cache_saved_usd");
    json_t *attempts = NULL, *props = NULL;
    gs = gw_store_log_attempts_json(st, id, &attempts, err);
    if (gs == GW_OK) {
        json_object_set_new(o, "attempts", attempts);
        gs = gw_store_log_properties_json(st, id, &props, err);
    }
    if (gs == GW_OK) {
        json_object_set_new(o, "properties", props);
        gs = gw_store_log_decisions_json(st, id, o, err);
    }
    if (gs != GW_OK) {
        json_decref(o);
        return gs;
    }
    const char *body = json_string_value(json_object_get(o, "response_body"));
    json_t *msg = json_is_true(json_object_get(o, "stream")) && body != NULL
                      ? gw_sse_message_assemble(body, strlen(body))
                      : NULL;
    json_object_set_new(o, "response_message", msg != NULL ? msg : json_null());
    *out = o;
    return GW_OK;
}

/* ---- sessions ---- */

/* ?1 limit, ?2 one session, ?3/?4 time range, ?5/?6 cursor (last_at, session id). */
static const char SQL_SESSIONS[] =
    "SELECT l.session_id, "
    "(SELECT n.session_name FROM request_logs n WHERE n.session_id = l.session_id "
    "AND n.session_name IS NOT NULL ORDER BY n.created_at DESC, n.id DESC LIMIT 1), "
    "COUNT(*), SUM(l.status IS NULL OR l.status >= 400), SUM(l.cost_nanos), "
    "SUM(l.prompt_tokens), SUM(l.completion_tokens), SUM(l.total_tokens), MIN(l.created_at), "
    "MAX(l.created_at), MAX(l.created_at + COALESCE(l.latency_ms, 0)) "
    "FROM request_logs l WHERE l.session_id IS NOT NULL AND (?2 IS NULL OR l.session_id = ?2) "
    "GROUP BY l.session_id "
    "HAVING MAX(l.created_at) >= ?3 AND MIN(l.created_at) < ?4 "
    "AND (?5 IS NULL OR MAX(l.created_at) < ?5 OR (MAX(l.created_at) = ?5 AND l.session_id > ?6)) "
    "ORDER BY MAX(l.created_at) DESC, l.session_id LIMIT ?1";

static json_t *session_row(sqlite3_stmt *s)
{
    json_t *o = json_object();
    json_object_set_new(o, "session_id", gw_store_json_text(s, 0));
    json_object_set_new(o, "name", gw_store_json_text(s, 1));
    json_object_set_new(o, "requests", col_int(s, 2));
    json_object_set_new(o, "errors", col_int(s, 3));
    /* SUM over only unknown values is NULL: unknown, not zero. */
    json_object_set_new(o, "cost_nanos", col_int(s, 4));
    json_object_set_new(o, "cost_usd", usd_or_null(s, 4));
    json_object_set_new(o, "prompt_tokens", col_int(s, 5));
    json_object_set_new(o, "completion_tokens", col_int(s, 6));
    json_object_set_new(o, "total_tokens", col_int(s, 7));
    gint64 first = sqlite3_column_int64(s, 8);
    json_object_set_new(o, "first_at", json_integer(first));
    json_object_set_new(o, "last_at", json_integer(sqlite3_column_int64(s, 9)));
    json_object_set_new(o, "duration_ms", json_integer(sqlite3_column_int64(s, 10) - first));
    return o;
}

GwStatus gw_store_sessions_query_json(GwStore *st, const GwSessionQuery *q, json_t **out,
                                      GError **err)
{
    if (q == NULL || out == NULL || q->limit < 1 || q->limit > GW_LOG_SEARCH_MAX)
        return gw_fail(err, GW_EINVAL, "sessions: limit must be 1 to %d", GW_LOG_SEARCH_MAX);
    if (q->before_last_at < 0 || q->from_ms < 0 || q->to_ms < 0)
        return gw_fail(err, GW_EINVAL, "sessions: cursor and times must not be negative");
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_SESSIONS, &s, err);
    if (gs != GW_OK)
        return gs;
    int rc;
    BIND(sqlite3_bind_int(s, 1, q->limit + 1));
    BIND(bind_text(s, 2, q->session_id));
    BIND(sqlite3_bind_int64(s, 3, q->from_ms));
    BIND(sqlite3_bind_int64(s, 4, q->to_ms > 0 ? q->to_ms : G_MAXINT64));
    if (q->before_last_at > 0) {
        BIND(sqlite3_bind_int64(s, 5, q->before_last_at));
        BIND(bind_text(s, 6, q->before_session != NULL ? q->before_session : ""));
    }
    json_t *rows = json_array();
    json_t *cursor = json_null();
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((int)json_array_size(rows) == q->limit) {
            json_t *last = json_array_get(rows, json_array_size(rows) - 1);
            json_decref(cursor);
            cursor = json_pack("{s:O, s:O}", "last_at", json_object_get(last, "last_at"),
                               "session_id", json_object_get(last, "session_id"));
            break;
        }
        json_array_append_new(rows, session_row(s));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        gs = gw_store_fail(st, rc, "listing sessions", err);
        gw_store_done(s);
        json_decref(rows);
        json_decref(cursor);
        return gs;
    }
    gw_store_done(s);
    *out = json_pack("{s:o, s:o}", "sessions", rows, "next_cursor", cursor);
    return GW_OK;
check_rc:
    gs = gw_store_fail(st, rc, "listing sessions", err);
    gw_store_done(s);
    return gs;
}

static const char SQL_SESSION_PATHS[] =
    "SELECT session_path, COUNT(*), SUM(cost_nanos) FROM request_logs "
    "WHERE session_id = ?1 GROUP BY session_path ORDER BY session_path";

GwStatus gw_store_session_paths_json(GwStore *st, const char *session_id, json_t **out,
                                     GError **err)
{
    if (session_id == NULL || out == NULL)
        return gw_fail(err, GW_EINVAL, "session paths: no session id");
    sqlite3_stmt *s = NULL;
    GwStatus gs = gw_store_prepare(st, SQL_SESSION_PATHS, &s, err);
    if (gs != GW_OK)
        return gs;
    json_t *arr = json_array();
    int rc = bind_text(s, 1, session_id);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_array_append_new(arr, json_pack("{s:o, s:o, s:o}", "path", gw_store_json_text(s, 0),
                                             "requests", col_int(s, 1), "cost_nanos",
                                             col_int(s, 2)));
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        gs = gw_store_fail(st, rc, "listing session paths", err);
        json_decref(arr);
        arr = NULL;
    }
    gw_store_done(s);
    if (arr != NULL)
        *out = arr;
    return gs;
}
