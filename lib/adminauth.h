/* adminauth.h — admin credentials: yescrypt password hashes (libxcrypt), and the random secrets
 * the admin program hands out (API tokens "adm-…", session ids, CSRF tokens) as base64url text. */
#ifndef GW_ADMINAUTH_H
#define GW_ADMINAUTH_H

#include <glib.h>
#include "status.h"

#define GW_ADMIN_TOKEN_PREFIX "adm-"
/* "adm-" + unpadded base64url of 32 bytes */
#define GW_ADMIN_TOKEN_LEN (4 + 43)
/* characters of an API token kept for display ("adm-AbCd123") */
#define GW_ADMIN_TOKEN_DISPLAY_LEN 11
/* Passwords: at least this many bytes, at most GW_PASSWORD_MAX (bounds the hashing work). */
#define GW_PASSWORD_MIN 10
#define GW_PASSWORD_MAX 1024

/* A yescrypt hash ("$y$…") of password with a fresh random salt, default cost. *out: caller
 * frees. GW_EINVAL for a password outside GW_PASSWORD_MIN..MAX bytes or containing NUL/line
 * breaks; GW_ECRYPTO when libcrypt fails. */
GwStatus gw_password_hash(const char *password, char **out, GError **err);
/* TRUE when password matches the crypt(3) hash (constant-time comparison of the results). */
gboolean gw_password_verify(const char *password, const char *hash);

/* "PREFIX" + base64url of nbytes random bytes (unpadded). Caller frees with gw_secret_free.
 * Aborts when the CSPRNG fails. */
char *gw_random_token(const char *prefix, size_t nbytes);
/* TRUE when tok has the exact shape of an admin API token. */
gboolean gw_admin_token_is_well_formed(const char *tok);

#endif
