/* store_internal.h — what the storage module's own files (store.c, store_budget.c,
 * store_policy.c, …) share: the GwStore connection and statement helpers. Not for other code. */
#ifndef GW_STORE_INTERNAL_H
#define GW_STORE_INTERNAL_H

#include <sqlite3.h>
#include "store.h"

/* A prepared statement for a static SQL string, cached per connection (keyed by the string's
 * address, so pass a string literal or a static const array). Reset it with gw_store_done. */
GwStatus gw_store_prepare(GwStore *st, const char *sql, sqlite3_stmt **out, GError **err);
/* Resets a statement and clears its bindings. */
void gw_store_done(sqlite3_stmt *s);
/* Maps an SQLite result code to a GwStatus with a message naming `what` (never bound values). */
GwStatus gw_store_fail(GwStore *st, int rc, const char *what, GError **err);
/* BEGIN IMMEDIATE. */
GwStatus gw_store_begin(GwStore *st, GError **err);
/* COMMIT when gs is GW_OK (returning the commit's status), else ROLLBACK and return gs. */
GwStatus gw_store_end(GwStore *st, GwStatus gs, GError **err);
/* store_policy.c's cache of compiled policies on this connection, created on first use with
 * value_free for its values (keys must point into the values); freed with the store. */
GHashTable *gw_store_policy_cache(GwStore *st, GDestroyNotify value_free);
/* Model names priced by a shorter name: "gpt-4o-mini-2024-07-18" is priced as itself, else
 * "gpt-4o-mini-2024-07", "gpt-4o-mini-2024", "gpt-4o-mini", … Given a candidate's length, returns
 * the next shorter one's (the text before the last '-' within it), 0 when there is none. */
gsize gw_store_model_prefix(const char *model, gsize len);
/* Memo of configuration reads on this connection. gw_store_config_version reads the counter that
 * triggers bump on every change to a configuration table (0009); -1 when it cannot be read (then
 * nothing is memoized). A value put at a version is returned (borrowed) only while the counter
 * still has that version: read the version BEFORE the data it labels. */
gint64 gw_store_config_version(GwStore *st);
gconstpointer gw_store_memo_get(GwStore *st, const char *key, gint64 version);
/* Takes ownership of value (freed with value_free, also at once when version is -1). */
void gw_store_memo_put(GwStore *st, const char *key, gint64 version, gpointer value,
                       GDestroyNotify value_free);
/* A deep copy of an array of copy()-able elements, with free_fn set. */
GPtrArray *gw_store_memo_copy_array(const GPtrArray *arr, GCopyFunc copy, GDestroyNotify free_fn);
/* Current time in Unix ms (the store's clock). */
gint64 gw_store_now_ms(void);

/* Column i as a JSON string (invalid UTF-8 replaced by U+FFFD) or null; new reference. */
json_t *gw_store_json_text(sqlite3_stmt *s, int i);
/* Of log row log_id: its attempts as an array (*out, new reference); its properties as an object
 * {name: value} (*out, new reference); its "policy_result" and "policy_decisions" set on obj. */
GwStatus gw_store_log_attempts_json(GwStore *st, gint64 log_id, json_t **out, GError **err);
GwStatus gw_store_log_properties_json(GwStore *st, gint64 log_id, json_t **out, GError **err);
GwStatus gw_store_log_decisions_json(GwStore *st, gint64 log_id, json_t *obj, GError **err);

#endif
