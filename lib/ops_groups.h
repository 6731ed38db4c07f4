/* ops_groups.h — operator actions on agents and departments (create, list, delete), shared by
 * alephantctl and the admin program: names validated, then written through store_groups.h. */
#ifndef GW_OPS_GROUPS_H
#define GW_OPS_GROUPS_H

#include <glib.h>
#include <jansson.h>
#include "ops.h"
#include "status.h"
#include "store_groups.h"

/* department: NULL or "" = none, else an existing department. GW_EEXISTS, GW_ENOTFOUND. */
GwStatus gw_ops_agent_create(GwOps *ops, const char *name, const char *department, GError **err);
GwStatus gw_ops_department_create(GwOps *ops, const char *name, GError **err);
/* Refused (GW_EINUSE) while active virtual keys, or a department's agents, use it; its budget,
 * rate limits and policies go with it (counted in *out, which may be NULL). */
GwStatus gw_ops_agent_delete(GwOps *ops, const char *name, GwGroupDeleted *out, GError **err);
GwStatus gw_ops_department_delete(GwOps *ops, const char *name, GwGroupDeleted *out,
                                  GError **err);
/* "Agent x deleted" with what went with it ("…, with its budget and 2 policies."); caller frees. */
char *gw_ops_group_deleted_text(const char *what, const char *name, const GwGroupDeleted *d);

/* The lists of store_groups.h, each row with "budget" (this period's row of
 * gw_store_budget_list_json for it, or null) and "rate_limits" (its rules). */
GwStatus gw_ops_agents_json(GwStore *st, json_t **out, GError **err);
GwStatus gw_ops_departments_json(GwStore *st, json_t **out, GError **err);

#endif
