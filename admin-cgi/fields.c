/* fields.c — budget and rate-limit settings from request fields (see fields.h). */
#include "config.h"
#include "fields.h"

#include <string.h>
#include "cost.h"
#include "http.h"

const char *adm_field_form(AdmCtx *c, const char *name)
{
    return adm_form_text(c, name);
}

const char *adm_field_json(AdmCtx *c, const char *name)
{
    json_t *v = c->json != NULL ? json_object_get(c->json, name) : NULL;
    char *text = NULL;
    if (json_is_string(v))
        text = g_strstrip(g_strdup(json_string_value(v)));
    else if (json_is_integer(v))
        text = g_strdup_printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v)) {
        char buf[G_ASCII_DTOSTR_BUF_SIZE];
        text = g_strdup(g_ascii_formatd(buf, sizeof buf, "%.9f", json_real_value(v)));
    } else if (json_is_boolean(v))
        text = g_strdup(json_is_true(v) ? "true" : "false");
    if (text == NULL || *text == '\0') {
        g_free(text);
        return NULL;
    }
    char *key = g_strconcat("json:", name, NULL);
    g_hash_table_replace(c->form, key, text);
    return text;
}

static gboolean truthy(const char *v)
{
    return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0 || strcmp(v, "on") == 0);
}

GwStatus adm_int_field(AdmCtx *c, AdmFieldFn get, const char *name, gint64 min, gint64 max,
                       gint64 *out, GError **err)
{
    const char *v = get(c, name);
    if (v == NULL)
        return GW_OK;
    gint64 n = 0;
    if (!g_ascii_string_to_signed(v, 10, min, max, &n, NULL))
        return gw_fail(err, GW_EINVAL, "%s must be a whole number from %" G_GINT64_FORMAT
                       " to %" G_GINT64_FORMAT, name, min, max);
    *out = n;
    return GW_OK;
}

static GwStatus usd_field(AdmCtx *c, AdmFieldFn get, const char *name, gboolean *given,
                          gint64 *nanos, GError **err)
{
    const char *v = get(c, name);
    if (v == NULL)
        return GW_OK;
    *given = TRUE;
    if (strcmp(v, "none") == 0) {
        *nanos = -1;
        return GW_OK;
    }
    if (!gw_cost_parse_usd(v, nanos))
        return gw_fail(err, GW_EINVAL, "%s must be a USD amount such as 25 or 12.50 (at most "
                       "1000000), or none", name);
    return GW_OK;
}

GwStatus adm_budget_change_from(AdmCtx *c, AdmFieldFn get, GwBudgetChange *ch, gboolean *any,
                                GError **err)
{
    memset(ch, 0, sizeof *ch);
    ch->hard_nanos = ch->soft_nanos = -1;
    ch->remove = truthy(get(c, "remove_budget"));
    GwStatus gs = usd_field(c, get, "budget_usd", &ch->hard_given, &ch->hard_nanos, err);
    if (gs == GW_OK)
        gs = usd_field(c, get, "soft_budget_usd", &ch->soft_given, &ch->soft_nanos, err);
    if (gs != GW_OK)
        return gs;
    ch->period = get(c, "budget_period");
    gint64 day = 0;
    gs = adm_int_field(c, get, "reset_day", 1, 28, &day, err);
    ch->reset_day = (int)day;
    *any = ch->remove || ch->hard_given || ch->soft_given || ch->period != NULL || day != 0;
    return gs;
}

static GwStatus limit_field(AdmCtx *c, AdmFieldFn get, const char *name, gboolean *given,
                            gint64 *out, GError **err)
{
    const char *v = get(c, name);
    if (v == NULL)
        return GW_OK;
    *given = TRUE;
    if (strcmp(v, "none") == 0) {
        *out = -1;
        return GW_OK;
    }
    return adm_int_field(c, get, name, 0, G_MAXINT32, out, err);
}

GwStatus adm_rate_change_from(AdmCtx *c, AdmFieldFn get, GwRateChange *ch, char **per,
                              char **property, gboolean *any, GError **err)
{
    memset(ch, 0, sizeof *ch);
    ch->rpm = ch->tpm = -1;
    *per = *property = NULL;
    GwStatus gs = limit_field(c, get, "rpm", &ch->rpm_given, &ch->rpm, err);
    if (gs == GW_OK)
        gs = limit_field(c, get, "tpm", &ch->tpm_given, &ch->tpm, err);
    gint64 window_s = 0;
    if (gs == GW_OK)
        gs = adm_int_field(c, get, "window_s", 1, 30 * 86400, &window_s, err);
    if (gs != GW_OK)
        return gs;
    ch->window_ms = window_s * 1000;
    *any = ch->rpm_given || ch->tpm_given;
    if (!*any) {
        if (window_s != 0 || get(c, "per") != NULL)
            return gw_fail(err, GW_EINVAL, "window_s and per qualify a limit: give rpm or tpm");
        return GW_OK;
    }
    gs = gw_ops_rate_per_parse(get(c, "per"), per, property, err);
    if (gs == GW_OK) {
        ch->per = *per;
        ch->property = *property;
    }
    return gs;
}
