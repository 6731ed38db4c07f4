/* router.c — request parsing, authentication, role and CSRF enforcement, and dispatch over the
 * route tables (see router.h). */
#include "config.h"
#include "router.h"

#include <string.h>
#include "auth.h"
#include "csrf.h"
#include "form.h"
#include "http.h"

#define ADM_BASE "/admin"
#define ADM_MAX_HEADERS 100
#define ADM_MAX_URI 8192

/* Every module's routes. A new page or API module adds its table here (and in router.h). */
static const AdmRoute *const route_tables[] = {
    adm_routes_login,
    adm_routes_keys,
    adm_routes_vks,
    adm_routes_api,
    adm_routes_api_vks,
    adm_routes_pending,
    adm_routes_logs,
    adm_routes_sessions,
    adm_routes_analytics,
    adm_routes_api_logs,
};

static const char *role_name(AdmRole r)
{
    return r == ADM_ROLE_ADMIN ? "admin" : r == ADM_ROLE_VIEWER ? "viewer" : "public";
}

void adm_routes_print(FILE *f)
{
    for (gsize t = 0; t < G_N_ELEMENTS(route_tables); t++)
        for (const AdmRoute *r = route_tables[t]; r->method != NULL; r++)
            fprintf(f, "%s %s %s\n", r->method, r->pattern, role_name(r->min_role));
}

/* Matches path against pattern; on success fills c->params (decoded) and returns TRUE. */
static gboolean route_match(AdmCtx *c, const char *pattern, const char *path)
{
    char **ps = g_strsplit(pattern, "/", -1);
    char **xs = g_strsplit(path, "/", -1);
    gboolean ok = g_strv_length(ps) == g_strv_length(xs);
    guint np = 0;
    char *params[ADM_MAX_PARAMS] = {NULL};
    for (guint i = 0; ok && ps[i] != NULL; i++) {
        if (ps[i][0] == '{') {
            char *v = xs[i][0] != '\0' ? adm_url_decode(xs[i], strlen(xs[i]), FALSE) : NULL;
            ok = v != NULL && np < ADM_MAX_PARAMS && strchr(v, '/') == NULL;
            if (ok)
                params[np++] = v;
            else
                g_free(v);
        } else {
            ok = strcmp(ps[i], xs[i]) == 0;
        }
    }
    g_strfreev(ps);
    g_strfreev(xs);
    for (guint i = 0; i < ADM_MAX_PARAMS; i++) {
        if (ok) {
            g_free(c->params[i]);
            c->params[i] = params[i];
        } else {
            g_free(params[i]);
        }
    }
    return ok;
}

/* Splits REQUEST_URI into base, path below it and query; FALSE when it is not below the admin
 * or is not a clean path (empty, "." or ".." segments, control characters). */
static gboolean split_uri(AdmCtx *c, const char *uri, const char **query_out)
{
    if (uri == NULL || *uri != '/' || strlen(uri) > ADM_MAX_URI)
        return FALSE;
    const char *q = strchr(uri, '?');
    size_t plen = q != NULL ? (size_t)(q - uri) : strlen(uri);
    *query_out = q != NULL ? q + 1 : "";
    char *path = g_strndup(uri, plen);
    const char *script = c->req->io->param(c->req->io_ctx, "SCRIPT_NAME");
    const char *base = ADM_BASE;
    /* Under plain CGI the program may be mounted elsewhere (e.g. /cgi-bin/alephant-admin). */
    if (!g_str_has_prefix(path, ADM_BASE) && script != NULL && *script == '/' &&
        g_str_has_prefix(path, script))
        base = script;
    size_t bn = strlen(base);
    while (bn > 0 && base[bn - 1] == '/')
        bn--;
    gboolean ok = strncmp(path, base, bn) == 0 && (path[bn] == '/' || path[bn] == '\0');
    if (ok) {
        c->base = g_strndup(base, bn);
        c->path = g_strdup(path[bn] == '\0' ? "" : path + bn);
        for (const char *p = c->path; ok && *p != '\0'; p++)
            ok = (unsigned char)*p > 0x20 && *p != 0x7f;
        /* "/a/b" splits into "", "a", "b"; "" (the base itself) into nothing. */
        char **segs = g_strsplit(c->path, "/", -1);
        for (guint i = 0; ok && segs[i] != NULL; i++)
            ok = i == 0 || ((segs[i][0] != '\0' || segs[i + 1] == NULL) &&
                            strcmp(segs[i], ".") != 0 && strcmp(segs[i], "..") != 0);
        g_strfreev(segs);
    }
    g_free(path);
    return ok;
}

static gboolean is_read(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static gboolean content_type_is(AdmCtx *c, const char *want)
{
    const char *ct = c->req->content_type;
    size_t n = strlen(want);
    return ct != NULL && g_ascii_strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' ||
                                                                     ct[n] == ' ');
}

/* Reads and parses a state-changing request's body: a form or a JSON object. */
static gboolean read_body(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_request_read_body(c->req, ADM_MAX_BODY, &err) != GW_OK) {
        gboolean big = err->code == GW_ETOOBIG;
        g_error_free(err);
        adm_respond_error(c, big ? 413 : 400, big ? "request_too_large" : "invalid_request",
                          big ? "The request body is too large" : "The request body is incomplete");
        return FALSE;
    }
    GByteArray *b = c->req->body;
    if (content_type_is(c, "application/x-www-form-urlencoded")) {
        GHashTable *form = NULL;
        if (adm_form_parse((const char *)b->data, b->len, &form, &err) != GW_OK) {
            adm_respond_error(c, 400, "invalid_request", err->message);
            g_error_free(err);
            return FALSE;
        }
        g_hash_table_unref(c->form);
        c->form = form;
    } else if (content_type_is(c, "application/json")) {
        json_error_t jerr;
        c->json = json_loadb((const char *)b->data, b->len, JSON_REJECT_DUPLICATES, &jerr);
        if (!json_is_object(c->json)) {
            adm_respond_error(c, 400, "invalid_json", "The body must be a JSON object");
            return FALSE;
        }
    } else if (b->len > 0) {
        adm_respond_error(c, 415, "unsupported_media_type",
                          "Send application/x-www-form-urlencoded or application/json");
        return FALSE;
    }
    return TRUE;
}

static void dispatch(AdmCtx *c)
{
    const char *query = "";
    if (!split_uri(c, c->req->uri, &query)) {
        c->base = c->base != NULL ? c->base : g_strdup(ADM_BASE);
        adm_respond_error(c, 404, "not_found", "No such page");
        return;
    }
    if (*c->path == '\0') {
        adm_redirect(c, "/");
        return;
    }
    GError *err = NULL;
    GHashTable *q = NULL;
    if (adm_form_parse(query, strlen(query), &q, &err) != GW_OK) {
        adm_respond_error(c, 400, "invalid_request", err->message);
        g_error_free(err);
        return;
    }
    c->query = q;
    c->cookies = adm_cookies_parse(gw_request_header(c->req, "cookie", NULL));

    const AdmRoute *route = NULL;
    gboolean path_known = FALSE;
    const char *m = strcmp(c->method, "HEAD") == 0 ? "GET" : c->method;
    for (gsize t = 0; route == NULL && t < G_N_ELEMENTS(route_tables); t++)
        for (const AdmRoute *r = route_tables[t]; route == NULL && r->method != NULL; r++)
            if (route_match(c, r->pattern, c->path)) {
                path_known = TRUE;
                if (strcmp(r->method, m) == 0)
                    route = r;
            }
    gboolean bad_token = FALSE;
    if (adm_auth_request(c, &bad_token, &err) != GW_OK) {
        g_warning("admin: authentication: %s", err->message);
        g_error_free(err);
        adm_respond_error(c, 503, "service_unavailable", "The database is not available");
        return;
    }
    if (bad_token) {
        adm_respond_json_error(c, 401, "authentication_error", "invalid_api_token",
                               "The Authorization header does not hold a valid admin API token");
        return;
    }
    if (route == NULL) {
        if (path_known && c->role > ADM_ROLE_NONE)
            adm_respond_error(c, 405, "method_not_allowed", "Method not allowed");
        else if (path_known || c->role > ADM_ROLE_NONE)
            adm_respond_error(c, path_known ? 401 : 404, path_known ? "unauthorized" : "not_found",
                              path_known ? "Log in first" : "No such page");
        else
            adm_respond_error(c, 404, "not_found", "No such page");
        return;
    }
    if (c->role < route->min_role) {
        if (c->role > ADM_ROLE_NONE)
            adm_respond_error(c, 403, "forbidden", "Your role does not allow this");
        else if (g_str_has_prefix(c->path, "/api/"))
            adm_respond_json_error(c, 401, "authentication_error", "unauthorized",
                                   "Authenticate with a session or an admin API token");
        else if (is_read(c->method)) {
            char *next = g_uri_escape_string(c->path, "/", TRUE);
            char *to = g_strconcat("/login?next=", next, NULL);
            adm_redirect(c, to);
            g_free(to);
            g_free(next);
        } else
            adm_respond_error(c, 401, "unauthorized", "Log in first");
        return;
    }
    /* The viewer role changes nothing, whatever a route table says; logging out is allowed. */
    if (c->role == ADM_ROLE_VIEWER && !is_read(c->method) && strcmp(route->pattern, "/logout") != 0) {
        adm_respond_error(c, 403, "forbidden", "The viewer role cannot change anything");
        return;
    }
    if (!is_read(c->method)) {
        if (!read_body(c))
            return;
        if (route->min_role > ADM_ROLE_NONE && !adm_csrf_ok(c)) {
            adm_respond_error(c, 403, "csrf_failed",
                              "The form is missing its security token or it has expired; "
                              "reload the page and try again");
            return;
        }
    }
    route->handler(c);
    if (!c->responded)
        adm_respond_error(c, 500, "internal_error", "The page produced no answer");
}

void adm_handle(AdmApp *app, GwStore *store, const GwRequestIO *io, void *io_ctx)
{
    GwRequest req;
    gw_request_init(&req, io, io_ctx, ADM_MAX_HEADERS, NULL);
    AdmCtx c = {
        .app = app,
        .req = &req,
        .store = store,
        .method = req.method != NULL ? req.method : "GET",
        .client_ip = req.remote_addr,
    };
    c.ops.store = store;
    memcpy(c.ops.master_key, app->master_key, sizeof c.ops.master_key);
    c.ops.allow_private_upstreams = app->conf->allow_private_upstreams;
    const char *https = io->param(io_ctx, "HTTPS");
    c.https = https != NULL && g_ascii_strcasecmp(https, "on") == 0;
    c.form = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

    dispatch(&c);

    explicit_bzero(c.ops.master_key, sizeof c.ops.master_key);
    g_free(c.base);
    g_free(c.path);
    if (c.query != NULL)
        g_hash_table_unref(c.query);
    g_hash_table_unref(c.form);
    json_decref(c.json);
    if (c.cookies != NULL)
        g_hash_table_unref(c.cookies);
    for (guint i = 0; i < ADM_MAX_PARAMS; i++)
        g_free(c.params[i]);
    g_free(c.user);
    g_free(c.session_hash);
    g_free(c.csrf);
    if (c.set_cookies != NULL)
        g_ptr_array_unref(c.set_cookies);
    gw_request_clear(&req);
}
