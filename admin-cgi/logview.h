/* logview.h — HTML blocks the Logs, Sessions and Analytics pages share: the request table, a
 * body shown as (pretty-printed) text, the session path tree, numbers and money. Every value goes
 * through adm_html / adm_html_escape. */
#ifndef ADM_LOGVIEW_H
#define ADM_LOGVIEW_H

#include <glib.h>
#include <jansson.h>
#include "ctx.h"

/* The table of log summaries (gw_store_logs_search_json rows), each linking to its detail. */
void adm_log_table(AdmCtx *c, GString *out, json_t *rows);
/* The URL of a session's page (caller frees): base/sessions/ID, or base/sessions/by-id?id=ID
 * when the id holds a '/' (the router takes no '/' inside a path parameter). Percent-encoded;
 * still to be HTML-escaped. */
char *adm_session_url(AdmCtx *c, const char *id);
/* The session id a session route names: its {id} parameter, or the id query field of
 * /sessions/by-id. NULL when none. */
const char *adm_session_id_param(AdmCtx *c);
/* <pre> of text: JSON is re-indented, anything else shown as is. */
void adm_body_pre(GString *out, const char *text);
/* Nested list of a gw_path_tree node. */
void adm_path_tree(GString *out, json_t *node);
/* A JSON integer (or "—" for null) / nano-dollars as money (or "—") into a table cell. */
void adm_cell_int(GString *out, json_t *v);
void adm_cell_usd(GString *out, json_t *nanos);
/* A rate 0…1 as a percentage ("—" for null). */
void adm_cell_pct(GString *out, json_t *v);

/* Answers the analytics series (breakdown FALSE) or breakdown as CSV for the request's analytics
 * parameters (page_analytics.c; the page's download links and the API use it). */
void adm_analytics_csv(AdmCtx *c, gboolean breakdown);

#endif
