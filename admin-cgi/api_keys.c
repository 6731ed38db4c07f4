/* api_keys.c — JSON admin API: /api/me (who is asking, and the CSRF token for the pages'
 * scripts) and provider keys (list, add, rotate, delete), through the same lib/ops functions as
 * alephantctl. */
#include "config.h"

#include "http.h"
#include "ops.h"
#include "ops_view.h"
#include "router.h"

static void me_get(AdmCtx *c)
{
    json_t *o = json_pack("{s:s, s:s, s:b}", "user", c->user != NULL ? c->user : "",
                          "role", c->role == ADM_ROLE_ADMIN ? "admin" : "viewer",
                          "token", c->via_token);
    json_object_set_new(o, "csrf_token", c->csrf != NULL ? json_string(c->csrf) : json_null());
    adm_respond_json(c, 200, o);
}

static void pk_list(AdmCtx *c)
{
    json_t *arr = NULL;
    GError *err = NULL;
    if (gw_provider_keys_json(c->store, &arr, &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:o}", "data", arr));
}

/* Answers with the provider key's JSON (status), or the error. */
static void pk_answer(AdmCtx *c, int status, const char *name)
{
    GwProviderKey *pk = NULL;
    GError *err = NULL;
    if (gw_store_provider_key_get(c->store, name, &pk, &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    adm_respond_json(c, status, gw_provider_key_json(pk));
    gw_provider_key_free(pk);
}

static gboolean need_json(AdmCtx *c)
{
    if (c->json == NULL) {
        adm_respond_json_error(c, 400, "invalid_request_error", "invalid_json",
                               "Send a JSON object (Content-Type: application/json)");
        return FALSE;
    }
    return TRUE;
}

static void pk_add(AdmCtx *c)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    const char *name = adm_json_str(c, "name");
    if (gw_ops_provider_key_add(&c->ops, name, adm_json_str(c, "provider"),
                                adm_json_str(c, "base_url"), adm_json_str(c, "api_version"),
                                adm_json_str(c, "secret"), &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    pk_answer(c, 201, name);
}

static void pk_rotate(AdmCtx *c)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    if (gw_ops_provider_key_rotate(&c->ops, adm_param(c, 0), adm_json_str(c, "secret"), &err) !=
        GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    pk_answer(c, 200, adm_param(c, 0));
}

static void pk_delete(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_ops_provider_key_delete(&c->ops, adm_param(c, 0), &err) != GW_OK) {
        adm_respond_gerror(c, err);
        g_error_free(err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:s, s:b}", "name", adm_param(c, 0), "deleted", 1));
}

const AdmRoute adm_routes_api[] = {
    {"GET", "/api/me", me_get, ADM_ROLE_VIEWER},
    {"GET", "/api/provider-keys", pk_list, ADM_ROLE_ADMIN},
    {"POST", "/api/provider-keys", pk_add, ADM_ROLE_ADMIN},
    {"POST", "/api/provider-keys/{name}/rotate", pk_rotate, ADM_ROLE_ADMIN},
    {"DELETE", "/api/provider-keys/{name}", pk_delete, ADM_ROLE_ADMIN},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
