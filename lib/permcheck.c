/* permcheck.c — refuse state (directory, database) that other users may write, and check that
 * the state a server program needs is there before it serves. */
#include "config.h"
#include "permcheck.h"
#include "store.h"

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

GwStatus gw_permcheck_ready(const GwConf *conf, guint8 master_key[GW_MASTER_KEY_LEN],
                            GError **err)
{
    /* State others may write is state anyone on the machine may forge: refuse it. */
    GwStatus rc = gw_permcheck_state(conf->home, conf->db_path, err);
    if (rc != GW_OK)
        return rc;
    if (!g_file_test(conf->db_path, G_FILE_TEST_IS_REGULAR))
        return gw_fail(err, GW_EIO, "database %s does not exist; create it with `alephantctl init`",
                       conf->db_path);
    rc = gw_master_key_load(conf->master_key_path, FALSE, master_key, err);
    if (rc != GW_OK)
        return rc;
    GwStore *st = NULL;
    rc = gw_store_open(conf->db_path, &st, err);
    if (rc != GW_OK)
        return rc;
    rc = gw_store_migrate(st, err);
    gw_store_close(st);
    return rc;
}
