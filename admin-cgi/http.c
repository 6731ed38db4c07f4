/* http.c — responses with the security headers, errors, redirects and cookies (see http.h). */
#include "config.h"
#include "http.h"

#include <string.h>
#include "html.h"
#include "layout.h"

const char *const adm_security_headers[] = {
    "Content-Security-Policy",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'",
    "X-Frame-Options", "DENY",
    "X-Content-Type-Options", "nosniff",
    "Referrer-Policy", "same-origin",
    "Cache-Control", "no-store",
    "Cross-Origin-Opener-Policy", "same-origin",
    NULL,
};

void adm_respond(AdmCtx *c, int status, const char *content_type, const char *body, gsize len)
{
    if (c->responded)
        return;
    c->responded = TRUE;
    GPtrArray *extra = g_ptr_array_new();
    GwHeader ct = { .name = (char *)"Content-Type", .value = (char *)content_type };
    if (content_type != NULL)
        g_ptr_array_add(extra, &ct);
    GwHeader *cookies = g_new0(GwHeader, c->set_cookies != NULL ? c->set_cookies->len + 1 : 1);
    for (guint i = 0; c->set_cookies != NULL && i < c->set_cookies->len; i++) {
        cookies[i].name = (char *)"Set-Cookie";
        cookies[i].value = g_ptr_array_index(c->set_cookies, i);
        g_ptr_array_add(extra, &cookies[i]);
    }
    gw_response_start(c->req, status, (const char *const *)adm_security_headers, extra);
    if (body != NULL && len > 0 && strcmp(c->method != NULL ? c->method : "", "HEAD") != 0)
        gw_response_write(c->req, body, len);
    g_ptr_array_unref(extra);
    g_free(cookies);
}

void adm_respond_html(AdmCtx *c, int status, const GString *html)
{
    adm_respond(c, status, "text/html; charset=utf-8", html->str, html->len);
}

void adm_respond_json(AdmCtx *c, int status, json_t *j)
{
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (text == NULL) {
        static const char oom[] = "{\"error\":{\"message\":\"cannot encode the answer\","
                                  "\"type\":\"server_error\",\"code\":\"internal_error\"}}";
        adm_respond(c, 500, "application/json", oom, sizeof oom - 1);
        return;
    }
    adm_respond(c, status, "application/json", text, strlen(text));
    free(text);
}

void adm_respond_json_error(AdmCtx *c, int status, const char *type, const char *code,
                            const char *message)
{
    json_t *e = json_pack("{s:{s:s, s:s, s:s}}", "error", "message", message, "type", type,
                          "code", code);
    adm_respond_json(c, status, e);
}

static const char *error_type(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    default: return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

void adm_respond_error(AdmCtx *c, int status, const char *code, const char *message)
{
    if (c->path != NULL && g_str_has_prefix(c->path, "/api/")) {
        adm_respond_json_error(c, status, error_type(status), code, message);
        return;
    }
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Error", NULL);
    adm_html(out, "<h1>%s</h1>\n", status == 403 ? "Not allowed" : status == 404 ? "Not found"
                                                                               : "Error");
    adm_notice(out, "error", message);
    adm_page_end(c, out);
    adm_respond_html(c, status, out);
    g_string_free(out, TRUE);
}

int adm_status_for(GwStatus st, const char **code_out)
{
    const char *code = "internal_error";
    int status = 500;
    switch (st) {
    case GW_OK: status = 200; code = "ok"; break;
    case GW_ENOTFOUND: status = 404; code = "not_found"; break;
    case GW_EEXISTS: status = 409; code = "already_exists"; break;
    case GW_EINUSE: status = 409; code = "in_use"; break;
    case GW_EINVAL: status = 400; code = "invalid_request"; break;
    case GW_ETOOBIG: status = 400; code = "too_large"; break;
    case GW_EDB: status = 503; code = "service_unavailable"; break;
    case GW_ECRYPTO:
    case GW_EIO: status = 500; code = "internal_error"; break;
    }
    if (code_out != NULL)
        *code_out = code;
    return status;
}

void adm_respond_gerror(AdmCtx *c, const GError *err)
{
    GwStatus st = err != NULL && err->domain == GW_ERROR ? (GwStatus)err->code : GW_EIO;
    const char *code = NULL;
    int status = adm_status_for(st, &code);
    if (status >= 500) {
        g_warning("admin: %s %s: %s", c->method, c->path, err != NULL ? err->message : "?");
        adm_respond_error(c, status, code, "The operation failed (see the server's error log)");
        return;
    }
    adm_respond_error(c, status, code, err != NULL ? err->message : "failed");
}

void adm_redirect(AdmCtx *c, const char *path)
{
    char *loc = g_strconcat(c->base, path, NULL);
    if (c->responded) {
        g_free(loc);
        return;
    }
    c->responded = TRUE;
    GPtrArray *extra = g_ptr_array_new();
    GwHeader l = { .name = (char *)"Location", .value = loc };
    g_ptr_array_add(extra, &l);
    GwHeader *cookies = g_new0(GwHeader, c->set_cookies != NULL ? c->set_cookies->len + 1 : 1);
    for (guint i = 0; c->set_cookies != NULL && i < c->set_cookies->len; i++) {
        cookies[i].name = (char *)"Set-Cookie";
        cookies[i].value = g_ptr_array_index(c->set_cookies, i);
        g_ptr_array_add(extra, &cookies[i]);
    }
    gw_response_start(c->req, 303, (const char *const *)adm_security_headers, extra);
    g_ptr_array_unref(extra);
    g_free(cookies);
    g_free(loc);
}

void adm_set_cookie(AdmCtx *c, const char *name, const char *value, int max_age_s)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s=%s; Path=%s; HttpOnly; SameSite=Strict", name, value,
                           c->base);
    if (c->https)
        g_string_append(s, "; Secure");
    if (max_age_s >= 0)
        g_string_append_printf(s, "; Max-Age=%d", max_age_s);
    if (c->set_cookies == NULL)
        c->set_cookies = g_ptr_array_new_with_free_func(g_free);
    g_ptr_array_add(c->set_cookies, g_string_free(s, FALSE));
}

const char *adm_query(AdmCtx *c, const char *name)
{
    return c->query != NULL ? g_hash_table_lookup(c->query, name) : NULL;
}

const char *adm_form(AdmCtx *c, const char *name)
{
    return c->form != NULL ? g_hash_table_lookup(c->form, name) : NULL;
}

const char *adm_form_text(AdmCtx *c, const char *name)
{
    char *v = c->form != NULL ? g_hash_table_lookup(c->form, name) : NULL;
    if (v == NULL)
        return NULL;
    g_strstrip(v); /* the table owns it: trimming in place is fine */
    return *v != '\0' ? v : NULL;
}

const char *adm_json_str(AdmCtx *c, const char *name)
{
    json_t *v = c->json != NULL ? json_object_get(c->json, name) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *adm_param(AdmCtx *c, guint i)
{
    return i < ADM_MAX_PARAMS ? c->params[i] : NULL;
}
