/* api_vks.c — JSON admin API for virtual keys (list, create: the token is in that one answer,
 * edit, revoke), their routing targets, agents and departments (list, create, delete), budgets,
 * rate limits and policies;
 * every change goes through lib/ops*.c like alephantctl. */
#include "config.h"

#include <string.h>
#include "fields.h"
#include "http.h"
#include "ops.h"
#include "ops_groups.h"
#include "ops_limits.h"
#include "ops_view.h"
#include "router.h"

static void answer_error(AdmCtx *c, GError *err)
{
    adm_respond_gerror(c, err);
    g_error_free(err);
}

static gboolean need_json(AdmCtx *c)
{
    if (c->json != NULL)
        return TRUE;
    adm_respond_json_error(c, 400, "invalid_request_error", "invalid_json",
                           "Send a JSON object (Content-Type: application/json)");
    return FALSE;
}

/* {"data": list} from a store listing. */
static void list_answer(AdmCtx *c, GwStatus (*list)(GwStore *, json_t **, GError **))
{
    json_t *arr = NULL;
    GError *err = NULL;
    if (list(c->store, &arr, &err) != GW_OK) {
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:o}", "data", arr));
}

static void vk_list(AdmCtx *c)
{
    list_answer(c, gw_virtual_keys_json);
}

/* The key's JSON view (borrowing nothing), or NULL with *err. */
static json_t *vk_view(AdmCtx *c, const char *name, GError **err)
{
    json_t *all = NULL;
    if (gw_virtual_keys_json(c->store, &all, err) != GW_OK)
        return NULL;
    json_t *found = NULL;
    size_t i;
    json_t *k;
    json_array_foreach(all, i, k)
        if (g_strcmp0(json_string_value(json_object_get(k, "name")), name) == 0)
            found = json_incref(k);
    json_decref(all);
    if (found == NULL)
        gw_fail(err, GW_ENOTFOUND, "no virtual key with that name");
    return found;
}

/* "models": a comma-separated string or an array of strings → comma-separated (caller frees). */
static GwStatus models_text(AdmCtx *c, char **out, GError **err)
{
    json_t *m = json_object_get(c->json, "models");
    *out = NULL;
    if (m == NULL || json_is_null(m))
        return GW_OK;
    if (json_is_string(m)) {
        *out = g_strdup(json_string_value(m));
        return GW_OK;
    }
    if (!json_is_array(m))
        return gw_fail(err, GW_EINVAL, "models must be a string or an array of strings");
    GString *s = g_string_new(NULL);
    size_t i;
    json_t *v;
    json_array_foreach(m, i, v) {
        if (!json_is_string(v) || strchr(json_string_value(v), ',') != NULL) {
            g_string_free(s, TRUE);
            return gw_fail(err, GW_EINVAL, "each model must be a string without commas");
        }
        g_string_append_printf(s, "%s%s", i > 0 ? "," : "", json_string_value(v));
    }
    *out = g_string_free(s, FALSE);
    return GW_OK;
}

static void vk_create(AdmCtx *c)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    GwBudgetChange bc;
    GwRateChange rc;
    char *per = NULL, *prop = NULL, *models = NULL, *token = NULL;
    gboolean b_any = FALSE, r_any = FALSE;
    const char *name = adm_json_str(c, "name");
    GwStatus gs = adm_budget_change_from(c, adm_field_json, &bc, &b_any, &err);
    if (gs == GW_OK)
        gs = adm_rate_change_from(c, adm_field_json, &rc, &per, &prop, &r_any, &err);
    if (gs == GW_OK)
        gs = models_text(c, &models, &err);
    if (gs == GW_OK)
        gs = gw_ops_vk_create(&c->ops, name, adm_json_str(c, "provider_key"), models,
                              adm_json_str(c, "department"), adm_json_str(c, "agent"),
                              adm_json_str(c, "expires"), &token, &err);
    g_free(models);
    if (gs != GW_OK) {
        g_free(per);
        g_free(prop);
        answer_error(c, err);
        return;
    }
    if (b_any)
        gs = gw_ops_budget_change(&c->ops, "virtual_key", name, &bc, NULL, &err);
    if (gs == GW_OK && r_any)
        gs = gw_ops_rate_limit_change(&c->ops, "virtual_key", name, &rc, NULL, &err);
    g_free(per);
    g_free(prop);
    GError *verr = NULL;
    json_t *view = vk_view(c, name, &verr);
    g_clear_error(&verr);
    if (view == NULL)
        view = json_pack("{s:s}", "name", name);
    /* The only time the token exists in full. */
    json_object_set_new(view, "token", json_string(token));
    if (gs != GW_OK) {
        json_object_set_new(view, "warning", json_string(err->message));
        g_error_free(err);
    }
    gw_secret_free(token);
    adm_respond_json(c, 201, view);
}

static void vk_revoke(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_ops_vk_revoke(&c->ops, adm_param(c, 0), &err) != GW_OK) {
        answer_error(c, err);
        return;
    }
    json_t *view = vk_view(c, adm_param(c, 0), &err);
    if (view == NULL) {
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 200, view);
}

static void vk_targets(AdmCtx *c)
{
    GError *err = NULL;
    json_t *view = vk_view(c, adm_param(c, 0), &err);
    if (view == NULL) {
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:O}", "data", json_object_get(view, "targets")));
    json_decref(view);
}

static void vk_target_put(AdmCtx *c)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    gint64 priority = 0, weight = 1;
    json_t *map = json_object_get(c->json, "model_map");
    char *map_text = NULL;
    GwStatus gs = adm_int_field(c, adm_field_json, "priority", G_MININT32, G_MAXINT32,
                                &priority, &err);
    if (gs == GW_OK)
        gs = adm_int_field(c, adm_field_json, "weight", 0, 1000, &weight, &err);
    if (gs == GW_OK && json_is_object(map)) {
        /* {"from": "to"} → "from=to,…" as the shared parser reads it */
        GString *s = g_string_new(NULL);
        const char *from;
        json_t *to;
        json_object_foreach(map, from, to) {
            if (!json_is_string(to) || strpbrk(from, ",=") != NULL ||
                strpbrk(json_string_value(to), ",=") != NULL) {
                gs = gw_fail(&err, GW_EINVAL, "model_map maps model names to model names "
                                              "(without ',' or '=')");
                break;
            }
            g_string_append_printf(s, "%s%s=%s", s->len > 0 ? "," : "", from,
                                   json_string_value(to));
        }
        map_text = g_string_free(s, FALSE);
    } else if (gs == GW_OK && json_is_string(map)) {
        map_text = g_strdup(json_string_value(map));
    } else if (gs == GW_OK && map != NULL && !json_is_null(map)) {
        gs = gw_fail(&err, GW_EINVAL, "model_map must be an object or \"from=to,…\" text");
    }
    if (gs == GW_OK)
        gs = gw_ops_vk_target_set(&c->ops, adm_param(c, 0), adm_param(c, 1), (int)priority,
                                  (int)weight, map_text, &err);
    g_free(map_text);
    if (gs != GW_OK) {
        answer_error(c, err);
        return;
    }
    vk_targets(c);
}

static void vk_target_delete(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_store_vk_target_remove(c->store, adm_param(c, 0), adm_param(c, 1), &err) != GW_OK) {
        answer_error(c, err);
        return;
    }
    vk_targets(c);
}

static void agents_list(AdmCtx *c) { list_answer(c, gw_ops_agents_json); }
static void departments_list(AdmCtx *c) { list_answer(c, gw_ops_departments_json); }

/* The budget and rate-limit members of the JSON body applied to scope/name (after a create). */
static GwStatus apply_json_limits(AdmCtx *c, const char *scope, const char *name,
                                  const GwBudgetChange *bc, gboolean b_any,
                                  const GwRateChange *rc, gboolean r_any, GError **err)
{
    GwStatus gs = GW_OK;
    if (b_any)
        gs = gw_ops_budget_change(&c->ops, scope, name, bc, NULL, err);
    if (gs == GW_OK && r_any)
        gs = gw_ops_rate_limit_change(&c->ops, scope, name, rc, NULL, err);
    return gs;
}

/* The row of an agents/departments listing named name (new reference), or NULL with *err. */
static json_t *group_view(AdmCtx *c, GwStatus (*list)(GwStore *, json_t **, GError **),
                          const char *what, const char *name, GError **err)
{
    json_t *all = NULL, *found = NULL;
    if (list(c->store, &all, err) != GW_OK)
        return NULL;
    size_t i;
    json_t *o;
    json_array_foreach(all, i, o)
        if (g_strcmp0(json_string_value(json_object_get(o, "name")), name) == 0)
            found = json_incref(o);
    json_decref(all);
    if (found == NULL)
        gw_fail(err, GW_ENOTFOUND, "%s '%s' not found", what, name);
    return found;
}

/* POST /api/agents {name, department, budget…, rpm…} and POST /api/departments {name, …}. */
static void group_create(AdmCtx *c, gboolean agent)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    GwBudgetChange bc;
    GwRateChange rc;
    char *per = NULL, *prop = NULL;
    gboolean b_any = FALSE, r_any = FALSE;
    const char *name = adm_json_str(c, "name");
    const char *scope = agent ? "agent" : "department";
    /* Limits are checked before anything exists, so a typo there creates nothing. */
    GwStatus gs = adm_budget_change_from(c, adm_field_json, &bc, &b_any, &err);
    if (gs == GW_OK)
        gs = adm_rate_change_from(c, adm_field_json, &rc, &per, &prop, &r_any, &err);
    if (gs == GW_OK)
        gs = agent ? gw_ops_agent_create(&c->ops, name, adm_json_str(c, "department"), &err)
                   : gw_ops_department_create(&c->ops, name, &err);
    if (gs != GW_OK) {
        g_free(per);
        g_free(prop);
        answer_error(c, err);
        return;
    }
    gs = apply_json_limits(c, scope, name, &bc, b_any, &rc, r_any, &err);
    g_free(per);
    g_free(prop);
    GError *verr = NULL;
    json_t *view = group_view(c, agent ? gw_ops_agents_json : gw_ops_departments_json, scope,
                              name, &verr);
    g_clear_error(&verr);
    if (view == NULL)
        view = json_pack("{s:s}", "name", name);
    if (gs != GW_OK) {
        json_object_set_new(view, "warning", json_string(err->message));
        g_error_free(err);
    }
    adm_respond_json(c, 201, view);
}

static void agent_create(AdmCtx *c) { group_create(c, TRUE); }
static void department_create(AdmCtx *c) { group_create(c, FALSE); }

static void group_delete(AdmCtx *c, gboolean agent)
{
    GError *err = NULL;
    GwGroupDeleted d;
    const char *name = adm_param(c, 0);
    GwStatus gs = agent ? gw_ops_agent_delete(&c->ops, name, &d, &err)
                        : gw_ops_department_delete(&c->ops, name, &d, &err);
    if (gs != GW_OK) {
        answer_error(c, err);
        return;
    }
    char *msg = gw_ops_group_deleted_text(agent ? "agent" : "department", name, &d);
    adm_respond_json(c, 200, json_pack("{s:s, s:b, s:i, s:i, s:i, s:s}", "name", name, "deleted",
                                       1, "budgets", d.budgets, "rate_limits", d.rate_limits,
                                       "policies", d.policies, "message", msg));
    g_free(msg);
}

static void agent_delete(AdmCtx *c) { group_delete(c, TRUE); }
static void department_delete(AdmCtx *c) { group_delete(c, FALSE); }

/* A member of the edit body as text: absent → NULL (keep), null → "" (none/any/never). *tmp
 * (caller frees) holds what was built. */
static GwStatus edit_member(AdmCtx *c, const char *key, char **tmp, const char **out,
                            GError **err)
{
    json_t *v = json_object_get(c->json, key);
    *out = NULL;
    if (v == NULL)
        return GW_OK;
    if (json_is_null(v)) {
        *out = "";
        return GW_OK;
    }
    if (json_is_string(v)) {
        *out = json_string_value(v);
        return GW_OK;
    }
    if (strcmp(key, "models") == 0 && json_is_array(v)) {
        if (json_array_size(v) == 0)
            return gw_fail(err, GW_EINVAL, "models: give at least one model, or null for any");
        GwStatus gs = models_text(c, tmp, err);
        *out = *tmp;
        return gs;
    }
    return gw_fail(err, GW_EINVAL, "%s must be a string or null", key);
}

/* PATCH /api/virtual-keys/NAME {models, expires, agent, department}: members given change. */
static void vk_edit(AdmCtx *c)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    char *tmp = NULL;
    GwVkEditText t = {NULL, NULL, NULL, NULL};
    GwStatus gs = edit_member(c, "models", &tmp, &t.models, &err);
    char *unused = NULL;
    if (gs == GW_OK)
        gs = edit_member(c, "expires", &unused, &t.expires, &err);
    if (gs == GW_OK)
        gs = edit_member(c, "agent", &unused, &t.agent, &err);
    if (gs == GW_OK)
        gs = edit_member(c, "department", &unused, &t.department, &err);
    if (gs == GW_OK)
        gs = gw_ops_vk_edit(&c->ops, adm_param(c, 0), &t, &err);
    g_free(tmp);
    g_free(unused);
    json_t *view = gs == GW_OK ? vk_view(c, adm_param(c, 0), &err) : NULL;
    if (view == NULL) {
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 200, view);
}

static void budgets_list(AdmCtx *c) { list_answer(c, gw_store_budget_list_json); }
static void rate_limits_list(AdmCtx *c) { list_answer(c, gw_store_rate_limit_list_json); }
static void policies_list(AdmCtx *c) { list_answer(c, gw_store_policy_list_json); }

/* {scope} of a path: virtual_key (or vk), agent, department. */
static const char *path_scope(AdmCtx *c, GError **err)
{
    const char *s = adm_param(c, 0);
    if (g_strcmp0(s, "virtual_key") == 0 || g_strcmp0(s, "vk") == 0)
        return "virtual_key";
    if (g_strcmp0(s, "agent") == 0 || g_strcmp0(s, "department") == 0)
        return s;
    gw_fail(err, GW_EINVAL, "the scope must be virtual_key, agent or department");
    return NULL;
}

static void budget_put(AdmCtx *c)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    const char *scope = path_scope(c, &err);
    GwBudgetChange bc;
    GwBudgetResult res;
    gboolean any = FALSE;
    if (scope == NULL || adm_budget_change_from(c, adm_field_json, &bc, &any, &err) != GW_OK ||
        (!any && gw_fail(&err, GW_EINVAL, "give budget_usd, soft_budget_usd, budget_period, "
                                          "reset_day or remove_budget") != GW_OK) ||
        gw_ops_budget_change(&c->ops, scope, adm_param(c, 1), &bc, &res, &err) != GW_OK) {
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:s, s:s, s:b, s:s, s:i, s:I, s:I}", "scope", scope,
                                       "name", adm_param(c, 1), "removed", res.removed,
                                       "period", res.period, "reset_day", res.reset_day,
                                       "hard_limit_nanos", (json_int_t)res.hard_nanos,
                                       "soft_limit_nanos", (json_int_t)res.soft_nanos));
}

static void budget_delete(AdmCtx *c)
{
    GError *err = NULL;
    const char *scope = path_scope(c, &err);
    GwBudgetChange bc = {.remove = TRUE};
    if (scope == NULL || gw_ops_budget_change(&c->ops, scope, adm_param(c, 1), &bc, NULL, &err) !=
                             GW_OK) {
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:s, s:s, s:b}", "scope", scope, "name",
                                       adm_param(c, 1), "removed", 1));
}

static void rate_limit_put(AdmCtx *c)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    const char *scope = path_scope(c, &err);
    GwRateChange rc;
    GwRateResult res;
    char *per = NULL, *prop = NULL;
    gboolean any = FALSE;
    GwStatus gs = scope != NULL ? adm_rate_change_from(c, adm_field_json, &rc, &per, &prop, &any,
                                                       &err)
                                : GW_EINVAL;
    if (gs == GW_OK && !any)
        gs = gw_fail(&err, GW_EINVAL, "give rpm or tpm (\"none\" removes a limit)");
    if (gs == GW_OK)
        gs = gw_ops_rate_limit_change(&c->ops, scope, adm_param(c, 1), &rc, &res, &err);
    if (gs != GW_OK) {
        g_free(per);
        g_free(prop);
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I}", "scope", scope,
                                       "name", adm_param(c, 1), "per", per, "property", prop,
                                       "max_requests", (json_int_t)res.rpm, "max_tokens",
                                       (json_int_t)res.tpm, "window_ms",
                                       (json_int_t)res.window_ms));
    g_free(per);
    g_free(prop);
}

static void policy_add(AdmCtx *c)
{
    if (!need_json(c))
        return;
    GError *err = NULL;
    gint64 position = 0, id = 0;
    json_t *cfg = json_object_get(c->json, "config");
    char *config = json_is_string(cfg) ? g_strdup(json_string_value(cfg))
                   : json_is_object(cfg) ? json_dumps(cfg, JSON_COMPACT) : NULL;
    GwStatus gs = adm_int_field(c, adm_field_json, "position", G_MININT32, G_MAXINT32, &position,
                                &err);
    if (gs == GW_OK)
        gs = gw_ops_policy_add(&c->ops, adm_json_str(c, "name"), adm_json_str(c, "kind"), config,
                               adm_json_str(c, "action"), adm_json_str(c, "scope"),
                               (int)position, &id, &err);
    if (json_is_object(cfg))
        free(config);
    else
        g_free(config);
    if (gs != GW_OK) {
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 201, json_pack("{s:s, s:I}", "name", adm_json_str(c, "name"), "id",
                                       (json_int_t)id));
}

static void policy_delete(AdmCtx *c)
{
    GError *err = NULL;
    if (gw_store_policy_remove(c->store, adm_param(c, 0), &err) != GW_OK) {
        answer_error(c, err);
        return;
    }
    adm_respond_json(c, 200, json_pack("{s:s, s:b}", "name", adm_param(c, 0), "removed", 1));
}

const AdmRoute adm_routes_api_vks[] = {
    {"GET", "/api/virtual-keys", vk_list, ADM_ROLE_ADMIN},
    {"POST", "/api/virtual-keys", vk_create, ADM_ROLE_ADMIN},
    {"PATCH", "/api/virtual-keys/{name}", vk_edit, ADM_ROLE_ADMIN},
    {"POST", "/api/virtual-keys/{name}/revoke", vk_revoke, ADM_ROLE_ADMIN},
    {"GET", "/api/virtual-keys/{name}/targets", vk_targets, ADM_ROLE_ADMIN},
    {"PUT", "/api/virtual-keys/{name}/targets/{provider_key}", vk_target_put, ADM_ROLE_ADMIN},
    {"DELETE", "/api/virtual-keys/{name}/targets/{provider_key}", vk_target_delete,
     ADM_ROLE_ADMIN},
    {"GET", "/api/agents", agents_list, ADM_ROLE_ADMIN},
    {"POST", "/api/agents", agent_create, ADM_ROLE_ADMIN},
    {"DELETE", "/api/agents/{name}", agent_delete, ADM_ROLE_ADMIN},
    {"GET", "/api/departments", departments_list, ADM_ROLE_ADMIN},
    {"POST", "/api/departments", department_create, ADM_ROLE_ADMIN},
    {"DELETE", "/api/departments/{name}", department_delete, ADM_ROLE_ADMIN},
    {"GET", "/api/budgets", budgets_list, ADM_ROLE_ADMIN},
    {"PUT", "/api/budgets/{scope}/{name}", budget_put, ADM_ROLE_ADMIN},
    {"DELETE", "/api/budgets/{scope}/{name}", budget_delete, ADM_ROLE_ADMIN},
    {"GET", "/api/rate-limits", rate_limits_list, ADM_ROLE_ADMIN},
    {"PUT", "/api/rate-limits/{scope}/{name}", rate_limit_put, ADM_ROLE_ADMIN},
    {"GET", "/api/policies", policies_list, ADM_ROLE_ADMIN},
    {"POST", "/api/policies", policy_add, ADM_ROLE_ADMIN},
    {"DELETE", "/api/policies/{name}", policy_delete, ADM_ROLE_ADMIN},
    {NULL, NULL, NULL, ADM_ROLE_NONE},
};
