/* auth.h — who is asking: admin API tokens (Authorization: Bearer adm-…), browser sessions (the
 * alephant_admin cookie, stored only as its SHA-256, with idle and absolute expiry), logins with
 * a rate limit per user name and per client address kept in SQLite (shared by every process),
 * and logout. */
#ifndef ADM_AUTH_H
#define ADM_AUTH_H

#include <glib.h>
#include "ctx.h"
#include "status.h"

#define ADM_SESSION_COOKIE "alephant_admin"
/* The login form's double-submit token, set before a session exists. */
#define ADM_LOGIN_COOKIE "alephant_admin_login"

/* "admin" → ADM_ROLE_ADMIN, "viewer" → ADM_ROLE_VIEWER, anything else ADM_ROLE_NONE. */
AdmRole adm_role_parse(const char *role);

/* Fills c->role, user, via_token, session_hash and csrf from the request. A missing or bad
 * credential leaves c->role at ADM_ROLE_NONE; *bad_token is set when an Authorization header
 * was sent but is not a valid admin token. Errors only for the database (GW_EDB…). */
GwStatus adm_auth_request(AdmCtx *c, gboolean *bad_token, GError **err);

typedef enum {
    ADM_LOGIN_OK,
    ADM_LOGIN_BAD,       /* wrong user name or password (not said which) */
    ADM_LOGIN_LIMITED,   /* too many recent failures for this user name or address */
} AdmLoginResult;

/* Checks the rate limit, then the password; on success creates a session, queues its cookie and
 * fills c like adm_auth_request. Every failure is recorded. */
GwStatus adm_auth_login(AdmCtx *c, const char *user, const char *password,
                        AdmLoginResult *result, GError **err);
/* Ends c's session (if any) and queues the cookie's deletion. */
void adm_auth_logout(AdmCtx *c);

#endif
