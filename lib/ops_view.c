/* ops_view.c — JSON views of provider keys and virtual keys (see ops_view.h). */
#include "config.h"
#include "ops_view.h"

#include "ops.h"

static json_t *str_or_null(const char *s)
{
    json_t *j = s != NULL ? json_string(s) : NULL;
    return j != NULL ? j : json_null();
}

static json_t *ms_or_null(gint64 ms)
{
    return ms > 0 ? json_integer(ms) : json_null();
}

json_t *gw_provider_key_json(const GwProviderKey *pk)
{
    json_t *o = json_object();
    json_object_set_new(o, "name", str_or_null(pk->name));
    json_object_set_new(o, "provider", str_or_null(pk->provider));
    json_object_set_new(o, "base_url", str_or_null(pk->base_url));
    json_object_set_new(o, "api_version", str_or_null(pk->api_version));
    json_object_set_new(o, "default_base_url",
                        str_or_null(gw_provider_default_base_url(pk->provider)));
    json_object_set_new(o, "secret_hint", str_or_null(pk->secret_hint));
    json_object_set_new(o, "created_at", ms_or_null(pk->created_at));
    json_object_set_new(o, "rotated_at", ms_or_null(pk->rotated_at));
    json_object_set_new(o, "virtual_keys", json_integer(pk->vk_count));
    return o;
}

json_t *gw_targets_json(const GPtrArray *targets)
{
    json_t *arr = json_array();
    for (guint i = 0; targets != NULL && i < targets->len; i++) {
        const GwTarget *t = g_ptr_array_index(targets, i);
        json_t *o = json_object();
        json_object_set_new(o, "provider_key", str_or_null(t->provider_key_name));
        json_object_set_new(o, "provider", str_or_null(t->provider));
        json_object_set_new(o, "priority", json_integer(t->priority));
        json_object_set_new(o, "weight", json_integer(t->weight));
        json_object_set(o, "model_map", t->model_map != NULL ? t->model_map : json_null());
        json_array_append_new(arr, o);
    }
    return arr;
}

json_t *gw_virtual_key_json(const GwVirtualKey *vk, const GPtrArray *targets, gint64 now_ms)
{
    json_t *o = json_object();
    json_t *models = json_null();
    if (vk->allowed_models != NULL) {
        models = json_array();
        for (char **m = vk->allowed_models; *m != NULL; m++)
            json_array_append_new(models, str_or_null(*m));
    }
    json_object_set_new(o, "name", str_or_null(vk->name));
    json_object_set_new(o, "prefix", str_or_null(vk->token_prefix));
    json_object_set_new(o, "provider_key", str_or_null(vk->provider_key_name));
    if (targets != NULL)
        json_object_set_new(o, "targets", gw_targets_json(targets));
    json_object_set_new(o, "models", models);
    json_object_set_new(o, "agent", str_or_null(vk->agent_name));
    json_object_set_new(o, "department", str_or_null(vk->department_name));
    json_object_set_new(o, "status", str_or_null(vk->status));
    json_object_set_new(o, "expired", json_boolean(vk->expires_at > 0 && vk->expires_at <= now_ms));
    json_object_set_new(o, "expires_at", ms_or_null(vk->expires_at));
    json_object_set_new(o, "created_at", ms_or_null(vk->created_at));
    json_object_set_new(o, "last_used_at", ms_or_null(vk->last_used_at));
    return o;
}

GwStatus gw_virtual_keys_json(GwStore *st, json_t **out, GError **err)
{
    GPtrArray *keys = NULL;
    GwStatus gs = gw_store_vk_list(st, &keys, err);
    if (gs != GW_OK)
        return gs;
    gint64 now = g_get_real_time() / 1000;
    json_t *arr = json_array();
    for (guint i = 0; gs == GW_OK && i < keys->len; i++) {
        const GwVirtualKey *vk = g_ptr_array_index(keys, i);
        GPtrArray *targets = NULL;
        gs = gw_store_vk_targets(st, vk->id, &targets, err);
        if (gs == GW_OK) {
            json_array_append_new(arr, gw_virtual_key_json(vk, targets, now));
            g_ptr_array_unref(targets);
        }
    }
    g_ptr_array_unref(keys);
    if (gs != GW_OK) {
        json_decref(arr);
        return gs;
    }
    *out = arr;
    return GW_OK;
}

GwStatus gw_provider_keys_json(GwStore *st, json_t **out, GError **err)
{
    GPtrArray *keys = NULL;
    GwStatus gs = gw_store_provider_key_list(st, &keys, err);
    if (gs != GW_OK)
        return gs;
    json_t *arr = json_array();
    for (guint i = 0; i < keys->len; i++)
        json_array_append_new(arr, gw_provider_key_json(g_ptr_array_index(keys, i)));
    g_ptr_array_unref(keys);
    *out = arr;
    return GW_OK;
}
