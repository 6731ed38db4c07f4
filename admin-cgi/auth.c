/* auth.c — API tokens, sessions, logins and their rate limit (see auth.h). */
#include "config.h"
#include "auth.h"

#include <string.h>
#include "adminauth.h"
#include "crypto.h"
#include "http.h"
#include "store_admin.h"

/* Session ids and CSRF tokens: 32 random bytes as base64url (43 characters). */
#define ADM_SECRET_BYTES 32

static gint64 adm_now_ms(void)
{
    return g_get_real_time() / 1000;
}

AdmRole adm_role_parse(const char *role)
{
    if (g_strcmp0(role, "admin") == 0)
        return ADM_ROLE_ADMIN;
    if (g_strcmp0(role, "viewer") == 0)
        return ADM_ROLE_VIEWER;
    return ADM_ROLE_NONE;
}

static gboolean cookie_value_ok(const char *v)
{
    size_t n = v != NULL ? strlen(v) : 0;
    if (n < 20 || n > 128)
        return FALSE;
    for (size_t i = 0; i < n; i++)
        if (!g_ascii_isalnum(v[i]) && v[i] != '-' && v[i] != '_')
            return FALSE;
    return TRUE;
}

static GwStatus auth_token(AdmCtx *c, const char *header, gboolean *bad_token, GError **err)
{
    const char *tok = NULL;
    if (g_ascii_strncasecmp(header, "Bearer ", 7) == 0)
        tok = header + 7;
    while (tok != NULL && *tok == ' ')
        tok++;
    if (tok == NULL || !gw_admin_token_is_well_formed(tok)) {
        *bad_token = TRUE;
        return GW_OK;
    }
    char hash[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex(tok, strlen(tok), hash);
    GwAdminToken *t = NULL;
    GError *e = NULL;
    GwStatus gs = gw_store_admin_token_find(c->store, hash, adm_now_ms(), &t, &e);
    if (gs == GW_ENOTFOUND) {
        g_error_free(e);
        *bad_token = TRUE;
        return GW_OK;
    }
    if (gs != GW_OK) {
        g_propagate_error(err, e);
        return gs;
    }
    c->role = adm_role_parse(t->role);
    c->user = g_strconcat("token:", t->name, NULL);
    c->via_token = TRUE;
    gw_admin_token_free(t);
    return GW_OK;
}

static GwStatus auth_session(AdmCtx *c, const char *cookie, GError **err)
{
    char hash[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex(cookie, strlen(cookie), hash);
    GwAdminSession *s = NULL;
    GError *e = NULL;
    GwStatus gs = gw_store_admin_session_get(c->store, hash, &s, &e);
    if (gs == GW_ENOTFOUND) {
        g_error_free(e);
        return GW_OK;
    }
    if (gs != GW_OK) {
        g_propagate_error(err, e);
        return gs;
    }
    gint64 now = adm_now_ms();
    const GwConf *conf = c->app->conf;
    if (now - s->last_seen_at > (gint64)conf->admin_session_idle_s * 1000 ||
        now - s->created_at > (gint64)conf->admin_session_max_s * 1000) {
        /* Expired: forget it (and the other expired ones) and ask for a login. */
        gw_store_admin_session_delete(c->store, hash, NULL);
        gw_store_admin_session_purge(c->store, now - (gint64)conf->admin_session_idle_s * 1000,
                                     now - (gint64)conf->admin_session_max_s * 1000, NULL);
        gw_admin_session_free(s);
        return GW_OK;
    }
    gs = gw_store_admin_session_touch(c->store, hash, now, err);
    if (gs == GW_OK) {
        c->role = adm_role_parse(s->role);
        c->user = g_strdup(s->user_name);
        c->session_hash = g_strdup(hash);
        c->csrf = g_strdup(s->csrf_token);
    }
    gw_admin_session_free(s);
    return gs;
}

GwStatus adm_auth_request(AdmCtx *c, gboolean *bad_token, GError **err)
{
    *bad_token = FALSE;
    const char *authz = gw_request_header(c->req, "authorization", NULL);
    if (authz != NULL)
        return auth_token(c, authz, bad_token, err);
    const char *cookie = g_hash_table_lookup(c->cookies, ADM_SESSION_COOKIE);
    if (cookie != NULL && cookie_value_ok(cookie))
        return auth_session(c, cookie, err);
    return GW_OK;
}

/* A real yescrypt hash of a random password, made once per process. */
static const char *dummy_hash(void)
{
    static gsize once;
    static char *hash;
    if (g_once_init_enter(&once)) {
        char *pw = gw_random_token("", 24);
        if (gw_password_hash(pw, &hash, NULL) != GW_OK)
            hash = g_strdup("*");
        gw_secret_free(pw);
        g_once_init_leave(&once, 1);
    }
    return hash;
}

static GwStatus over_limit(AdmCtx *c, const char *user, gboolean *limited, GError **err)
{
    const GwConf *conf = c->app->conf;
    gint64 since = adm_now_ms() - (gint64)conf->admin_login_window_s * 1000;
    gint64 n_user = 0, n_ip = 0;
    GwStatus gs = gw_store_admin_login_failure_count(c->store, "user", user, since, &n_user, err);
    if (gs == GW_OK && c->client_ip != NULL)
        gs = gw_store_admin_login_failure_count(c->store, "ip", c->client_ip, since, &n_ip, err);
    *limited = n_user >= conf->admin_login_max_failures ||
               n_ip >= conf->admin_login_max_failures_ip;
    return gs;
}

GwStatus adm_auth_login(AdmCtx *c, const char *user, const char *password,
                        AdmLoginResult *result, GError **err)
{
    *result = ADM_LOGIN_BAD;
    if (user == NULL || *user == '\0' || strlen(user) > 256 || password == NULL)
        return GW_OK;
    gboolean limited = FALSE;
    GwStatus gs = over_limit(c, user, &limited, err);
    if (gs != GW_OK)
        return gs;
    if (limited) {
        *result = ADM_LOGIN_LIMITED;
        return GW_OK;
    }
    GwAdminUser *u = NULL;
    GError *e = NULL;
    gs = gw_store_admin_user_get(c->store, user, &u, &e);
    if (gs != GW_OK && gs != GW_ENOTFOUND) {
        g_propagate_error(err, e);
        return gs;
    }
    g_clear_error(&e);
    /* An unknown user costs a hash too, so timing does not tell which names exist. */
    gboolean ok = gw_password_verify(password, u != NULL ? u->password_hash : dummy_hash()) &&
                  u != NULL;
    gint64 now = adm_now_ms();
    if (!ok) {
        gw_admin_user_free(u);
        *result = ADM_LOGIN_BAD;
        return gw_store_admin_login_failure_add(
            c->store, user, c->client_ip, now,
            now - (gint64)c->app->conf->admin_login_window_s * 1000, err);
    }
    char *sid = gw_random_token("", ADM_SECRET_BYTES);
    char *csrf = gw_random_token("", ADM_SECRET_BYTES);
    char hash[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex(sid, strlen(sid), hash);
    gs = gw_store_admin_session_add(c->store, hash, u->id, csrf, now, err);
    if (gs == GW_OK) {
        gw_store_admin_user_touch_login(c->store, u->id, now, NULL);
        gw_store_admin_login_failure_clear_user(c->store, user, NULL);
        adm_set_cookie(c, ADM_SESSION_COOKIE, sid, -1);
        adm_set_cookie(c, ADM_LOGIN_COOKIE, "", 0);
        c->role = adm_role_parse(u->role);
        g_free(c->user);
        c->user = g_strdup(u->name);
        g_free(c->session_hash);
        c->session_hash = g_strdup(hash);
        g_free(c->csrf);
        c->csrf = csrf;
        csrf = NULL;
        *result = ADM_LOGIN_OK;
    }
    gw_secret_free(sid);
    gw_secret_free(csrf);
    gw_admin_user_free(u);
    return gs;
}

void adm_auth_logout(AdmCtx *c)
{
    if (c->session_hash != NULL)
        gw_store_admin_session_delete(c->store, c->session_hash, NULL);
    adm_set_cookie(c, ADM_SESSION_COOKIE, "", 0);
    c->role = ADM_ROLE_NONE;
    g_clear_pointer(&c->csrf, g_free);
    g_clear_pointer(&c->session_hash, g_free);
}
