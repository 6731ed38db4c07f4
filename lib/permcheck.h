/* permcheck.h — start-up checks on the permissions of the gateway's state: a state directory or
 * database that other users may write lets any local account replace keys, budgets and logs, so
 * the gateway refuses to start on one (the master key has its own, stricter check in crypto.c). */
#ifndef GW_PERMCHECK_H
#define GW_PERMCHECK_H

#include "status.h"

/* GW_EINVAL when path (followed if a symlink) exists and is writable by others (o+w); the message
 * names what ("state directory", "database"…), the path, its mode and the chmod that fixes it.
 * A missing path is GW_OK (whoever needs it reports that); a stat failure other than ENOENT is
 * GW_EIO. */
GwStatus gw_permcheck_not_world_writable(const char *what, const char *path, GError **err);

/* The state directory home, the database file db_path and the directory holding it (when that is
 * not home) must not be writable by others. */
GwStatus gw_permcheck_state(const char *home, const char *db_path, GError **err);

#endif
