/* page_pending.c — placeholders for the pages another module provides (Logs, Analytics,
 * Sessions): each answers "not available yet" until its module replaces the entry here. */
#include "config.h"

#include "html.h"
#include "http.h"
#include "layout.h"
#include "router.h"

G_GNUC_UNUSED static void pending(AdmCtx *c, const char *title, const char *path)
{
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, title, path);
    adm_html(out, "<h1>%s</h1>\n", title);
    adm_notice(out, "info", "This page is not available yet.");
    adm_page_end(c, out);
    adm_respond_html(c, 200, out);
    g_string_free(out, TRUE);
}

/* Logs, Analytics and Sessions are served by page_logs.c, page_analytics.c, page_sessions.c. */
const AdmRoute adm_routes_pending[] = {
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
