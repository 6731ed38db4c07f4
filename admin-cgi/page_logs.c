/* page_logs.c — the Logs pages: the filtered request list (a GET form, so it works without
 * JavaScript, newest first with an "Older" link carrying the keyset cursor) and one request in
 * full. Everything shown comes from clients: it all goes through the HTML escaping helper. */
#include "config.h"

#include <string.h>

#include "html.h"
#include "http.h"
#include "layout.h"
#include "logquery.h"
#include "logview.h"
#include "router.h"
#include "store_logs.h"

#define LOGS_PAGE 50

static void text_input(AdmCtx *c, GString *out, const char *name, const char *label,
                       const char *placeholder)
{
    adm_html(out, "<label>%s <input name=\"%s\" value=\"%s\" placeholder=\"%s\"></label>\n", label,
             name, adm_query(c, name), placeholder);
}

static void filter_form(AdmCtx *c, GString *out)
{
    adm_html(out, "<form class=\"filters\" method=\"get\" action=\"%s/logs\">\n", c->base);
    adm_html(out, "<label>From (UTC) <input type=\"datetime-local\" name=\"from\" value=\"%s\">"
                  "</label>\n<label>To <input type=\"datetime-local\" name=\"to\" value=\"%s\">"
                  "</label>\n", adm_query(c, "from"), adm_query(c, "to"));
    text_input(c, out, "virtual_key", "Virtual key", "name");
    text_input(c, out, "agent", "Agent", "name");
    text_input(c, out, "department", "Department", "name");
    text_input(c, out, "model", "Model", "gpt-4o-mini");
    text_input(c, out, "provider", "Provider", "openai");
    text_input(c, out, "status", "Status", "200, 4xx, 5xx, error");
    text_input(c, out, "session_id", "Session", "id");
    const char *cache = adm_query(c, "cache");
    gboolean hit = cache != NULL && g_ascii_strcasecmp(cache, "HIT") == 0;
    gboolean miss = cache != NULL && g_ascii_strcasecmp(cache, "MISS") == 0;
    adm_html(out, "<label>Cache <select name=\"cache\"><option value=\"\">any</option>"
                  "<option%s>HIT</option><option%s>MISS</option></select></label>\n",
             hit ? " selected" : "", miss ? " selected" : "");
    text_input(c, out, "property", "Property", "name");
    text_input(c, out, "value", "Value", "any value");
    adm_html(out, "<button type=\"submit\">Filter</button> <a href=\"%s/logs\">Clear</a>\n"
                  "</form>\n", c->base);
}

static void logs_get(AdmCtx *c)
{
    GwLogFilter f;
    GError *err = NULL;
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Logs", "/logs");
    g_string_append(out, "<h1>Logs</h1>\n");
    filter_form(c, out);
    json_t *res = NULL;
    if (adm_log_filter_parse(c->query, LOGS_PAGE, &f, &err) != GW_OK ||
        gw_store_logs_search_json(c->store, &f, &res, &err) != GW_OK) {
        int status = adm_status_for((GwStatus)err->code, NULL);
        adm_notice(out, "error", err->message);
        g_error_free(err);
        adm_page_end(c, out);
        adm_respond_html(c, status, out);
        g_string_free(out, TRUE);
        return;
    }
    adm_log_table(c, out, json_object_get(res, "rows"));
    GString *q = g_string_new(NULL);
    adm_query_append(q, c->query, adm_log_filter_params);
    g_string_append(out, "<p class=\"pager\">");
    if (f.before_id > 0)
        adm_html(out, "<a href=\"%s/logs?%s\">\u2190 Newest</a> ", c->base, q->str);
    json_t *next = json_object_get(res, "next_cursor");
    if (json_is_integer(next))
        adm_html(out, "<a rel=\"next\" href=\"%s/logs?%s%scursor=%l\">Older \u2192</a> ", c->base,
                 q->str, q->len > 0 ? "&" : "", (gint64)json_integer_value(next));
    adm_html(out, "<a class=\"hint\" href=\"%s/api/logs?%s\">JSON</a></p>\n", c->base, q->str);
    g_string_free(q, TRUE);
    json_decref(res);
    adm_page_end(c, out);
    adm_respond_html(c, 200, out);
    g_string_free(out, TRUE);
}

/* ---- detail ---- */

static const char *const detail_skip[] = {
    "request_body", "response_body", "request_headers", "attempts", "properties",
    "policy_decisions", "response_message", NULL,
};

static gboolean skipped(const char *k)
{
    for (const char *const *s = detail_skip; *s != NULL; s++)
        if (strcmp(*s, k) == 0)
            return TRUE;
    return FALSE;
}

static void fields_table(GString *out, json_t *d)
{
    g_string_append(out, "<table class=\"fields\"><tbody>\n");
    const char *k;
    json_t *v;
    json_object_foreach(d, k, v) {
        if (skipped(k))
            continue;
        if (json_is_string(v))
            adm_html(out, "<tr><th>%s</th><td>%s</td></tr>\n", k, json_string_value(v));
        else if (json_is_integer(v) && g_str_has_suffix(k, "_at")) {
            char *t = adm_fmt_time(json_integer_value(v));
            adm_html(out, "<tr><th>%s</th><td>%s <span class=\"hint\">%l</span></td></tr>\n", k, t,
                     (gint64)json_integer_value(v));
            g_free(t);
        } else if (json_is_integer(v))
            adm_html(out, "<tr><th>%s</th><td>%l</td></tr>\n", k, (gint64)json_integer_value(v));
        else if (json_is_null(v))
            adm_html(out, "<tr><th>%s</th><td class=\"hint\">\u2014</td></tr>\n", k);
        else {
            char *t = json_dumps(v, JSON_ENCODE_ANY);
            adm_html(out, "<tr><th>%s</th><td>%s</td></tr>\n", k, t);
            free(t);
        }
    }
    g_string_append(out, "</tbody></table>\n");
}

static void kv_table(GString *out, json_t *obj, const char *empty)
{
    if (json_object_size(obj) == 0) {
        adm_html(out, "<p class=\"hint\">%s</p>\n", empty);
        return;
    }
    g_string_append(out, "<table class=\"kv\"><tbody>\n");
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
        adm_html(out, "<tr><th class=\"mono\">%s</th><td class=\"mono\">%s</td></tr>\n", k,
                 json_string_value(v));
    g_string_append(out, "</tbody></table>\n");
}

static void body_section(GString *out, json_t *d, const char *title, const char *body_key,
                         const char *omit_key, const char *trunc_key, const char *omit_header)
{
    adm_html(out, "<h2>%s</h2>\n", title);
    const char *body = json_string_value(json_object_get(d, body_key));
    if (json_is_true(json_object_get(d, omit_key)))
        adm_html(out, "<p class=\"notice info\">Not stored: the client sent %s.</p>\n", omit_header);
    else if (body == NULL)
        g_string_append(out, "<p class=\"hint\">Not stored (body logging off, or no body).</p>\n");
    else {
        if (json_is_true(json_object_get(d, trunc_key)))
            g_string_append(out, "<p class=\"hint\">Cut at the configured size limit.</p>\n");
        adm_body_pre(out, body);
    }
}

static void message_section(GString *out, json_t *m)
{
    g_string_append(out, "<h3>Reassembled message</h3>\n");
    adm_body_pre(out, json_string_value(json_object_get(m, "content")));
    const char *reasoning = json_string_value(json_object_get(m, "reasoning"));
    if (reasoning != NULL)
        adm_html(out, "<details><summary>Reasoning</summary><pre class=\"body\">%s</pre></details>\n",
                 reasoning);
    json_t *tools = json_object_get(m, "tool_calls");
    if (json_array_size(tools) > 0) {
        g_string_append(out, "<table><thead><tr><th>Tool call</th><th>Function</th>"
                             "<th>Arguments</th></tr></thead><tbody>\n");
        size_t i;
        json_t *t;
        json_array_foreach(tools, i, t) {
            json_t *fn = json_object_get(t, "function");
            adm_html(out, "<tr><td class=\"mono\">%s</td><td class=\"mono\">%s</td><td>",
                     json_string_value(json_object_get(t, "id")),
                     json_string_value(json_object_get(fn, "name")));
            adm_body_pre(out, json_string_value(json_object_get(fn, "arguments")));
            g_string_append(out, "</td></tr>\n");
        }
        g_string_append(out, "</tbody></table>\n");
    }
    adm_html(out, "<p class=\"hint\">Finish reason: %s · %l events",
             json_string_value(json_object_get(m, "finish_reason")),
             (gint64)json_integer_value(json_object_get(m, "events")));
    json_int_t bad = json_integer_value(json_object_get(m, "unparsed_events"));
    if (bad > 0)
        adm_html(out, " · %l not readable (cut off?)", (gint64)bad);
    g_string_append(out, "</p>\n");
}

static void attempts_table(GString *out, json_t *att)
{
    g_string_append(out, "<h2>Upstream attempts</h2>\n");
    if (json_array_size(att) == 0) {
        g_string_append(out, "<p class=\"hint\">None (answered before routing, or from the cache).</p>\n");
        return;
    }
    g_string_append(out, "<table><thead><tr><th>#</th><th>Provider key</th><th>Provider</th>"
                         "<th>Model</th><th>Status</th><th>Error</th><th>Latency</th></tr></thead>"
                         "<tbody>\n");
    size_t i;
    json_t *a;
    json_array_foreach(att, i, a) {
        adm_html(out, "<tr><td>%l</td><td>%s</td><td>%s</td><td>%s</td>",
                 (gint64)json_integer_value(json_object_get(a, "attempt")),
                 json_string_value(json_object_get(a, "provider_key")),
                 json_string_value(json_object_get(a, "provider")),
                 json_string_value(json_object_get(a, "model")));
        adm_cell_int(out, json_object_get(a, "status"));
        adm_html(out, "<td>%s</td>", json_string_value(json_object_get(a, "error_code")));
        adm_cell_int(out, json_object_get(a, "latency_ms"));
        g_string_append(out, "</tr>\n");
    }
    g_string_append(out, "</tbody></table>\n");
}

static void decisions_table(GString *out, json_t *d)
{
    json_t *dec = json_object_get(d, "policy_decisions");
    adm_html(out, "<h2>Policy decisions</h2>\n<p>Result: %s</p>\n",
             json_string_value(json_object_get(d, "policy_result")));
    if (json_array_size(dec) == 0)
        return;
    g_string_append(out, "<table><thead><tr><th>Policy</th><th>Rule</th><th>Decision</th>"
                         "<th>Reason</th></tr></thead><tbody>\n");
    size_t i;
    json_t *x;
    json_array_foreach(dec, i, x)
        adm_html(out, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
                 json_string_value(json_object_get(x, "policy_name")),
                 json_string_value(json_object_get(x, "rule")),
                 json_string_value(json_object_get(x, "decision")),
                 json_string_value(json_object_get(x, "reason")));
    g_string_append(out, "</tbody></table>\n");
}

static gboolean parse_id(const char *s, gint64 *id)
{
    if (s == NULL || *s == '\0' || strlen(s) > 18)
        return FALSE;
    for (const char *p = s; *p != '\0'; p++)
        if (!g_ascii_isdigit(*p))
            return FALSE;
    *id = g_ascii_strtoll(s, NULL, 10);
    return *id > 0;
}

static void log_detail_get(AdmCtx *c)
{
    gint64 id = 0;
    if (!parse_id(adm_param(c, 0), &id)) {
        adm_respond_error(c, 404, "not_found", "No such request");
        return;
    }
    json_t *d = NULL;
    GError *err = NULL;
    if (gw_store_log_detail_json(c->store, id, &d, &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Request", "/logs");
    adm_html(out, "<h1>Request <span class=\"mono\">%s</span></h1>\n<p><a href=\"%s/logs\">"
                  "\u2190 Logs</a> · <a href=\"%s/api/logs/%l\">JSON</a></p>\n",
             json_string_value(json_object_get(d, "request_id")), c->base, c->base, id);
    fields_table(out, d);
    g_string_append(out, "<h2>Properties</h2>\n");
    kv_table(out, json_object_get(d, "properties"), "None.");
    g_string_append(out, "<h2>Request headers</h2>\n");
    json_t *h = json_object_get(d, "request_headers");
    if (json_is_object(h))
        kv_table(out, h, "None.");
    else if (json_is_true(json_object_get(d, "request_omitted")))
        g_string_append(out, "<p class=\"notice info\">Not stored: the client sent "
                             "alephant-omit-request.</p>\n");
    else
        g_string_append(out, "<p class=\"hint\">Not recorded for this request.</p>\n");
    body_section(out, d, "Request body", "request_body", "request_omitted", "request_truncated",
                 "alephant-omit-request");
    json_t *m = json_object_get(d, "response_message");
    if (json_is_object(m)) {
        g_string_append(out, "<h2>Response (stream)</h2>\n");
        message_section(out, m);
        g_string_append(out, "<details><summary>Raw events</summary>\n");
        adm_html(out, "<pre class=\"body\">%s</pre></details>\n",
                 json_string_value(json_object_get(d, "response_body")));
    } else {
        body_section(out, d, "Response body", "response_body", "response_omitted",
                     "response_truncated", "alephant-omit-response");
    }
    attempts_table(out, json_object_get(d, "attempts"));
    decisions_table(out, d);
    json_decref(d);
    adm_page_end(c, out);
    adm_respond_html(c, 200, out);
    g_string_free(out, TRUE);
}

const AdmRoute adm_routes_logs[] = {
    {"GET", "/logs", logs_get, ADM_ROLE_VIEWER},
    {"GET", "/logs/{id}", log_detail_get, ADM_ROLE_VIEWER},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
