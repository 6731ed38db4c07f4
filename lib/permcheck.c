/* permcheck.c — refuse state (directory, database) that other users may write. */
#include "config.h"
#include "permcheck.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

GwStatus gw_permcheck_not_world_writable(const char *what, const char *path, GError **err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT)
            return GW_OK;
        return gw_fail(err, GW_EIO, "%s %s: %s", what, path, g_strerror(errno));
    }
    if ((st.st_mode & S_IWOTH) != 0)
        return gw_fail(err, GW_EINVAL,
                       "%s %s is writable by other users (mode %04o): any local account could "
                       "replace the gateway's keys, limits and logs; run: chmod o-w %s",
                       what, path, (unsigned)(st.st_mode & 07777), path);
    return GW_OK;
}

GwStatus gw_permcheck_state(const char *home, const char *db_path, GError **err)
{
    GwStatus rc = gw_permcheck_not_world_writable("state directory", home, err);
    if (rc != GW_OK)
        return rc;
    char *dir = g_path_get_dirname(db_path);
    if (strcmp(dir, home) != 0)
        rc = gw_permcheck_not_world_writable("database directory", dir, err);
    g_free(dir);
    if (rc != GW_OK)
        return rc;
    return gw_permcheck_not_world_writable("database", db_path, err);
}
