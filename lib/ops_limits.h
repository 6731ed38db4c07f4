/* ops_limits.h — operator actions on budgets, rate limits, routing targets and policies, shared by
 * alephantctl and the admin API: changes are merged onto what is stored (unset fields keep their
 * value), validated, then written through the store. */
#ifndef GW_OPS_LIMITS_H
#define GW_OPS_LIMITS_H

#include <glib.h>
#include "ops.h"
#include "status.h"

/* scope: "virtual_key" | "agent" | "department". */

/* A budget change; fields not given keep the stored value (a new budget: monthly, day 1). */
typedef struct {
    gboolean remove;          /* remove the budget (other fields must be unset) */
    gboolean hard_given, soft_given;
    gint64 hard_nanos, soft_nanos; /* -1 = none */
    const char *period;       /* daily | weekly | monthly | lifetime; NULL = keep */
    int reset_day;            /* 0 = keep (a new period starts at 1) */
} GwBudgetChange;

/* The budget as stored after the change; removed when it no longer exists. */
typedef struct {
    gboolean removed;
    const char *period;       /* static string */
    int reset_day;
    gint64 hard_nanos, soft_nanos;
} GwBudgetResult;

GwStatus gw_ops_budget_change(GwOps *ops, const char *scope, const char *name,
                              const GwBudgetChange *ch, GwBudgetResult *out, GError **err);

/* "key", "ip", "session" or "property:NAME" → *per and *property (lower-cased, "" unless
 * per = property); both caller-freed. */
GwStatus gw_ops_rate_per_parse(const char *text, char **per, char **property, GError **err);

/* A rate-limit change for the rule (scope, name, per, property); unset fields keep the stored
 * rule's value (a new rule: no limits, 60 s window). Both limits none removes the rule. */
typedef struct {
    const char *per;          /* key | ip | session | property */
    const char *property;     /* for per = property, else "" or NULL */
    gboolean rpm_given, tpm_given;
    gint64 rpm, tpm;          /* -1 = none */
    gint64 window_ms;         /* 0 = keep */
} GwRateChange;

typedef struct {
    gint64 rpm, tpm, window_ms; /* both -1: removed */
} GwRateResult;

GwStatus gw_ops_rate_limit_change(GwOps *ops, const char *scope, const char *name,
                                  const GwRateChange *ch, GwRateResult *out, GError **err);

/* "from=to,from2=to2" → the JSON object text (*out, caller frees); "" or NULL → NULL. */
GwStatus gw_ops_model_map_parse(const char *text, char **out, GError **err);
/* Adds or updates a routing target: weight 0-1000; model_map as gw_ops_model_map_parse reads. */
GwStatus gw_ops_vk_target_set(GwOps *ops, const char *vk, const char *provider_key,
                              int priority, int weight, const char *model_map, GError **err);

/* "global", "vk:NAME" (or "virtual_key:NAME"), "agent:NAME", "department:NAME" → scope and
 * scope name (borrowed from text; NULL for global). FALSE when it is none of these. */
gboolean gw_ops_policy_scope_parse(const char *text, const char **scope, const char **scope_name);
/* Adds a policy: kind must be known, action NULL | block | flag, scope_text as
 * gw_ops_policy_scope_parse reads (NULL = global). */
GwStatus gw_ops_policy_add(GwOps *ops, const char *name, const char *kind, const char *config,
                           const char *action, const char *scope_text, int position,
                           gint64 *id_out, GError **err);

#endif
