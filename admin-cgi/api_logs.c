/* api_logs.c — the JSON API of the Logs, Sessions and Analytics views (viewer role):
 *   GET /api/logs                 ?from&to&virtual_key&agent&department&model&provider&status
 *                                 &session_id&cache&property&value&limit&cursor
 *                                 → {"rows": [...], "next_cursor": id|null}
 *   GET /api/logs/{id}            one request in full
 *   GET /api/sessions             ?from&to&limit&cursor_at&cursor_id
 *   GET /api/sessions/{id}        {"session", "tree", "requests", "next_cursor"}
 *   GET /api/sessions/by-id?id=   the same, for ids holding '/'
 *   GET /api/analytics            ?range|from&to&by&property&top → {"series", "breakdown"}
 *   GET /api/analytics/series.csv, /api/analytics/breakdown.csv */
#include "config.h"

#include <string.h>

#include "http.h"
#include "logquery.h"
#include "logview.h"
#include "pathtree.h"
#include "router.h"
#include "store_logs.h"

static void fail(AdmCtx *c, GError *err)
{
    adm_respond_gerror(c, err);
    g_error_free(err);
}

static void api_logs_get(AdmCtx *c)
{
    GwLogFilter f;
    GError *err = NULL;
    json_t *res = NULL;
    if (adm_log_filter_parse(c->query, 50, &f, &err) != GW_OK ||
        gw_store_logs_search_json(c->store, &f, &res, &err) != GW_OK) {
        fail(c, err);
        return;
    }
    adm_respond_json(c, 200, res);
}

static void api_log_get(AdmCtx *c)
{
    const char *s = adm_param(c, 0);
    gint64 id = 0;
    gboolean ok = s != NULL && s[0] != '\0' && strlen(s) <= 18;
    for (const char *p = s; ok && *p != '\0'; p++)
        ok = g_ascii_isdigit(*p);
    if (ok)
        id = g_ascii_strtoll(s, NULL, 10);
    json_t *d = NULL;
    GError *err = NULL;
    if (id <= 0) {
        adm_respond_json_error(c, 404, "invalid_request_error", "not_found", "No such request");
        return;
    }
    if (gw_store_log_detail_json(c->store, id, &d, &err) != GW_OK) {
        fail(c, err);
        return;
    }
    adm_respond_json(c, 200, d);
}

static void api_sessions_get(AdmCtx *c)
{
    GwSessionQuery q;
    GError *err = NULL;
    json_t *res = NULL;
    if (adm_session_query_parse(c->query, 50, &q, &err) != GW_OK ||
        gw_store_sessions_query_json(c->store, &q, &res, &err) != GW_OK) {
        fail(c, err);
        return;
    }
    adm_respond_json(c, 200, res);
}

static void api_session_get(AdmCtx *c)
{
    const char *id = adm_session_id_param(c);
    GwSessionQuery q = {.limit = 1, .session_id = id};
    if (id == NULL) { /* /api/sessions/by-id without ?id=: the list */
        adm_redirect(c, "/api/sessions");
        return;
    }
    GwLogFilter f;
    GError *err = NULL;
    json_t *res = NULL, *paths = NULL, *logs = NULL;
    if (gw_store_sessions_query_json(c->store, &q, &res, &err) != GW_OK) {
        fail(c, err);
        return;
    }
    json_t *s = json_incref(json_array_get(json_object_get(res, "sessions"), 0));
    json_decref(res);
    if (s == NULL) {
        adm_respond_json_error(c, 404, "invalid_request_error", "not_found", "No such session");
        return;
    }
    if (gw_store_session_paths_json(c->store, id, &paths, &err) != GW_OK ||
        adm_log_filter_parse(c->query, 50, &f, &err) != GW_OK) {
        json_decref(s);
        fail(c, err);
        return;
    }
    f.session_id = id;
    if (gw_store_logs_search_json(c->store, &f, &logs, &err) != GW_OK) {
        json_decref(s);
        json_decref(paths);
        fail(c, err);
        return;
    }
    json_t *tree = gw_path_tree(paths);
    json_decref(paths);
    adm_respond_json(c, 200, json_pack("{s:o, s:o, s:O, s:O}", "session", s, "tree", tree,
                                       "requests", json_object_get(logs, "rows"), "next_cursor",
                                       json_object_get(logs, "next_cursor")));
    json_decref(logs);
}

static void api_analytics_get(AdmCtx *c)
{
    AdmAnalyticsQuery q;
    GError *err = NULL;
    json_t *series = NULL, *bd = NULL;
    if (adm_analytics_query_parse(c->query, g_get_real_time() / 1000, &q, &err) != GW_OK ||
        gw_store_analytics_series_json(c->store, q.from_ms, q.to_ms, &series, &err) != GW_OK) {
        fail(c, err);
        return;
    }
    if (gw_store_analytics_breakdown_json(c->store, q.from_ms, q.to_ms, q.by, q.property, q.top,
                                          &bd, &err) != GW_OK) {
        json_decref(series);
        fail(c, err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:o, s:o}", "series", series, "breakdown", bd));
}

static void api_series_csv(AdmCtx *c)
{
    adm_analytics_csv(c, FALSE);
}

static void api_breakdown_csv(AdmCtx *c)
{
    adm_analytics_csv(c, TRUE);
}

const AdmRoute adm_routes_api_logs[] = {
    {"GET", "/api/logs", api_logs_get, ADM_ROLE_VIEWER},
    {"GET", "/api/logs/{id}", api_log_get, ADM_ROLE_VIEWER},
    {"GET", "/api/sessions", api_sessions_get, ADM_ROLE_VIEWER},
    {"GET", "/api/sessions/by-id", api_session_get, ADM_ROLE_VIEWER}, /* ?id=, for ids with '/' */
    {"GET", "/api/sessions/{id}", api_session_get, ADM_ROLE_VIEWER},
    {"GET", "/api/analytics", api_analytics_get, ADM_ROLE_VIEWER},
    {"GET", "/api/analytics/series.csv", api_series_csv, ADM_ROLE_VIEWER},
    {"GET", "/api/analytics/breakdown.csv", api_breakdown_csv, ADM_ROLE_VIEWER},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
