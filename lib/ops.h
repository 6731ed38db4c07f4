/* ops.h — operator actions shared by alephantctl and the admin API (one implementation each):
 * validated, encrypted, and written through the store. */
#ifndef GW_OPS_H
#define GW_OPS_H

#include <glib.h>
#include "status.h"
#include "store.h"
#include "crypto.h"

typedef struct {
    GwStore *store;
    guint8 master_key[GW_MASTER_KEY_LEN];
    gboolean allow_private_upstreams;
} GwOps;

/* provider: openai | anthropic | azure | gemini | openai-compatible | mock. base_url NULL → the
 * provider's default (openai-compatible and azure require one; mock takes none and any secret).
 * api_version: required for azure (e.g. "2024-10-21"), refused for other kinds. The secret is
 * encrypted. */
GwStatus gw_ops_provider_key_add(GwOps *ops, const char *name, const char *provider,
                                 const char *base_url, const char *api_version,
                                 const char *secret, GError **err);
GwStatus gw_ops_provider_key_rotate(GwOps *ops, const char *name, const char *secret,
                                    GError **err);
GwStatus gw_ops_provider_key_delete(GwOps *ops, const char *name, GError **err);

/* Creates a virtual key; *token_out (caller frees) is the only time the full token exists.
 * models: comma-separated or NULL; expires: ISO 8601 or NULL. */
GwStatus gw_ops_vk_create(GwOps *ops, const char *name, const char *provider_key,
                          const char *models, const char *department, const char *agent,
                          const char *expires, char **token_out, GError **err);
GwStatus gw_ops_vk_revoke(GwOps *ops, const char *name, GError **err);

/* A change to an existing virtual key, as text: NULL = keep. models: comma-separated, "" or
 * "any" = any model; expires: ISO 8601 (in the future), "" or "never" = never; agent, department:
 * an existing one (created with gw_ops_agent_create / gw_ops_department_create), "" = none. */
typedef struct {
    const char *models, *expires, *agent, *department;
} GwVkEditText;
GwStatus gw_ops_vk_edit(GwOps *ops, const char *name, const GwVkEditText *t, GError **err);

/* Names of keys, agents, departments, …: 1-64 characters of A-Z a-z 0-9 . _ - (what: "agent",
 * … for the message, which never echoes the name). */
GwStatus gw_ops_check_name(const char *what, const char *name, GError **err);

/* Default base URL of a provider kind ("openai" → "https://api.openai.com/v1"), NULL if none. */
const char *gw_provider_default_base_url(const char *provider);
/* TRUE for a provider kind the gateway knows. */
gboolean gw_provider_kind_is_known(const char *provider);

#endif
