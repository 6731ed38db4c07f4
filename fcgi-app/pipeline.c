/* pipeline.c — one /v1 request end to end.
 *
 * Stages, in order; each returns GW_GO_ON or GW_FINISHED (the response has been sent):
 *   stage_request_id  x-request-id → log id (or a new UUIDv7)
 *   stage_route       method and path checks (no path tricks reach a provider)
 *   stage_auth        virtual key from Authorization: Bearer or x-api-key
 *   stage_tracking    sessions, properties, privacy flags, country, referer, client IPs
 *   stage_body        bounded body read, strict JSON validation for application/json
 *   stage_prompt      alephant-prompt-id: the stored template merged into the body
 *   stage_model       the key's allowed models
 *   policies, rate limits (enforce.c)
 *   the response cache lookup (cache.c): a hit answers here, skipping budget and upstream
 *   budget reservation (enforce.c)
 *   stage_targets     the key's provider targets in try order (alephant-forced-routing,
 *                     priority, weighted shuffle among equal priorities)
 *   stage_forward     for each target until one answers: provider key, decrypted credential,
 *                     model mapping, translation, then the provider answers (in-process for
 *                     mock, else gw_proxy_forward); connect errors, timeouts, 429 and 5xx fall
 *                     back to the next target (bounded, exponential backoff with jitter) as
 *                     long as nothing has reached the client
 * then a complete 2xx answer is saved to the cache when the request asked for it, and the log row
 * (with every attempt) is handed to the process's log writer whatever happened. */
#include "config.h"
#include "pipeline.h"

#include <string.h>
#include "cache.h"
#include "cost.h"
#include "enforce.h"
#include "headers.h"
#include "providers/provider.h"
#include "prompt.h"
#include "proxy.h"
#include "reqbody.h"
#include "translate_anthropic.h"
#include "uuid.h"

#define GW_MAX_HEADERS 200
#define GW_MAX_CLIENT_ID 256

typedef enum { GW_GO_ON, GW_FINISHED } GwStage;

/* ---- helpers shared with providers and the proxy ---- */

const char *const *gw_call_response_headers(GwCall *call, const char *content_type)
{
    static __thread const char *h[64];
    guint n = 0;
    h[n++] = "Content-Type";
    h[n++] = content_type;
    if (content_type != NULL && g_str_has_prefix(content_type, "text/event-stream")) {
        h[n++] = "Cache-Control";
        h[n++] = "no-cache";
        h[n++] = "X-Accel-Buffering";
        h[n++] = "no";
    }
    h[n++] = "alephant-id";
    h[n++] = call->log->request_id;
    gw_cache_capture_content_type(call, content_type);
    gw_cache_response_headers(call, h, &n, G_N_ELEMENTS(h));
    if (call->worker->proc->conf->response_headers && call->provider != NULL) {
        h[n++] = "alephant-provider";
        h[n++] = call->provider->kind;
        if (call->upstream_request_id != NULL) {
            h[n++] = "alephant-provider-req-id";
            h[n++] = call->upstream_request_id;
        }
    }
    /* Rate-limit headers (and Retry-After on a 429) of the gateway's own limits. */
    for (guint i = 0; call->limit_headers != NULL && i < call->limit_headers->len && n + 3 < G_N_ELEMENTS(h); i++) {
        const GwHeader *lh = g_ptr_array_index(call->limit_headers, i);
        h[n++] = lh->name;
        h[n++] = lh->value;
    }
    h[n] = NULL;
    return h;
}

void gw_call_fail(GwCall *call, GwErrorKind kind, const char *message)
{
    GwLogRow *log = call->log;
    if (log->error_code == NULL) {
        log->error_code = g_strdup(gw_error_code(kind));
        log->error_message = g_strdup(message);
    }
    if (call->req->headers_sent)
        return;
    log->status = gw_error_status(kind);
    char *body = gw_error_json(kind, message);
    gw_response_start(call->req, log->status, gw_call_response_headers(call, "application/json"), NULL);
    gw_response_write(call->req, body, strlen(body));
    gw_call_log_response(call, body, strlen(body));
    g_free(body);
}

void gw_call_log_response(GwCall *call, const char *data, size_t len)
{
    const GwConf *conf = call->worker->proc->conf;
    gw_cache_capture(call, data, len);
    if (!conf->log_bodies || call->tracking.omit_response)
        return;
    if (call->response_log == NULL)
        call->response_log = g_string_new(NULL);
    gsize room = (gsize)conf->log_body_max_bytes > call->response_log->len
                     ? (gsize)conf->log_body_max_bytes - call->response_log->len : 0;
    if (len > room) {
        call->response_log_truncated = TRUE;
        len = room;
    }
    g_string_append_len(call->response_log, data, (gssize)len);
}

/* A copy of a body for the log: whole valid UTF-8 characters up to the cap, or a note when the
 * body is not text. Caller frees. */
static char *log_text(const char *data, gsize len, gsize cap, gboolean *truncated)
{
    const char *end;
    *truncated = len > cap;
    gsize n = MIN(len, cap);
    if (!g_utf8_validate_len(data, n, &end)) {
        /* A cut in the middle of a character is fine; anything else is binary. */
        if ((gsize)(end - data) + 4 < n || !*truncated)
            return g_strdup_printf("[binary body of %" G_GSIZE_FORMAT " bytes not stored]", len);
        n = (gsize)(end - data);
    }
    if (memchr(data, '\0', n) != NULL)
        return g_strdup_printf("[binary body of %" G_GSIZE_FORMAT " bytes not stored]", len);
    return g_strndup(data, n);
}

/* ---- stages ---- */

static GwStage stage_request_id(GwCall *call)
{
    const char *given = gw_request_header(call->req, "x-request-id", NULL);
    if (given != NULL && gw_uuid_parse(given, strlen(given), call->log->request_id))
        return GW_GO_ON;
    gw_uuid_v7(call->log->request_id);
    if (given != NULL && *given != '\0') {
        gboolean cut;
        call->log->client_request_id = log_text(given, strlen(given), GW_MAX_CLIENT_ID, &cut);
    }
    return GW_GO_ON;
}

static gboolean path_is_clean(const char *p, const char *end)
{
    for (const char *c = p; c < end; c++) {
        if (g_ascii_isalnum(*c) || strchr("-._~/:@!$&'()*+,=", *c) != NULL) {
            if (*c == '/' && c + 1 < end && c[1] == '/')
                return FALSE; /* "//" */
            continue;
        }
        if (*c == '%' && c + 2 < end && g_ascii_isxdigit(c[1]) && g_ascii_isxdigit(c[2])) {
            int v = g_ascii_xdigit_value(c[1]) * 16 + g_ascii_xdigit_value(c[2]);
            /* Encoded dots, slashes, backslashes and control bytes could change what the
             * provider resolves the path to. */
            if (v == '.' || v == '/' || v == '\\' || v < 0x20 || v == 0x7f)
                return FALSE;
            c += 2;
            continue;
        }
        return FALSE; /* ';' parameters, backslashes, spaces, controls, non-ASCII */
    }
    /* No "." or ".." segments. */
    char *path = g_strndup(p, (gsize)(end - p));
    char **segs = g_strsplit(path, "/", -1);
    gboolean ok = TRUE;
    for (guint i = 0; segs[i] != NULL; i++)
        if (strcmp(segs[i], ".") == 0 || strcmp(segs[i], "..") == 0)
            ok = FALSE;
    g_strfreev(segs);
    g_free(path);
    return ok;
}

static GwStage stage_route(GwCall *call)
{
    const char *m = call->req->method != NULL ? call->req->method : "";
    if (strcmp(m, "GET") != 0 && strcmp(m, "POST") != 0 && strcmp(m, "DELETE") != 0) {
        gw_call_fail(call, GW_E_METHOD, "Only GET, POST and DELETE are supported");
        return GW_FINISHED;
    }
    const char *uri = call->req->uri != NULL ? call->req->uri : "";
    const char *q = strchr(uri, '?');
    const char *pend = q != NULL ? q : uri + strlen(uri);
    if (strlen(uri) > 8192 || !g_str_has_prefix(uri, "/v1/") || !path_is_clean(uri, pend)) {
        gw_call_fail(call, GW_E_NOT_FOUND, "Unknown or invalid path: use /v1/… as with the "
                     "provider's API");
        return GW_FINISHED;
    }
    for (const char *c = pend; *c != '\0'; c++)
        if ((unsigned char)*c <= 0x20 || *c == 0x7f || *c == '#') {
            gw_call_fail(call, GW_E_INVALID_REQUEST, "Invalid characters in the query string");
            return GW_FINISHED;
        }
    call->path_query = g_strdup(uri);
    call->path = g_strndup(uri, (gsize)(pend - uri));
    return GW_GO_ON;
}

/* The virtual key from the request, or NULL; sets *kind on a client error. */
static char *extract_token(GwCall *call, GwErrorKind *kind, const char **why)
{
    guint n_auth = 0, n_xkey = 0;
    const char *auth = gw_request_header(call->req, "authorization", &n_auth);
    const char *xkey = gw_request_header(call->req, "x-api-key", &n_xkey);
    char *bearer = NULL;
    if (auth != NULL) {
        if (g_ascii_strncasecmp(auth, "Bearer ", 7) != 0) {
            *kind = GW_E_INVALID_KEY;
            *why = "Authorization must use the Bearer scheme with a virtual key (vk-…)";
            return NULL;
        }
        bearer = g_strstrip(g_strdup(auth + 7));
    }
    char *key = xkey != NULL ? g_strstrip(g_strdup(xkey)) : NULL;
    if (bearer != NULL && key != NULL && strcmp(bearer, key) != 0) {
        g_free(bearer);
        g_free(key);
        *kind = GW_E_CONFLICTING_KEYS;
        *why = "Authorization and x-api-key carry different keys: send one virtual key";
        return NULL;
    }
    if (bearer == NULL && key == NULL) {
        *kind = GW_E_MISSING_KEY;
        *why = "Missing virtual key: send Authorization: Bearer vk-…";
        return NULL;
    }
    g_free(key != NULL && bearer != NULL ? key : NULL);
    return bearer != NULL ? bearer : key;
}

static GwStage stage_auth(GwCall *call)
{
    GwErrorKind kind = GW_E_INVALID_KEY;
    const char *why = NULL;
    char *token = extract_token(call, &kind, &why);
    if (token == NULL) {
        gw_call_fail(call, kind, why);
        return GW_FINISHED;
    }
    size_t len = strlen(token);
    if (!gw_vk_is_well_formed(token, len)) {
        gw_secret_free(token);
        gw_call_fail(call, GW_E_INVALID_KEY, "Invalid virtual key");
        return GW_FINISHED;
    }
    char hash[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex(token, len, hash);
    gw_secret_free(token);

    GError *err = NULL;
    GwVirtualKey *vk = NULL;
    GwStatus st = gw_store_vk_find_by_hash(call->worker->store, hash, &vk, &err);
    if (st == GW_ENOTFOUND || (st == GW_OK && !gw_ct_equal(hash, vk->token_hash, GW_SHA256_HEX_LEN))) {
        g_clear_error(&err);
        gw_virtual_key_free(vk);
        gw_call_fail(call, GW_E_INVALID_KEY, "Invalid virtual key");
        return GW_FINISHED;
    }
    if (st != GW_OK) {
        g_warning("virtual key lookup failed: %s", err->message);
        g_error_free(err);
        gw_call_fail(call, GW_E_UNAVAILABLE, "The gateway cannot read its database right now; "
                     "retry shortly");
        return GW_FINISHED;
    }
    call->vk = vk;
    call->log->virtual_key_id = vk->id;
    call->log->agent_id = vk->agent_id;
    call->log->department_id = vk->department_id;
    if (strcmp(vk->status, "active") != 0) {
        gw_call_fail(call, GW_E_REVOKED_KEY, "This virtual key has been revoked");
        return GW_FINISHED;
    }
    if (vk->expires_at > 0 && vk->expires_at <= g_get_real_time() / 1000) {
        gw_call_fail(call, GW_E_EXPIRED_KEY, "This virtual key has expired");
        return GW_FINISHED;
    }
    return GW_GO_ON;
}

/* application/json, text/json and application/<anything>+json (parameters allowed). */
static gboolean is_json_content(const char *ct)
{
    if (ct == NULL)
        return FALSE;
    while (*ct == ' ')
        ct++;
    gsize n = strcspn(ct, "; ");
    if ((n == 16 && g_ascii_strncasecmp(ct, "application/json", 16) == 0) ||
        (n == 9 && g_ascii_strncasecmp(ct, "text/json", 9) == 0))
        return TRUE;
    return n > 17 && g_ascii_strncasecmp(ct, "application/", 12) == 0 &&
           g_ascii_strncasecmp(ct + n - 5, "+json", 5) == 0;
}

/* Providers parse a JSON body whatever its label says, so a body that looks like JSON is checked
 * like one: otherwise a model-restricted key could reach any model by sending text/plain. */
static gboolean looks_like_json(const GByteArray *body)
{
    for (guint i = 0; i < body->len; i++) {
        guint8 c = body->data[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
            continue;
        return c == '{' || c == '[';
    }
    return FALSE;
}

static GwStage stage_body(GwCall *call)
{
    const GwConf *conf = call->worker->proc->conf;
    GwRequest *req = call->req;
    gboolean declared_json = is_json_content(req->content_type);
    if (req->content_length == 0 || (req->content_length < 0 && strcmp(req->method, "GET") == 0)) {
        if (declared_json && strcmp(req->method, "POST") == 0) {
            gw_call_fail(call, GW_E_INVALID_JSON, "The request body is empty but declared as JSON");
            return GW_FINISHED;
        }
        call->upstream_body = g_bytes_new(NULL, 0);
        return GW_GO_ON;
    }
    GError *err = NULL;
    GwStatus st = gw_request_read_body(req, conf->max_request_bytes, &err);
    if (st == GW_ETOOBIG) {
        gw_call_fail(call, GW_E_TOO_LARGE, err->message);
        g_error_free(err);
        return GW_FINISHED;
    }
    if (st != GW_OK) {
        g_error_free(err);
        req->client_gone = TRUE;
        call->log->status = 499;
        call->log->error_code = g_strdup("client_disconnected");
        call->log->error_message = g_strdup("The client went away while sending the body");
        return GW_FINISHED;
    }
    call->upstream_body = g_bytes_new(req->body->data, req->body->len);
    if (conf->log_bodies && !call->tracking.omit_request)
        call->log->request_body = log_text((const char *)req->body->data, req->body->len,
                                           (gsize)conf->log_body_max_bytes,
                                           &call->log->request_truncated);
    if (req->body->len == 0 && !declared_json)
        return GW_GO_ON;
    if (!declared_json && !looks_like_json(req->body)) {
        if (call->vk->allowed_models != NULL) {
            gw_call_fail(call, GW_E_INVALID_REQUEST, "This virtual key is limited to certain "
                         "models: send a JSON body (Content-Type: application/json)");
            return GW_FINISHED;
        }
        return GW_GO_ON; /* multipart uploads and other bodies pass through */
    }
    GwReqBody parsed;
    if (gw_reqbody_parse((const char *)req->body->data, req->body->len, &parsed, &err) != GW_OK) {
        gw_call_fail(call, GW_E_INVALID_JSON, err->message);
        g_error_free(err);
        return GW_FINISHED;
    }
    call->json = json_incref(parsed.root);
    call->stream = parsed.stream;
    gw_reqbody_clear(&parsed);
    call->model = g_strdup(json_string_value(json_object_get(call->json, "model")));
    call->client_include_usage =
        json_is_true(json_object_get(json_object_get(call->json, "stream_options"), "include_usage"));
    call->log->stream = call->stream;
    if (call->model != NULL)
        call->log->model = g_strdup(call->model);
    return GW_GO_ON;
}

static GwStage stage_tracking(GwCall *call)
{
    GwTrackingLimits lim;
    gw_tracking_limits_default(&lim);
    GError *err = NULL;
    GwTracking *t = &call->tracking;
    if (gw_tracking_parse(call->req->headers, call->req->remote_addr,
                          call->worker->proc->trusted_proxies, &lim, t, &err) != GW_OK) {
        gw_call_fail(call, GW_E_INVALID_REQUEST, err->message);
        g_error_free(err);
        return GW_FINISHED;
    }
    GwLogRow *log = call->log;
    log->session_id = g_strdup(t->session_id);
    log->session_path = g_strdup(t->session_path);
    log->session_name = g_strdup(t->session_name);
    log->country = t->country[0] != '\0' ? g_strdup(t->country) : NULL;
    log->referer = g_strdup(t->referer);
    log->forwarded_ip = t->client_ip_from_xff ? g_strdup(t->client_ip) : NULL;
    log->ratelimit_ip = t->ratelimit_ip[0] != '\0' ? g_strdup(t->ratelimit_ip) : NULL;
    log->request_omitted = t->omit_request;
    log->response_omitted = t->omit_response;
    for (guint i = 0; t->properties != NULL && i < t->properties->len; i++) {
        GwProperty *p = g_ptr_array_index(t->properties, i);
        GwLogProperty *lp = g_new(GwLogProperty, 1);
        lp->name = g_strdup(p->name);
        lp->value = g_strdup(p->value);
        g_ptr_array_add(log->properties, lp);
    }
    return GW_GO_ON;
}

/* alephant-prompt-id: the newest version of the stored template, merged into the JSON body
 * (template messages first, request fields override template defaults; see prompt.h). */
static GwStage stage_prompt(GwCall *call)
{
    const char *id = call->tracking.prompt_id;
    if (id == NULL)
        return GW_GO_ON;
    if (call->json == NULL) {
        gw_call_fail(call, GW_E_INVALID_JSON, "alephant-prompt-id needs a JSON object request body");
        return GW_FINISHED;
    }
    GError *err = NULL;
    char *text = NULL;
    int version = 0;
    GwStatus st = gw_store_prompt_get(call->worker->store, id, 0, &text, &version, &err);
    if (st == GW_ENOTFOUND) {
        g_clear_error(&err);
        gw_call_fail(call, GW_E_INVALID_REQUEST, "alephant-prompt-id names an unknown prompt");
        return GW_FINISHED;
    }
    if (st != GW_OK) {
        g_warning("prompt lookup failed: %s", err->message);
        g_error_free(err);
        gw_call_fail(call, GW_E_UNAVAILABLE, "The gateway cannot read its database right now; "
                     "retry shortly");
        return GW_FINISHED;
    }
    json_t *tmpl = json_loads(text, 0, NULL);
    g_free(text);
    json_t *merged = NULL;
    if (tmpl == NULL) {
        gw_call_fail(call, GW_E_INTERNAL, "The stored prompt template is damaged");
        return GW_FINISHED;
    }
    st = gw_prompt_apply(tmpl, call->json, (gsize)call->worker->proc->conf->max_request_bytes,
                         &merged, &err);
    json_decref(tmpl);
    if (st != GW_OK) {
        gw_call_fail(call, st == GW_ETOOBIG ? GW_E_TOO_LARGE : GW_E_INVALID_REQUEST, err->message);
        g_error_free(err);
        return GW_FINISHED;
    }
    json_decref(call->json);
    call->json = merged;
    g_free(call->model);
    call->model = g_strdup(json_string_value(json_object_get(merged, "model")));
    call->stream = json_is_true(json_object_get(merged, "stream"));
    call->client_include_usage =
        json_is_true(json_object_get(json_object_get(merged, "stream_options"), "include_usage"));
    char *s = json_dumps(merged, JSON_COMPACT);
    g_bytes_unref(call->upstream_body);
    call->upstream_body = g_bytes_new_take(s, strlen(s));
    GwLogRow *log = call->log;
    log->prompt_id = g_strdup(id);
    log->prompt_version = version;
    log->stream = call->stream;
    g_free(log->model);
    log->model = g_strdup(call->model);
    return GW_GO_ON;
}

static GwStage stage_model(GwCall *call)
{
    char **allowed = call->vk->allowed_models;
    if (allowed == NULL)
        return GW_GO_ON;
    if (call->model == NULL) {
        if (strcmp(call->req->method, "POST") == 0 && call->json != NULL) {
            gw_call_fail(call, GW_E_MODEL_REQUIRED, "This virtual key is limited to certain "
                         "models: the request body must name a \"model\"");
            return GW_FINISHED;
        }
        return GW_GO_ON; /* e.g. GET /v1/models */
    }
    if (g_strv_contains((const char *const *)allowed, call->model))
        return GW_GO_ON;
    gw_call_fail(call, GW_E_MODEL_NOT_ALLOWED, "This virtual key may not use the requested model");
    return GW_FINISHED;
}

/* Orders targets for trying: by priority; among equal priorities a weighted random order
 * (weight 0 targets only serve when forced). */
static void order_targets(GPtrArray *in, GPtrArray *out)
{
    guint i = 0;
    while (i < in->len) {
        int prio = ((GwTarget *)g_ptr_array_index(in, i))->priority;
        GPtrArray *group = g_ptr_array_new();
        for (; i < in->len && ((GwTarget *)g_ptr_array_index(in, i))->priority == prio; i++) {
            GwTarget *t = g_ptr_array_index(in, i);
            if (t->weight > 0)
                g_ptr_array_add(group, t);
        }
        while (group->len > 0) {
            gint64 total = 0;
            for (guint k = 0; k < group->len; k++)
                total += ((GwTarget *)g_ptr_array_index(group, k))->weight;
            gint64 pick = g_random_int_range(0, (gint32)MIN(total, G_MAXINT32));
            guint k = 0;
            for (; k + 1 < group->len; k++) {
                pick -= ((GwTarget *)g_ptr_array_index(group, k))->weight;
                if (pick < 0)
                    break;
            }
            g_ptr_array_add(out, g_ptr_array_index(group, k));
            g_ptr_array_remove_index(group, k);
        }
        g_ptr_array_unref(group);
    }
}

static GwStage stage_targets(GwCall *call)
{
    GError *err = NULL;
    GPtrArray *all = NULL;
    if (gw_store_vk_targets(call->worker->store, call->vk->id, &all, &err) != GW_OK) {
        g_warning("targets of virtual key %" G_GINT64_FORMAT ": %s", call->vk->id, err->message);
        g_error_free(err);
        gw_call_fail(call, GW_E_UNAVAILABLE, "The gateway cannot read its database right now; "
                     "retry shortly");
        return GW_FINISHED;
    }
    call->targets = all;
    GPtrArray *order = g_ptr_array_new();
    const char *forced = gw_request_header(call->req, "alephant-forced-routing", NULL);
    if (forced != NULL) {
        /* A provider kind ("anthropic") or a provider key name, among the key's targets. */
        for (guint i = 0; i < all->len; i++) {
            GwTarget *t = g_ptr_array_index(all, i);
            if (strcmp(t->provider, forced) == 0 || strcmp(t->provider_key_name, forced) == 0)
                g_ptr_array_add(order, t);
        }
        if (order->len == 0) {
            g_ptr_array_unref(order);
            gw_call_fail(call, GW_E_INVALID_REQUEST,
                         gw_provider_lookup(forced) != NULL
                             ? "alephant-forced-routing names a provider this virtual key is not "
                               "configured for"
                             : "alephant-forced-routing names an unknown provider; use a provider "
                               "(e.g. openai, anthropic) or provider key name configured on this "
                               "virtual key");
            return GW_FINISHED;
        }
    } else {
        order_targets(all, order);
    }
    if (order->len == 0) {
        g_ptr_array_unref(order);
        gw_call_fail(call, GW_E_INTERNAL, "This virtual key has no usable provider target");
        return GW_FINISHED;
    }
    /* Keep the try order in call->targets (the full list is only needed here). */
    GPtrArray *owned = g_ptr_array_new_with_free_func((GDestroyNotify)gw_target_free);
    for (guint i = 0; i < order->len; i++) {
        guint idx;
        g_ptr_array_find(all, g_ptr_array_index(order, i), &idx);
        g_ptr_array_add(owned, g_ptr_array_steal_index_fast(all, idx));
    }
    g_ptr_array_unref(order);
    g_ptr_array_unref(all);
    call->targets = owned;
    return GW_GO_ON;
}

/* Forgets what belongs to the previous attempt's target. */
static void reset_attempt(GwCall *call)
{
    gw_secret_free(call->secret);
    call->secret = NULL;
    gw_provider_key_free(call->pk);
    call->pk = NULL;
    call->provider = NULL;
    g_clear_pointer(&call->upstream_model, g_free);
    g_clear_pointer(&call->upstream_request_id, g_free);
    g_clear_pointer(&call->xs, gw_xlate_stream_free);
    call->xlate = FALSE;
    call->strip_usage_chunk = FALSE;
    call->json_changed = FALSE;
    call->usage = (GwUsage)GW_USAGE_UNKNOWN;
}

/* Prepares the call for target t: provider key, credential, model map, body. FALSE after an
 * error response was sent. */
static gboolean prepare_target(GwCall *call, const GwTarget *t, GBytes *client_body)
{
    GwWorker *w = call->worker;
    GError *err = NULL;
    call->target = t;
    if (gw_store_provider_key_get_by_id(w->store, t->provider_key_id, &call->pk, &err) != GW_OK) {
        g_warning("provider key %" G_GINT64_FORMAT " unavailable: %s", t->provider_key_id,
                  err->message);
        g_error_free(err);
        gw_call_fail(call, GW_E_UNAVAILABLE, "The provider key of this virtual key is unavailable");
        return FALSE;
    }
    call->provider = gw_provider_lookup(call->pk->provider);
    if (call->provider == NULL) {
        gw_call_fail(call, GW_E_INTERNAL, "Unknown provider kind");
        return FALSE;
    }
    call->log->provider_key_id = call->pk->id;
    g_free(call->log->provider);
    call->log->provider = g_strdup(call->provider->kind);
    if (call->provider->serve == NULL) {
        gsize len;
        const void *blob = g_bytes_get_data(call->pk->secret_enc, &len);
        if (gw_secret_decrypt(w->proc->master_key, blob, len, &call->secret, &err) != GW_OK) {
            /* Wrong master key or a damaged row: an operator problem, not the client's. */
            g_warning("provider key '%s' cannot be decrypted: %s", call->pk->name, err->message);
            g_error_free(err);
            gw_call_fail(call, GW_E_INTERNAL, "The gateway cannot use this virtual key's provider "
                         "credential; ask the operator to check the master key");
            return FALSE;
        }
    }
    /* Model mapping: the client's model name → this target's (e.g. an Azure deployment). */
    const char *mapped = NULL;
    if (call->model != NULL && t->model_map != NULL)
        mapped = json_string_value(json_object_get(t->model_map, call->model));
    if (call->model != NULL)
        call->upstream_model = g_strdup(mapped != NULL ? mapped : call->model);
    if (call->json != NULL && call->model != NULL) {
        const char *cur = json_string_value(json_object_get(call->json, "model"));
        if (cur == NULL || strcmp(cur, call->upstream_model) != 0) {
            json_object_set_new(call->json, "model", json_string(call->upstream_model));
            call->json_changed = TRUE;
        }
    }
    call->xlate = strcmp(call->provider->kind, "anthropic") == 0 &&
                  strcmp(call->path, "/v1/chat/completions") == 0 && call->json != NULL;
    if (call->xlate) {
        json_t *anth = NULL;
        if (gw_xlate_request_to_anthropic(call->json, call->upstream_model, &anth, &err) != GW_OK) {
            gw_call_fail(call, GW_E_INVALID_REQUEST, err->message);
            g_error_free(err);
            return FALSE;
        }
        char *s = json_dumps(anth, JSON_COMPACT);
        json_decref(anth);
        call->upstream_body = g_bytes_new_take(s, strlen(s)); /* malloc'd: g_free is free */
        call->json_changed = TRUE;
        return TRUE;
    }
    if (call->provider->prepare != NULL)
        call->provider->prepare(call);
    if (call->json_changed) {
        char *s = json_dumps(call->json, JSON_COMPACT);
        call->upstream_body = g_bytes_new_take(s, strlen(s));
    } else {
        call->upstream_body = g_bytes_ref(client_body);
    }
    return TRUE;
}

/* Sleeps before the next attempt: retry_backoff_ms × 2^(n-1), with 50–100 % jitter, capped at
 * 5 s; returns early (FALSE) when the client went away. */
static gboolean backoff(GwCall *call, int attempt)
{
    const GwConf *conf = call->worker->proc->conf;
    gint64 ms = (gint64)conf->retry_backoff_ms << MIN(attempt - 1, 10);
    ms = MIN(ms, 5000);
    ms = ms / 2 + (ms > 1 ? g_random_int_range(0, (gint32)(ms / 2 + 1)) : 0);
    gint64 until = g_get_monotonic_time() + ms * 1000;
    while (g_get_monotonic_time() < until) {
        if (gw_request_peer_closed(call->req))
            return FALSE;
        g_usleep((gulong)MIN(until - g_get_monotonic_time(), (gint64)50000));
    }
    return TRUE;
}

static void stage_forward(GwCall *call)
{
    const GwConf *conf = call->worker->proc->conf;
    GBytes *client_body = call->upstream_body; /* the client's bytes, forwarded unchanged */
    call->upstream_body = NULL;
    guint n = MIN(call->targets->len, (guint)conf->max_attempts);
    for (guint i = 0; i < n; i++) {
        reset_attempt(call);
        if (call->upstream_body != NULL)
            g_clear_pointer(&call->upstream_body, g_bytes_unref);
        if (i > 0 && !backoff(call, (int)i)) {
            call->log->status = 499;
            call->log->error_code = g_strdup("client_disconnected");
            call->log->error_message = g_strdup("The client went away during fallback");
            break;
        }
        const GwTarget *t = g_ptr_array_index(call->targets, i);
        if (!prepare_target(call, t, client_body))
            break;
        GwAttempt *att = gw_attempt_new();
        att->attempt = (int)i + 1;
        att->provider_key_id = t->provider_key_id;
        att->provider = g_strdup(call->provider->kind);
        att->model = g_strdup(call->upstream_model);
        att->created_at = g_get_real_time() / 1000;
        gint64 t0 = call->attempt_start_us = g_get_monotonic_time();
        GwForward r;
        if (call->provider->serve != NULL) {
            call->provider->serve(call);
            att->status = call->log->status;
            r = GW_FWD_DONE;
        } else {
            r = gw_proxy_forward(call, i + 1 < n, att);
        }
        att->latency_ms = (g_get_monotonic_time() - t0) / 1000;
        g_ptr_array_add(call->log->attempts, att);
        if (r == GW_FWD_DONE)
            break;
    }
    if (call->upstream_body != NULL)
        g_bytes_unref(call->upstream_body);
    call->upstream_body = client_body;
}

/* ---- the request ---- */

/* Cost of what the provider reported, at the price in force now, in nano-dollars. */
static void log_cost(GwCall *call)
{
    GwLogRow *log = call->log;
    if (call->provider == NULL)
        return; /* nothing reached a provider: no cost, nothing to flag */
    if (call->provider->serve != NULL) {
        log->cost_nanos = 0; /* the built-in mock spends nothing */
        return;
    }
    if (log->prompt_tokens < 0 && log->completion_tokens < 0) {
        log->cost_flag = g_strdup("no_usage");
        return;
    }
    /* The model sent upstream decides the price; a mapped name without a price of its own (an
     * Azure deployment, say) is priced as the model the client asked for. */
    GwPrice price = { 0 };
    GError *err = NULL;
    GwStatus st = GW_ENOTFOUND;
    const char *models[] = { call->upstream_model, call->model };
    for (guint i = 0; i < G_N_ELEMENTS(models) && st == GW_ENOTFOUND; i++) {
        if (models[i] == NULL)
            continue;
        g_clear_error(&err);
        st = gw_store_price_find(call->worker->store, models[i], log->created_at, &price, &err);
    }
    if (st == GW_OK)
        log->cost_nanos = gw_cost_nanos(&price, log->prompt_tokens, log->cached_tokens,
                                        log->completion_tokens);
    else
        log->cost_flag = g_strdup(st == GW_ENOTFOUND ? "unknown_model" : "price_unavailable");
    g_clear_error(&err);
    gw_price_clear(&price);
}

static void finish_log(GwCall *call)
{
    GwLogRow *log = call->log;
    const GwConf *conf = call->worker->proc->conf;
    log->latency_ms = (g_get_monotonic_time() - call->start_us) / 1000;
    log->prompt_tokens = call->usage.prompt_tokens;
    log->completion_tokens = call->usage.completion_tokens;
    log->total_tokens = call->usage.total_tokens;
    if (log->total_tokens < 0 && log->prompt_tokens >= 0 && log->completion_tokens >= 0)
        log->total_tokens = log->prompt_tokens + log->completion_tokens;
    if (call->response_log != NULL) {
        gboolean cut;
        log->response_body = log_text(call->response_log->str, call->response_log->len,
                                      (gsize)conf->log_body_max_bytes, &cut);
        log->response_truncated = cut || call->response_log_truncated;
    }
    log->upstream_request_id = g_strdup(call->upstream_request_id);
    if (log->status == 0)
        log->status = call->req->client_gone ? 499 : 500;
    log->cached_tokens = call->usage.cached_tokens;
    log->reasoning_tokens = call->usage.reasoning_tokens;
    log_cost(call);
}

void gw_pipeline_handle(GwWorker *w, const GwRequestIO *io, void *io_ctx)
{
    GwRequest req;
    gboolean too_many = FALSE;
    gw_request_init(&req, io, io_ctx, GW_MAX_HEADERS, &too_many);
    GwCall call = {
        .worker = w,
        .req = &req,
        .log = gw_log_row_new(),
        .start_us = g_get_monotonic_time(),
        .usage = GW_USAGE_UNKNOWN,
    };
    GwLogRow *log = call.log;
    log->created_at = g_get_real_time() / 1000;
    log->method = g_strdup(req.method);
    gw_store_work_begin(w->store); /* one configuration snapshot for the whole request */
    if (req.uri != NULL) {
        gboolean cut;
        log->path = log_text(req.uri, strlen(req.uri), 2048, &cut);
    }
    log->client_ip = g_strdup(req.remote_addr);
    const char *ua = gw_request_header(&req, "user-agent", NULL);
    if (ua != NULL) {
        gboolean cut;
        log->user_agent = log_text(ua, strlen(ua), 512, &cut);
    }
    log->request_headers = gw_tracking_log_headers(req.headers, GW_LOG_HEADERS_MAX);

    stage_request_id(&call);
    if (too_many)
        gw_call_fail(&call, GW_E_TOO_MANY_HEADERS, "Too many request headers");
    else if (!gw_logger_accepting(w->proc->logger)) /* fail closed: it could not be recorded */
        gw_call_fail(&call, GW_E_UNAVAILABLE, "The gateway cannot record requests right now "
                     "(its database refuses writes); retry shortly");
    else if (stage_route(&call) == GW_GO_ON && stage_auth(&call) == GW_GO_ON &&
             stage_tracking(&call) == GW_GO_ON && stage_body(&call) == GW_GO_ON &&
             stage_prompt(&call) == GW_GO_ON && stage_model(&call) == GW_GO_ON &&
             gw_enforce_policies(&call) && gw_enforce_rate_limits(&call) &&
             gw_cache_lookup(&call) && gw_enforce_budget(&call) && stage_targets(&call) == GW_GO_ON)
        stage_forward(&call);

    finish_log(&call);
    gw_cache_finish(&call);
    gw_enforce_finish(&call);
    gw_logger_submit(w->proc->logger, call.log);

    reset_attempt(&call);
    gw_virtual_key_free(call.vk);
    if (call.targets != NULL)
        g_ptr_array_unref(call.targets);
    json_decref(call.json);
    g_free(call.model);
    gw_tracking_clear(&call.tracking);
    gw_enforce_clear(&call);
    gw_cache_clear(&call);
    if (call.upstream_body != NULL)
        g_bytes_unref(call.upstream_body);
    if (call.response_log != NULL)
        g_string_free(call.response_log, TRUE);
    g_free(call.path);
    g_free(call.path_query);
    gw_request_clear(&req);
    gw_store_work_end(w->store);
}
