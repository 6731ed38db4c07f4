/* ops_admin.h — operator actions on admin accounts and admin API tokens, shared by alephantctl
 * and the admin program: validated, hashed, and written through store_admin.h. */
#ifndef GW_OPS_ADMIN_H
#define GW_OPS_ADMIN_H

#include <glib.h>
#include "ops.h"
#include "status.h"

/* role NULL = "admin". The password is hashed with yescrypt; only the hash is stored. */
GwStatus gw_ops_admin_user_add(GwOps *ops, const char *name, const char *password,
                               const char *role, GError **err);
GwStatus gw_ops_admin_user_set_password(GwOps *ops, const char *name, const char *password,
                                        GError **err);
/* A new API token; *token_out (free with gw_secret_free) is the only time it exists in full. */
GwStatus gw_ops_admin_token_create(GwOps *ops, const char *name, const char *role,
                                   char **token_out, GError **err);
GwStatus gw_ops_admin_token_revoke(GwOps *ops, const char *name, GError **err);
/* TRUE for "admin" and "viewer". */
gboolean gw_admin_role_is_valid(const char *role);

#endif
