/* ops_admin.c — admin accounts and admin API tokens: name and role checks, password hashing and
 * token generation in front of store_admin.c. Messages never echo passwords or tokens. */
#include "config.h"
#include "ops_admin.h"

#include <string.h>
#include "adminauth.h"
#include "crypto.h"
#include "store_admin.h"

#define GW_ADMIN_NAME_MAX 64

gboolean gw_admin_role_is_valid(const char *role)
{
    return role != NULL && (strcmp(role, "admin") == 0 || strcmp(role, "viewer") == 0);
}

static GwStatus check_admin_name(const char *what, const char *name, GError **err)
{
    size_t n = name != NULL ? strlen(name) : 0;
    gboolean ok = n >= 1 && n <= GW_ADMIN_NAME_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = g_ascii_isalnum(name[i]) || name[i] == '.' || name[i] == '_' || name[i] == '-' ||
             name[i] == '@';
    if (!ok)
        return gw_fail(err, GW_EINVAL, "invalid %s name: use 1-%d characters from A-Z a-z 0-9 . _ - @",
                       what, GW_ADMIN_NAME_MAX);
    return GW_OK;
}

static GwStatus check_role(const char *role, GError **err)
{
    if (!gw_admin_role_is_valid(role))
        return gw_fail(err, GW_EINVAL, "the role must be admin or viewer");
    return GW_OK;
}

GwStatus gw_ops_admin_user_add(GwOps *ops, const char *name, const char *password,
                               const char *role, GError **err)
{
    if (role == NULL)
        role = "admin";
    GwStatus gs = check_admin_name("user", name, err);
    if (gs == GW_OK)
        gs = check_role(role, err);
    char *hash = NULL;
    if (gs == GW_OK)
        gs = gw_password_hash(password, &hash, err);
    if (gs == GW_OK)
        gs = gw_store_admin_user_add(ops->store, name, hash, role, NULL, err);
    g_free(hash);
    return gs;
}

GwStatus gw_ops_admin_user_set_password(GwOps *ops, const char *name, const char *password,
                                        GError **err)
{
    GwStatus gs = check_admin_name("user", name, err);
    char *hash = NULL;
    if (gs == GW_OK)
        gs = gw_password_hash(password, &hash, err);
    if (gs == GW_OK)
        gs = gw_store_admin_user_set_password(ops->store, name, hash, err);
    g_free(hash);
    return gs;
}

GwStatus gw_ops_admin_token_create(GwOps *ops, const char *name, const char *role,
                                   char **token_out, GError **err)
{
    if (role == NULL)
        role = "admin";
    GwStatus gs = check_admin_name("token", name, err);
    if (gs == GW_OK)
        gs = check_role(role, err);
    if (gs != GW_OK)
        return gs;
    char *token = gw_random_token(GW_ADMIN_TOKEN_PREFIX, 32);
    char hash[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex(token, strlen(token), hash);
    char *prefix = g_strndup(token, GW_ADMIN_TOKEN_DISPLAY_LEN);
    gs = gw_store_admin_token_add(ops->store, name, hash, prefix, role, err);
    g_free(prefix);
    if (gs != GW_OK) {
        gw_secret_free(token);
        return gs;
    }
    *token_out = token;
    return GW_OK;
}

GwStatus gw_ops_admin_token_revoke(GwOps *ops, const char *name, GError **err)
{
    GwStatus gs = check_admin_name("token", name, err);
    if (gs != GW_OK)
        return gs;
    return gw_store_admin_token_revoke(ops->store, name, err);
}
