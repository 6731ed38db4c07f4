/* csrf.h — anti-CSRF checks: every state-changing request of a browser session carries the
 * session's token (form field "csrf" or header X-CSRF-Token); API-token requests need none. */
#ifndef ADM_CSRF_H
#define ADM_CSRF_H

#include <glib.h>
#include "ctx.h"

#define ADM_CSRF_FIELD "csrf"
#define ADM_CSRF_HEADER "x-csrf-token"

/* Constant-time comparison of two tokens; FALSE when either is NULL or empty. */
gboolean adm_csrf_equal(const char *expected, const char *given);
/* TRUE when c may change state: a bearer-token request, or a session request whose form field
 * or header holds the session's token. */
gboolean adm_csrf_ok(AdmCtx *c);

#endif
