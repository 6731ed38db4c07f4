/* page_pending.c — placeholders for the pages another module provides (Logs, Analytics,
 * Sessions): each answers "not available yet" until its module replaces the entry here. */
#include "config.h"

#include "html.h"
#include "http.h"
#include "layout.h"
#include "router.h"

static void pending(AdmCtx *c, const char *title, const char *path)
{
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, title, path);
    adm_html(out, "<h1>%s</h1>\n", title);
    adm_notice(out, "info", "This page is not available yet.");
    adm_page_end(c, out);
    adm_respond_html(c, 200, out);
    g_string_free(out, TRUE);
}

static void logs_get(AdmCtx *c) { pending(c, "Logs", "/logs"); }
static void analytics_get(AdmCtx *c) { pending(c, "Analytics", "/analytics"); }
static void sessions_get(AdmCtx *c) { pending(c, "Sessions", "/sessions"); }

const AdmRoute adm_routes_pending[] = {
    {"GET", "/logs", logs_get, ADM_ROLE_VIEWER},
    {"GET", "/analytics", analytics_get, ADM_ROLE_VIEWER},
    {"GET", "/sessions", sessions_get, ADM_ROLE_VIEWER},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
