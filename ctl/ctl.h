/* ctl.h — what alephantctl's command files share (ctl/util.c): usage errors and option parsing,
 * opening the home directory and database, time and JSON helpers, and the plain-text Table. */
#ifndef ALEPHANT_CTL_H
#define ALEPHANT_CTL_H

#include <glib.h>
#include <jansson.h>

#include "conf.h"
#include "ops.h"
#include "status.h"
#include "store.h"

#define EXIT_USAGE 2
/* Table cells are cut after this many characters to keep rows on one line. */
#define CELL_MAX_CHARS 60

/* ---- errors and options ---- */

/* Prints "alephantctl: MESSAGE" for err (consumed) and returns EXIT_FAILURE. */
int report(GError *err);
/* Prints "PRGNAME: MESSAGE\nTry 'PRGNAME --help'." and returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Parses a subcommand's options; argv[0] is the subcommand word. --help prints and exits 0.
 * description (may be NULL) is shown after the options. Returns 0 or EXIT_USAGE. */
int parse_options(const char *params, const char *summary, const char *description,
                  GOptionEntry *entries, int *argc, char ***argv);
/* Options of a plain list command: only --json ("Print a JSON array"), no positionals. */
int list_options(const char *summary, gboolean *as_json, int *argc, char ***argv);
/* EXIT_USAGE for any positional argument. */
int no_positional(int argc, char **argv);
/* The name comes from --name or a single positional argument. */
int name_from_args(char **opt_name, int argc, char **argv);
/* Decimal only: GOption's G_OPTION_ARG_INT also takes hex and octal ("010" would be 8). */
gboolean parse_int(const char *text, int *out);

/* ---- configuration and database ---- */

typedef struct {
    GwConf *conf;
    GwStore *store;
    GwOps ops;
} Ctl;

/* Loads config, makes sure the home directory (0700), database (migrated) and master key exist.
 * Call ctl_close whatever it returns. */
GwStatus ctl_open(Ctl *c, GError **err);
void ctl_close(Ctl *c);
/* The database only (no master key): home directory and migrated database. *out is set only
 * on success. */
GwStatus ctl_open_store(GwStore **out, GError **err);
/* Opens the database only, runs list (a gw_store_*_list_json) into *rows and closes it. */
GwStatus ctl_store_list_json(GwStatus (*list)(GwStore *st, json_t **out, GError **err),
                             json_t **rows, GError **err);

/* ---- formatting ---- */

/* Unix ms → "2027-01-01T00:00:00Z"; "-" for none (0 or less), "never" for G_MAXINT64 (a
 * lifetime budget's end), "?" for other times past the calendar. Caller frees. */
char *fmt_time(gint64 ms);
/* "vk" for "virtual_key", other scopes as they are. */
const char *scope_label(const char *scope);

/* ---- JSON ---- */

/* Prints j indented with a final newline and releases it; EXIT_FAILURE if that fails. */
int print_json(json_t *j);
/* o[key] as a string, or NULL. */
const char *jstr(json_t *o, const char *key);
/* o[key] as an integer, or dflt. */
gint64 jint_or(json_t *o, const char *key, gint64 dflt);

/* ---- plain-text tables ---- */

/* Row-major table of owned cells. Cells may hold client-controlled text (log paths, models,
 * operator config): control characters become '?' and invalid UTF-8 is made valid so nothing
 * reaches the terminal as an escape sequence; NULL or empty text shows as "-". */
typedef struct Table Table;

/* A table whose first row is head (ncols strings). */
Table *table_new(const char *const *head, guint ncols);
/* Adds a cell cut at CELL_MAX_CHARS, taking ownership of s. */
void table_take(Table *t, char *s);
/* Adds a cell cut at max_chars (then "…"), taking ownership of s. */
void table_take_max(Table *t, char *s, glong max_chars);
/* Adds a copy of s, cut at CELL_MAX_CHARS. */
void table_add(Table *t, const char *s);
/* Prints the columns padded to their widest cell plus two spaces, and frees t. */
void table_print(Table *t);

/* ---- commands registered in alephantctl.c's command table ---- */

/* Budgets and rate limits: cmd_limits.c. */
int cmd_vk_update(int argc, char **argv);
int cmd_agent_update(int argc, char **argv);
int cmd_department_update(int argc, char **argv);
int cmd_budget_list(int argc, char **argv);
int cmd_ratelimit_list(int argc, char **argv);
/* Agents and departments on their own, and key edits: cmd_groups.c. */
int cmd_agent_create(int argc, char **argv);
int cmd_agent_list(int argc, char **argv);
int cmd_agent_delete(int argc, char **argv);
int cmd_department_create(int argc, char **argv);
int cmd_department_list(int argc, char **argv);
int cmd_department_delete(int argc, char **argv);
int cmd_vk_edit(int argc, char **argv);
/* Request policies: cmd_policy.c. */
int cmd_policy_add(int argc, char **argv);
int cmd_policy_list(int argc, char **argv);
int cmd_policy_remove(int argc, char **argv);
/* Response cache: cmd_cache.c. */
int cmd_cache_purge(int argc, char **argv);
/* Admin accounts and API tokens: cmd_admin.c. */
int cmd_admin_add(int argc, char **argv);
int cmd_admin_passwd(int argc, char **argv);
int cmd_admin_list(int argc, char **argv);
int cmd_admin_token_create(int argc, char **argv);
int cmd_admin_token_list(int argc, char **argv);
int cmd_admin_token_revoke(int argc, char **argv);
/* Reads a secret (or password) from stdin, one line with echo off on a terminal; free with
 * gw_secret_free (alephantctl.c). */
GwStatus read_secret(char **out, GError **err);

#endif
