/* status.c — GError domain and the gw_fail() helper. */
#include "config.h"
#include "status.h"

G_DEFINE_QUARK(alephant-gateway-error-quark, gw_error)

GwStatus gw_fail(GError **err, GwStatus st, const char *fmt, ...)
{
    if (err != NULL && *err == NULL) {
        va_list ap;
        va_start(ap, fmt);
        char *msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        g_set_error_literal(err, GW_ERROR, (int)st, msg);
        g_free(msg);
    }
    return st;
}
