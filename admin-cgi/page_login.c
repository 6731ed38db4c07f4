/* page_login.c — the login page (a double-submit token guards the form before any session
 * exists), logging in with the rate limit, logging out, and the start page. */
#include "config.h"

#include <string.h>
#include "adminauth.h"
#include "auth.h"
#include "csrf.h"
#include "html.h"
#include "http.h"
#include "layout.h"
#include "router.h"

/* A safe local "next" target: a path below the admin without scheme, host or odd characters. */
static gboolean next_ok(const char *next)
{
    if (next == NULL || next[0] != '/' || next[1] == '/' || strlen(next) > 512)
        return FALSE;
    for (const char *p = next; *p != '\0'; p++)
        if (!g_ascii_isalnum(*p) && strchr("/-_.~", *p) == NULL)
            return FALSE;
    return TRUE;
}

static void render_login(AdmCtx *c, int status, const char *problem, const char *user)
{
    const char *token = g_hash_table_lookup(c->cookies, ADM_LOGIN_COOKIE);
    char *fresh = NULL;
    if (token == NULL || strlen(token) < 20 || strlen(token) > 128) {
        fresh = gw_random_token("", 32);
        adm_set_cookie(c, ADM_LOGIN_COOKIE, fresh, 3600);
        token = fresh;
    }
    const char *next = adm_form(c, "next") != NULL ? adm_form(c, "next") : adm_query(c, "next");
    GString *out = g_string_new(NULL);
    adm_page_begin(c, out, "Log in", NULL);
    g_string_append(out, "<h1>Log in</h1>\n");
    if (problem != NULL)
        adm_notice(out, "error", problem);
    adm_html(out,
             "<form class=\"login\" method=\"post\" action=\"%s/login\">\n"
             "<input type=\"hidden\" name=\"csrf\" value=\"%s\">\n"
             "<input type=\"hidden\" name=\"next\" value=\"%s\">\n"
             "<label>User <input name=\"user\" autocomplete=\"username\" required value=\"%s\"></label>\n"
             "<label>Password <input name=\"password\" type=\"password\" "
             "autocomplete=\"current-password\" required></label>\n"
             "<button type=\"submit\">Log in</button>\n</form>\n",
             c->base, token, next_ok(next) ? next : "/", user != NULL ? user : "");
    adm_page_end(c, out);
    adm_respond_html(c, status, out);
    g_string_free(out, TRUE);
    gw_secret_free(fresh);
}

static void login_get(AdmCtx *c)
{
    if (c->role > ADM_ROLE_NONE) {
        adm_redirect(c, "/");
        return;
    }
    render_login(c, 200, NULL, NULL);
}

static void login_post(AdmCtx *c)
{
    const char *user = adm_form(c, "user");
    if (!adm_csrf_equal(g_hash_table_lookup(c->cookies, ADM_LOGIN_COOKIE),
                        adm_form(c, ADM_CSRF_FIELD))) {
        render_login(c, 403, "The login form expired; please try again.", user);
        return;
    }
    AdmLoginResult res = ADM_LOGIN_BAD;
    GError *err = NULL;
    if (adm_auth_login(c, user, adm_form(c, "password"), &res, &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    if (res == ADM_LOGIN_LIMITED) {
        render_login(c, 429, "Too many failed logins for this user or address; try again later.",
                     user);
        return;
    }
    if (res == ADM_LOGIN_BAD) {
        render_login(c, 401, "Wrong user name or password.", user);
        return;
    }
    const char *next = adm_form(c, "next");
    adm_redirect(c, next_ok(next) ? next : "/");
}

static void logout_post(AdmCtx *c)
{
    adm_auth_logout(c);
    adm_redirect(c, "/login");
}

static void home_get(AdmCtx *c)
{
    adm_redirect(c, c->role >= ADM_ROLE_ADMIN ? "/keys" : "/logs");
}

const AdmRoute adm_routes_login[] = {
    {"GET", "/login", login_get, ADM_ROLE_NONE},
    {"POST", "/login", login_post, ADM_ROLE_NONE},
    {"POST", "/logout", logout_post, ADM_ROLE_VIEWER},
    {"GET", "/", home_get, ADM_ROLE_VIEWER},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
