/* http.h — the admin program's responses: every one carries the security headers (CSP without
 * inline scripts, frame denial, nosniff, referrer policy, no-store); HTML, JSON, OpenAI-style JSON
 * errors, redirects and cookies; plus access to the request's parsed fields. */
#ifndef ADM_HTTP_H
#define ADM_HTTP_H

#include <glib.h>
#include <jansson.h>
#include "ctx.h"
#include "status.h"

/* Sends status, the security headers, any queued cookies and body (once per request). */
void adm_respond(AdmCtx *c, int status, const char *content_type, const char *body, gsize len);
void adm_respond_html(AdmCtx *c, int status, const GString *html);
/* Takes the reference j. */
void adm_respond_json(AdmCtx *c, int status, json_t *j);
/* {"error":{"message","type","code"}} with status. */
void adm_respond_json_error(AdmCtx *c, int status, const char *type, const char *code,
                            const char *message);
/* An error answer in the request's kind: JSON for /api/ routes, an HTML page otherwise. */
void adm_respond_error(AdmCtx *c, int status, const char *code, const char *message);
/* The answer for a failed operation (GError from lib/ops or the store): 404 not_found, 409
 * already_exists / in_use, 400 invalid_request, 413 too_large, 503 unavailable, else 500. */
void adm_respond_gerror(AdmCtx *c, const GError *err);
/* Maps a GwStatus to an HTTP status and error code. */
int adm_status_for(GwStatus st, const char **code_out);
/* 303 See Other to base + path (path starts with '/', may carry a query). */
void adm_redirect(AdmCtx *c, const char *path);

/* Queues Set-Cookie: name=value; Path=base; HttpOnly; SameSite=Strict; (Secure over HTTPS);
 * max_age_s < 0: a browser-session cookie; 0: deletes it. */
void adm_set_cookie(AdmCtx *c, const char *name, const char *value, int max_age_s);

/* Request fields: the first query/form field of that name, or NULL. */
const char *adm_query(AdmCtx *c, const char *name);
const char *adm_form(AdmCtx *c, const char *name);
/* A form field with surrounding white space removed; NULL when missing or empty. Borrowed. */
const char *adm_form_text(AdmCtx *c, const char *name);
/* A JSON body member as a string, NULL when missing, null or not a string. Borrowed. */
const char *adm_json_str(AdmCtx *c, const char *name);
/* The i-th {placeholder} of the matched route, decoded. */
const char *adm_param(AdmCtx *c, guint i);

/* The security headers every response carries (name, value, …, NULL). */
extern const char *const adm_security_headers[];

#endif
