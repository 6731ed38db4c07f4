/* logview.c — shared HTML blocks of the log views (see logview.h). */
#include "config.h"
#include "logview.h"

#include <stdlib.h>
#include <string.h>

#include "html.h"
#include "http.h"
#include "layout.h"

char *adm_session_url(AdmCtx *c, const char *id)
{
    char *enc = g_uri_escape_string(id != NULL ? id : "", NULL, FALSE);
    char *url = strchr(id != NULL ? id : "", '/') != NULL
                    ? g_strconcat(c->base, "/sessions/by-id?id=", enc, NULL)
                    : g_strconcat(c->base, "/sessions/", enc, NULL);
    g_free(enc);
    return url;
}

const char *adm_session_id_param(AdmCtx *c)
{
    const char *p = adm_param(c, 0);
    const char *id = p != NULL ? p : adm_query(c, "id");
    return id != NULL && id[0] != '\0' ? id : NULL;
}

void adm_cell_int(GString *out, json_t *v)
{
    if (json_is_integer(v))
        adm_html(out, "<td class=\"num\">%l</td>", (gint64)json_integer_value(v));
    else
        g_string_append(out, "<td class=\"num\">\u2014</td>");
}

void adm_cell_usd(GString *out, json_t *nanos)
{
    char *s = adm_fmt_usd(json_is_integer(nanos) ? json_integer_value(nanos) : -1);
    adm_html(out, "<td class=\"num\">%s</td>", s);
    g_free(s);
}

void adm_cell_pct(GString *out, json_t *v)
{
    if (!json_is_number(v)) {
        g_string_append(out, "<td class=\"num\">\u2014</td>");
        return;
    }
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_formatd(buf, sizeof buf, "%.1f", json_number_value(v) * 100.0);
    adm_html(out, "<td class=\"num\">%s%%</td>", buf);
}

static const char *str(json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

void adm_log_table(AdmCtx *c, GString *out, json_t *rows)
{
    if (json_array_size(rows) == 0) {
        adm_notice(out, "info", "No requests match.");
        return;
    }
    g_string_append(out, "<table class=\"logs\">\n<thead><tr><th>Time</th><th>Status</th>"
                         "<th>Model</th><th>Provider</th><th>Key</th><th>Agent</th>"
                         "<th>Tokens in/out</th><th>Cost</th><th>Latency</th><th>Cache</th>"
                         "<th>Session</th><th>Properties</th></tr></thead>\n<tbody>\n");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        gint64 id = json_integer_value(json_object_get(r, "id"));
        char *t = adm_fmt_time(json_integer_value(json_object_get(r, "created_at")));
        json_t *st = json_object_get(r, "status");
        gint64 status = json_is_integer(st) ? json_integer_value(st) : 0;
        adm_html(out, "<tr><td><a href=\"%s/logs/%l\">%s</a></td>", c->base, id, t);
        g_free(t);
        if (status > 0)
            adm_html(out, "<td class=\"%s\">%l <span class=\"hint\">%s</span></td>",
                     status >= 400 ? "over" : "", status, str(r, "error_code"));
        else
            g_string_append(out, "<td class=\"over\">none</td>");
        adm_html(out, "<td>%s</td><td>%s</td><td>%s</td><td>%s</td>", str(r, "model"),
                 str(r, "provider"), str(r, "virtual_key"), str(r, "agent"));
        json_t *pt = json_object_get(r, "prompt_tokens"), *ct = json_object_get(r, "completion_tokens");
        g_string_append(out, "<td class=\"num\">");
        if (json_is_integer(pt))
            adm_html(out, "%l", (gint64)json_integer_value(pt));
        else
            g_string_append(out, "\u2014");
        g_string_append(out, " / ");
        if (json_is_integer(ct))
            adm_html(out, "%l", (gint64)json_integer_value(ct));
        else
            g_string_append(out, "\u2014");
        g_string_append(out, "</td>");
        adm_cell_usd(out, json_object_get(r, "cost_nanos"));
        json_t *lat = json_object_get(r, "latency_ms");
        if (json_is_integer(lat))
            adm_html(out, "<td class=\"num\">%l ms</td>", (gint64)json_integer_value(lat));
        else
            g_string_append(out, "<td class=\"num\">\u2014</td>");
        adm_html(out, "<td>%s</td>", str(r, "cache_status"));
        const char *sid = str(r, "session_id");
        if (sid != NULL) {
            char *url = adm_session_url(c, sid);
            adm_html(out, "<td><a href=\"%s\">%s</a> <span class=\"hint\">%s</span></td>", url, sid,
                     str(r, "session_path"));
            g_free(url);
        } else {
            g_string_append(out, "<td></td>");
        }
        g_string_append(out, "<td>");
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(r, "properties"), k, v)
            adm_html(out, "<span class=\"prop\">%s=%s</span> ", k, json_string_value(v));
        g_string_append(out, "</td></tr>\n");
    }
    g_string_append(out, "</tbody></table>\n");
}

void adm_body_pre(GString *out, const char *text)
{
    json_t *j = text != NULL ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    char *pretty = j != NULL && (json_is_object(j) || json_is_array(j))
                       ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
                       : NULL;
    json_decref(j);
    adm_html(out, "<pre class=\"body\">%s</pre>\n", pretty != NULL ? pretty : text);
    free(pretty);
}

void adm_path_tree(GString *out, json_t *node)
{
    adm_html(out, "<li><span class=\"mono\">%s</span> <span class=\"hint\">%l own, %l in all",
             json_string_value(json_object_get(node, "name")),
             (gint64)json_integer_value(json_object_get(node, "requests")),
             (gint64)json_integer_value(json_object_get(node, "total_requests")));
    json_t *cost = json_object_get(node, "cost_nanos");
    if (json_is_integer(cost)) {
        char *usd = adm_fmt_usd(json_integer_value(cost));
        adm_html(out, ", %s", usd);
        g_free(usd);
    }
    g_string_append(out, "</span>");
    json_t *kids = json_object_get(node, "children");
    if (json_array_size(kids) > 0) {
        g_string_append(out, "<ul>");
        size_t i;
        json_t *k;
        json_array_foreach(kids, i, k)
            adm_path_tree(out, k);
        g_string_append(out, "</ul>");
    }
    g_string_append(out, "</li>");
}
