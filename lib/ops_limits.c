/* ops_limits.c — budgets, rate limits, routing targets and policies: the merge-onto-stored and
 * validation logic alephantctl and the admin API share (see ops_limits.h). */
#include "config.h"
#include "ops_limits.h"

#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include "budget.h"
#include "policy.h"

#define DEFAULT_WINDOW_MS 60000
#define PROPERTY_NAME_MAX 64

static const char *jstr(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static gint64 jint_or(json_t *o, const char *key, gint64 dflt)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) ? json_integer_value(v) : dflt;
}

/* The listed object of scope/name (borrowed from arr), NULL when there is none. */
static json_t *find_listed(json_t *arr, const char *scope, const char *name, const char *per,
                           const char *property)
{
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        if (g_strcmp0(jstr(o, "scope"), scope) != 0 || g_strcmp0(jstr(o, "name"), name) != 0)
            continue;
        if (per != NULL && (g_strcmp0(jstr(o, "per"), per) != 0 ||
                            g_strcmp0(jstr(o, "property"), property) != 0))
            continue;
        return o;
    }
    return NULL;
}

static const char *scope_noun(const char *scope)
{
    return g_strcmp0(scope, "virtual_key") == 0 ? "virtual key" : scope;
}

GwStatus gw_ops_budget_change(GwOps *ops, const char *scope, const char *name,
                              const GwBudgetChange *ch, GwBudgetResult *out, GError **err)
{
    GwBudgetResult res = {.period = "monthly", .reset_day = 1, .hard_nanos = -1, .soft_nanos = -1};
    if (ch->remove) {
        if (ch->hard_given || ch->soft_given || ch->period != NULL || ch->reset_day != 0)
            return gw_fail(err, GW_EINVAL, "removing a budget cannot be combined with other "
                                           "budget settings");
        GwStatus gs = gw_store_budget_clear(ops->store, scope, name, err);
        if (gs == GW_OK && out != NULL) {
            res.removed = TRUE;
            *out = res;
        }
        return gs;
    }
    GwBudgetPeriod p = GW_PERIOD_MONTHLY;
    if (ch->period != NULL && !gw_budget_period_parse(ch->period, &p))
        return gw_fail(err, GW_EINVAL, "the budget period must be daily, weekly, monthly or "
                                       "lifetime");
    json_t *arr = NULL;
    GwStatus gs = gw_store_budget_list_json(ops->store, &arr, err);
    if (gs != GW_OK)
        return gs;
    json_t *old = find_listed(arr, scope, name, NULL, NULL);
    gint64 hard = old != NULL ? jint_or(old, "hard_limit_nanos", -1) : -1;
    gint64 soft = old != NULL ? jint_or(old, "soft_limit_nanos", -1) : -1;
    GwBudgetPeriod cur = GW_PERIOD_MONTHLY;
    if (old != NULL)
        gw_budget_period_parse(jstr(old, "period"), &cur);
    int reset_day = old != NULL ? (int)jint_or(old, "reset_day", 1) : 1;
    gboolean had = old != NULL;
    json_decref(arr);
    if (ch->period != NULL && p != cur) {
        /* A reset day of another period kind means nothing for the new one. */
        cur = p;
        reset_day = 1;
    }
    if (ch->reset_day != 0) {
        if (cur == GW_PERIOD_DAILY || cur == GW_PERIOD_LIFETIME)
            return gw_fail(err, GW_EINVAL, "a reset day applies to weekly and monthly budgets "
                                           "only");
        if (!gw_budget_reset_day_ok(cur, ch->reset_day))
            return gw_fail(err, GW_EINVAL, "the reset day must be 1-7 (weekly: 1 = Monday) or "
                                           "1-28 (monthly)");
        reset_day = ch->reset_day;
    }
    if (ch->hard_given)
        hard = ch->hard_nanos;
    if (ch->soft_given)
        soft = ch->soft_nanos;
    if (hard < 0 && soft < 0 && !had)
        return gw_fail(err, GW_EINVAL, "%s '%s' has no budget: give a hard or soft limit",
                       scope_noun(scope), name);
    if (hard < 0 && soft < 0) {
        gs = gw_store_budget_clear(ops->store, scope, name, err);
        res.removed = TRUE;
    } else {
        gs = gw_store_budget_set(ops->store, scope, name, gw_budget_period_name(cur), reset_day,
                                 hard, soft, err);
    }
    if (gs == GW_OK && out != NULL) {
        res.period = gw_budget_period_name(cur);
        res.reset_day = reset_day;
        res.hard_nanos = hard;
        res.soft_nanos = soft;
        *out = res;
    }
    return gs;
}

GwStatus gw_ops_rate_per_parse(const char *text, char **per, char **property, GError **err)
{
    const char *t = text != NULL ? text : "key";
    if (g_str_has_prefix(t, "property:")) {
        char *prop = g_ascii_strdown(t + strlen("property:"), -1);
        gboolean ok = *prop != '\0' && strlen(prop) <= PROPERTY_NAME_MAX;
        for (const char *c = prop; ok && *c != '\0'; c++)
            ok = g_ascii_islower(*c) || g_ascii_isdigit(*c) || strchr("_.-", *c) != NULL;
        if (!ok) {
            g_free(prop);
            return gw_fail(err, GW_EINVAL, "property:NAME: names are 1-%d of a-z 0-9 _ . -",
                           PROPERTY_NAME_MAX);
        }
        *per = g_strdup("property");
        *property = prop;
        return GW_OK;
    }
    if (strcmp(t, "key") != 0 && strcmp(t, "ip") != 0 && strcmp(t, "session") != 0)
        return gw_fail(err, GW_EINVAL, "a rate limit counts per key, ip, session or "
                                       "property:NAME");
    *per = g_strdup(t);
    *property = g_strdup("");
    return GW_OK;
}

GwStatus gw_ops_rate_limit_change(GwOps *ops, const char *scope, const char *name,
                                  const GwRateChange *ch, GwRateResult *out, GError **err)
{
    const char *property = ch->property != NULL ? ch->property : "";
    json_t *arr = NULL;
    GwStatus gs = gw_store_rate_limit_list_json(ops->store, &arr, err);
    if (gs != GW_OK)
        return gs;
    json_t *old = find_listed(arr, scope, name, ch->per, property);
    gint64 rpm = old != NULL ? jint_or(old, "max_requests", -1) : -1;
    gint64 tpm = old != NULL ? jint_or(old, "max_tokens", -1) : -1;
    gint64 window = old != NULL ? jint_or(old, "window_ms", DEFAULT_WINDOW_MS) : DEFAULT_WINDOW_MS;
    json_decref(arr);
    if (ch->rpm_given)
        rpm = ch->rpm;
    if (ch->tpm_given)
        tpm = ch->tpm;
    if (ch->window_ms > 0)
        window = ch->window_ms;
    gs = gw_store_rate_limit_set(ops->store, scope, name, ch->per, property, rpm, tpm, window,
                                 err);
    if (gs == GW_OK && out != NULL) {
        out->rpm = rpm;
        out->tpm = tpm;
        out->window_ms = window;
    }
    return gs;
}

GwStatus gw_ops_model_map_parse(const char *text, char **out, GError **err)
{
    *out = NULL;
    if (text == NULL || *text == '\0')
        return GW_OK;
    json_t *map = json_object();
    char **pairs = g_strsplit(text, ",", -1);
    GwStatus gs = GW_OK;
    for (char **p = pairs; *p != NULL && gs == GW_OK; p++) {
        char *eq = strchr(*p, '=');
        if (eq == NULL) {
            gs = gw_fail(err, GW_EINVAL, "model map entries look like from=to, separated by "
                                         "commas");
            break;
        }
        *eq = '\0';
        char *from = g_strstrip(*p), *to = g_strstrip(eq + 1);
        if (*from == '\0' || *to == '\0')
            gs = gw_fail(err, GW_EINVAL, "model map entries need a model on both sides of '='");
        else if (!g_utf8_validate(from, -1, NULL) || !g_utf8_validate(to, -1, NULL))
            gs = gw_fail(err, GW_EINVAL, "the model map must be UTF-8 text");
        else if (json_object_get(map, from) != NULL)
            gs = gw_fail(err, GW_EINVAL, "the model map maps '%s' twice", from);
        else
            json_object_set_new(map, from, json_string(to));
    }
    g_strfreev(pairs);
    if (gs == GW_OK) {
        char *t = json_dumps(map, JSON_COMPACT);
        *out = g_strdup(t);
        free(t);
    }
    json_decref(map);
    return gs;
}

GwStatus gw_ops_vk_target_set(GwOps *ops, const char *vk, const char *provider_key,
                              int priority, int weight, const char *model_map, GError **err)
{
    if (weight < 0 || weight > 1000)
        return gw_fail(err, GW_EINVAL, "the weight must be from 0 to 1000");
    char *map = NULL;
    GwStatus gs = gw_ops_model_map_parse(model_map, &map, err);
    if (gs == GW_OK)
        gs = gw_store_vk_target_set(ops->store, vk, provider_key, priority, weight, map, err);
    g_free(map);
    return gs;
}

gboolean gw_ops_policy_scope_parse(const char *text, const char **scope, const char **scope_name)
{
    static const struct {
        const char *prefix, *scope;
    } forms[] = {
        {"vk:", "virtual_key"},
        {"virtual_key:", "virtual_key"},
        {"agent:", "agent"},
        {"department:", "department"},
    };
    if (text == NULL || strcmp(text, "global") == 0) {
        *scope = "global";
        *scope_name = NULL;
        return TRUE;
    }
    for (gsize i = 0; i < G_N_ELEMENTS(forms); i++) {
        size_t n = strlen(forms[i].prefix);
        if (strncmp(text, forms[i].prefix, n) == 0 && text[n] != '\0') {
            *scope = forms[i].scope;
            *scope_name = text + n;
            return TRUE;
        }
    }
    return FALSE;
}

GwStatus gw_ops_policy_add(GwOps *ops, const char *name, const char *kind, const char *config,
                           const char *action, const char *scope_text, int position,
                           gint64 *id_out, GError **err)
{
    const char *scope = NULL, *scope_name = NULL;
    if (name == NULL || kind == NULL || config == NULL)
        return gw_fail(err, GW_EINVAL, "a policy needs a name, a kind and a config");
    if (!gw_policy_kind_known(kind))
        return gw_fail(err, GW_EINVAL, "unknown policy kind");
    if (action != NULL && strcmp(action, "block") != 0 && strcmp(action, "flag") != 0)
        return gw_fail(err, GW_EINVAL, "the action must be block or flag");
    if (!gw_ops_policy_scope_parse(scope_text, &scope, &scope_name))
        return gw_fail(err, GW_EINVAL, "the scope must be global, vk:NAME, agent:NAME or "
                                       "department:NAME");
    return gw_store_policy_add(ops->store, name, scope, scope_name, kind, config, action,
                               position, id_out, err);
}
