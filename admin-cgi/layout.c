/* layout.c — the page shell, navigation and small page blocks (see layout.h). */
#include "config.h"
#include "layout.h"

#include <string.h>
#include "cost.h"
#include "html.h"

const AdmNavItem adm_nav[] = {
    {"/keys", "Keys", ADM_ROLE_ADMIN},
    {"/vks", "Agents & Virtual Keys", ADM_ROLE_ADMIN},
    {"/logs", "Logs", ADM_ROLE_VIEWER},
    {"/analytics", "Analytics", ADM_ROLE_VIEWER},
    {"/sessions", "Sessions", ADM_ROLE_VIEWER},
    {NULL, NULL, ADM_ROLE_NONE},
};

void adm_page_begin(AdmCtx *c, GString *out, const char *title, const char *active_path)
{
    adm_html(out,
             "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
             "<title>%s · Alephant admin</title>\n"
             /* An empty icon: browsers otherwise ask for /favicon.ico (outside /admin, a 404). */
             "<link rel=\"icon\" href=\"data:,\">\n"
             "<link rel=\"stylesheet\" href=\"%s/static/admin.css\">\n"
             "<script src=\"%s/static/admin.js\" defer></script>\n"
             "</head>\n<body>\n<header class=\"top\">\n<a class=\"brand\" href=\"%s/\">Alephant</a>\n",
             title, c->base, c->base, c->base);
    if (c->role > ADM_ROLE_NONE) {
        g_string_append(out, "<nav><ul>\n");
        for (const AdmNavItem *n = adm_nav; n->path != NULL; n++) {
            if (c->role < n->min_role)
                continue;
            gboolean active = active_path != NULL && strcmp(active_path, n->path) == 0;
            if (active)
                adm_html(out, "<li><a href=\"%s%s\" aria-current=\"page\">%s</a></li>\n",
                         c->base, n->path, n->label);
            else
                adm_html(out, "<li><a href=\"%s%s\">%s</a></li>\n", c->base, n->path, n->label);
        }
        g_string_append(out, "</ul></nav>\n");
        adm_html(out, "<form class=\"logout\" method=\"post\" action=\"%s/logout\">", c->base);
        adm_csrf_field(c, out);
        adm_html(out, "<span class=\"who\">%s (%s)</span> <button type=\"submit\">Log out</button>"
                      "</form>\n",
                 c->user, c->role == ADM_ROLE_ADMIN ? "admin" : "viewer");
    }
    g_string_append(out, "</header>\n<main>\n");
}

void adm_page_end(AdmCtx *c, GString *out)
{
    (void)c;
    g_string_append(out, "</main>\n</body>\n</html>\n");
}

void adm_csrf_field(AdmCtx *c, GString *out)
{
    if (c->csrf != NULL)
        adm_html(out, "<input type=\"hidden\" name=\"csrf\" value=\"%s\">", c->csrf);
}

void adm_notice(GString *out, const char *kind, const char *text)
{
    adm_html(out, "<p class=\"notice %s\" role=\"status\">%s</p>\n", kind, text);
}

char *adm_fmt_time(gint64 ms)
{
    if (ms <= 0)
        return g_strdup("never");
    GDateTime *dt = g_date_time_new_from_unix_utc(ms / 1000);
    if (dt == NULL)
        return g_strdup("?");
    char *s = g_date_time_format(dt, "%Y-%m-%d %H:%M UTC");
    g_date_time_unref(dt);
    return s;
}

char *adm_fmt_usd(gint64 nanos)
{
    if (nanos < 0)
        return g_strdup("\u2014");
    char *s = gw_cost_format_usd(nanos);
    char *dot = strchr(s, '.');
    if (dot != NULL) {
        char *end = s + strlen(s);
        while (end > dot + 3 && end[-1] == '0')
            end--;
        *end = '\0';
    }
    char *r = g_strconcat("$", s, NULL);
    g_free(s);
    return r;
}
