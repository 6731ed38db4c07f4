/* fields.h — budget and rate-limit settings read from request fields (a page's form or an API
 * call's JSON, through one getter), turned into the lib/ops_limits.h change structures. */
#ifndef ADM_FIELDS_H
#define ADM_FIELDS_H

#include <glib.h>
#include "ctx.h"
#include "ops_limits.h"
#include "status.h"

/* Returns the named field as trimmed text, NULL when absent or empty (borrowed). */
typedef const char *(*AdmFieldFn)(AdmCtx *c, const char *name);

/* Form fields (adm_form_text). */
const char *adm_field_form(AdmCtx *c, const char *name);
/* JSON members: strings as they are, numbers and booleans as text (kept in c->form). */
const char *adm_field_json(AdmCtx *c, const char *name);

/* Fields budget_usd, soft_budget_usd ("none" removes a limit), budget_period, reset_day and
 * remove_budget ("1"/"true"). *any is TRUE when at least one was given. */
GwStatus adm_budget_change_from(AdmCtx *c, AdmFieldFn get, GwBudgetChange *ch, gboolean *any,
                                GError **err);
/* Fields rpm, tpm ("none" removes a limit), window_s, per. *per and *property (caller frees) are
 * set when *any. */
GwStatus adm_rate_change_from(AdmCtx *c, AdmFieldFn get, GwRateChange *ch, char **per,
                              char **property, gboolean *any, GError **err);
/* An integer field (NULL = absent: *out untouched). GW_EINVAL naming the field otherwise. */
GwStatus adm_int_field(AdmCtx *c, AdmFieldFn get, const char *name, gint64 min, gint64 max,
                       gint64 *out, GError **err);

#endif
