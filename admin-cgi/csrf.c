/* csrf.c — the session token compared in constant time (see csrf.h). */
#include "config.h"
#include "csrf.h"

#include <string.h>
#include "crypto.h"

gboolean adm_csrf_equal(const char *expected, const char *given)
{
    if (expected == NULL || given == NULL || *expected == '\0')
        return FALSE;
    size_t n = strlen(expected);
    if (strlen(given) != n)
        return FALSE;
    return gw_ct_equal(expected, given, n);
}

gboolean adm_csrf_ok(AdmCtx *c)
{
    if (c->via_token)
        return TRUE;
    if (c->csrf == NULL)
        return FALSE;
    const char *given = gw_request_header(c->req, ADM_CSRF_HEADER, NULL);
    if (given == NULL && c->form != NULL)
        given = g_hash_table_lookup(c->form, ADM_CSRF_FIELD);
    return adm_csrf_equal(c->csrf, given);
}
