/* store_groups.h — SQL of agents and departments managed on their own (created, listed, deleted;
 * schema 0001 and 0010) and of edits to an existing virtual key (models, expiry, agent, department). */
#ifndef GW_STORE_GROUPS_H
#define GW_STORE_GROUPS_H

#include <glib.h>
#include <jansson.h>
#include "status.h"
#include "store.h"

/* GW_EEXISTS when the name is taken. */
GwStatus gw_store_department_add(GwStore *st, const char *name, GError **err);
/* department NULL = none; else it must exist (GW_ENOTFOUND). GW_EEXISTS when the name is taken. */
GwStatus gw_store_agent_add(GwStore *st, const char *name, const char *department, GError **err);

/* What went with a deleted agent or department. */
typedef struct {
    int budgets, rate_limits, policies;
} GwGroupDeleted;

/* Deletes an agent or a department with its budget (and spend), rate limits and policies, in one
 * transaction. GW_ENOTFOUND when it does not exist; GW_EINUSE (the message names them) while
 * active virtual keys refer to it, or for a department while agents belong to it. Revoked keys
 * lose the reference. Its id is never reused (0010): log rows keep it. out may be NULL. */
GwStatus gw_store_agent_delete(GwStore *st, const char *name, GwGroupDeleted *out, GError **err);
GwStatus gw_store_department_delete(GwStore *st, const char *name, GwGroupDeleted *out,
                                    GError **err);

/* [{name, department (null = none), created_at, virtual_keys: [active key names], revoked_keys}]
 * by name; *out is a new reference. */
GwStatus gw_store_agents_json(GwStore *st, json_t **out, GError **err);
/* [{name, created_at, agents: [names], virtual_keys: [active key names], revoked_keys}] by name. */
GwStatus gw_store_departments_json(GwStore *st, json_t **out, GError **err);

/* A change to an existing virtual key: only the *_given fields are written. */
typedef struct {
    gboolean models_given;
    const char *models;          /* comma-separated, NULL = any model */
    gboolean expires_given;
    gint64 expires_at;           /* Unix ms, 0 = never */
    gboolean agent_given;
    const char *agent;           /* NULL = none; else it must exist (GW_ENOTFOUND) */
    gboolean department_given;
    const char *department;      /* NULL = none; else it must exist (GW_ENOTFOUND) */
} GwVkEdit;

/* GW_ENOTFOUND for an unknown key, agent or department; nothing is written then. */
GwStatus gw_store_vk_edit(GwStore *st, const char *name, const GwVkEdit *e, GError **err);

#endif
