/* page_sessions.c — the Sessions pages: sessions by latest activity (paged by a (last request,
 * session id) cursor) and one session with its path tree and its requests. */
#include "config.h"

#include <string.h>

#include "html.h"
#include "http.h"
#include "layout.h"
#include "logquery.h"
#include "logview.h"
#include "pathtree.h"
#include "router.h"
#include "store_logs.h"

#define SESSIONS_PAGE 50

static const char *const session_params[] = {"from", "to", "limit", NULL};

static void sessions_table(AdmCtx *c, GString *out, json_t *list)
{
    g_string_append(out, "<table><thead><tr><th>Session</th><th>Name</th><th>Requests</th>"
                         "<th>Errors</th><th>Cost</th><th>Tokens</th><th>First</th>"
                         "<th>Last</th><th>Duration</th></tr></thead><tbody>\n");
    size_t i;
    json_t *s;
    json_array_foreach(list, i, s) {
        const char *id = json_string_value(json_object_get(s, "session_id"));
        char *url = adm_session_url(c, id);
        char *first = adm_fmt_time(json_integer_value(json_object_get(s, "first_at")));
        char *last = adm_fmt_time(json_integer_value(json_object_get(s, "last_at")));
        adm_html(out, "<tr><td><a class=\"mono\" href=\"%s\">%s</a></td><td>%s</td>", url, id,
                 json_string_value(json_object_get(s, "name")));
        adm_cell_int(out, json_object_get(s, "requests"));
        adm_cell_int(out, json_object_get(s, "errors"));
        adm_cell_usd(out, json_object_get(s, "cost_nanos"));
        adm_cell_int(out, json_object_get(s, "total_tokens"));
        adm_html(out, "<td>%s</td><td>%s</td><td class=\"num\">%l ms</td></tr>\n", first, last,
                 (gint64)json_integer_value(json_object_get(s, "duration_ms")));
        g_free(first);
        g_free(last);
        g_free(url);
    }
    g_string_append(out, "</tbody></table>\n");
}

static void fail_page(AdmCtx *c, GString *out, GError *err)
{
    int status = adm_status_for((GwStatus)err->code, NULL);
    adm_notice(out, "error", err->message);
    g_error_free(err);
    adm_page_end(c, out);
    adm_respond_html(c, status, out);
    g_string_free(out, TRUE);
}

static void sessions_get(AdmCtx *c)
{
    GwSessionQuery q;
    GError *err = NULL;
    json_t *res = NULL;
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Sessions", "/sessions");
    adm_html(out, "<h1>Sessions</h1>\n<form class=\"filters\" method=\"get\" action=\"%s/sessions\">"
                  "<label>From (UTC) <input type=\"datetime-local\" name=\"from\" value=\"%s\"></label>"
                  "<label>To <input type=\"datetime-local\" name=\"to\" value=\"%s\"></label>"
                  "<button type=\"submit\">Filter</button> <a href=\"%s/sessions\">Clear</a></form>\n",
             c->base, adm_query(c, "from"), adm_query(c, "to"), c->base);
    if (adm_session_query_parse(c->query, SESSIONS_PAGE, &q, &err) != GW_OK ||
        gw_store_sessions_query_json(c->store, &q, &res, &err) != GW_OK) {
        fail_page(c, out, err);
        return;
    }
    json_t *list = json_object_get(res, "sessions");
    if (json_array_size(list) == 0)
        adm_notice(out, "info", "No sessions: send alephant-session-id with requests to group them.");
    else
        sessions_table(c, out, list);
    GString *qs = g_string_new(NULL);
    adm_query_append(qs, c->query, session_params);
    json_t *next = json_object_get(res, "next_cursor");
    g_string_append(out, "<p class=\"pager\">");
    if (q.before_last_at > 0)
        adm_html(out, "<a href=\"%s/sessions?%s\">\u2190 Newest</a> ", c->base, qs->str);
    if (json_is_object(next)) {
        char *id = g_uri_escape_string(json_string_value(json_object_get(next, "session_id")), NULL,
                                       FALSE);
        adm_html(out, "<a rel=\"next\" href=\"%s/sessions?%s%scursor_at=%l&cursor_id=%s\">Older "
                      "\u2192</a> ", c->base, qs->str, qs->len > 0 ? "&" : "",
                 (gint64)json_integer_value(json_object_get(next, "last_at")), id);
        g_free(id);
    }
    adm_html(out, "<a class=\"hint\" href=\"%s/api/sessions?%s\">JSON</a></p>\n", c->base, qs->str);
    g_string_free(qs, TRUE);
    json_decref(res);
    adm_page_end(c, out);
    adm_respond_html(c, 200, out);
    g_string_free(out, TRUE);
}

static void session_get(AdmCtx *c)
{
    const char *id = adm_session_id_param(c);
    GwSessionQuery q = {.limit = 1, .session_id = id};
    GwLogFilter f;
    GError *err = NULL;
    json_t *res = NULL, *paths = NULL, *logs = NULL;
    if (id == NULL) { /* /sessions/by-id without ?id= */
        adm_redirect(c, "/sessions");
        return;
    }
    if (gw_store_sessions_query_json(c->store, &q, &res, &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    json_t *list = json_object_get(res, "sessions");
    if (json_array_size(list) == 0) {
        json_decref(res);
        adm_respond_error(c, 404, "not_found", "No such session");
        return;
    }
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Session", "/sessions");
    adm_html(out, "<h1>Session <span class=\"mono\">%s</span></h1>\n<p><a href=\"%s/sessions\">"
                  "\u2190 Sessions</a></p>\n", id, c->base);
    sessions_table(c, out, list);
    json_decref(res);
    if (gw_store_session_paths_json(c->store, id, &paths, &err) != GW_OK) {
        fail_page(c, out, err);
        return;
    }
    json_t *tree = gw_path_tree(paths);
    json_decref(paths);
    g_string_append(out, "<h2>Paths</h2>\n<ul class=\"tree\">");
    adm_path_tree(out, tree);
    g_string_append(out, "</ul>\n");
    json_decref(tree);

    g_string_append(out, "<h2>Requests</h2>\n");
    if (adm_log_filter_parse(c->query, GW_LOG_SEARCH_MAX, &f, &err) != GW_OK) {
        fail_page(c, out, err);
        return;
    }
    f.session_id = id;
    if (gw_store_logs_search_json(c->store, &f, &logs, &err) != GW_OK) {
        fail_page(c, out, err);
        return;
    }
    adm_log_table(c, out, json_object_get(logs, "rows"));
    json_t *next = json_object_get(logs, "next_cursor");
    if (json_is_integer(next)) {
        char *url = adm_session_url(c, id);
        adm_html(out, "<p class=\"pager\"><a rel=\"next\" href=\"%s%scursor=%l\">Older "
                      "\u2192</a></p>\n", url, strchr(url, '?') != NULL ? "&" : "?",
                 (gint64)json_integer_value(next));
        g_free(url);
    }
    json_decref(logs);
    adm_page_end(c, out);
    adm_respond_html(c, 200, out);
    g_string_free(out, TRUE);
}

const AdmRoute adm_routes_sessions[] = {
    {"GET", "/sessions", sessions_get, ADM_ROLE_VIEWER},
    /* Before {id}: ids holding '/' are opened by query (adm_session_url). */
    {"GET", "/sessions/by-id", session_get, ADM_ROLE_VIEWER},
    {"GET", "/sessions/{id}", session_get, ADM_ROLE_VIEWER},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
