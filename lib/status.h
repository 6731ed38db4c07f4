/* status.h — the result codes every fallible gateway function returns, and the GError domain
 * that carries the human-readable message alongside them. */
#ifndef GW_STATUS_H
#define GW_STATUS_H

#include <glib.h>

typedef enum {
    GW_OK = 0,
    GW_ENOTFOUND,   /* the named thing does not exist */
    GW_EEXISTS,     /* a unique name is already taken */
    GW_EINUSE,      /* refused because something still refers to it */
    GW_EINVAL,      /* bad input (message says which) */
    GW_EDB,         /* database error (locked past busy_timeout, disk full, corrupt) */
    GW_ECRYPTO,     /* encryption/decryption/authentication failure */
    GW_EIO,         /* file or network I/O error */
    GW_ETOOBIG,     /* a size limit was exceeded */
} GwStatus;

#define GW_ERROR (gw_error_quark())
GQuark gw_error_quark(void);

/* Sets *err (if err != NULL) with code `st` and returns `st`, so callers can write
 * `return gw_fail(err, GW_EINVAL, "bad %s", what);`. */
GwStatus gw_fail(GError **err, GwStatus st, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

#endif
