/* permcheck.h — start-up checks on the gateway's and the admin's state: a state directory or
 * database that other users may write lets any local account replace keys, budgets and logs, so
 * the programs refuse to start on one (the master key has its own, stricter check in crypto.c);
 * and gw_permcheck_ready, everything a server program checks before it serves. */
#ifndef GW_PERMCHECK_H
#define GW_PERMCHECK_H

#include <glib.h>
#include "conf.h"
#include "crypto.h"
#include "status.h"

/* GW_EINVAL when path (followed if a symlink) exists and is writable by others (o+w); the message
 * names what ("state directory", "database"…), the path, its mode and the chmod that fixes it.
 * A missing path is GW_OK (whoever needs it reports that); a stat failure other than ENOENT is
 * GW_EIO. */
GwStatus gw_permcheck_not_world_writable(const char *what, const char *path, GError **err);

/* The state directory home, the database file db_path and the directory holding it (when that is
 * not home) must not be writable by others. */
GwStatus gw_permcheck_state(const char *home, const char *db_path, GError **err);

/* The state a server program (gateway, admin) needs before it may serve: permissions as above,
 * an existing database, migrated to this build's schema, and the master key, loaded into
 * master_key. Neither database nor key is ever created here (alephantctl init / make run do), so
 * a missing or unreadable one is reported clearly instead of starting with empty state. */
GwStatus gw_permcheck_ready(const GwConf *conf, guint8 master_key[GW_MASTER_KEY_LEN],
                            GError **err);

#endif
