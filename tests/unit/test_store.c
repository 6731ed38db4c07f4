/* test_store.c — the SQLite store and the operator actions on top of it, on a fresh database in
 * a temporary directory per test. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <jansson.h>
#include <sqlite3.h>

#include "crypto.h"
#include "ops.h"
#include "store.h"

/* The embedded schema (lib/schema-resources.c), to build a version-1 database by hand. */
extern GResource *gw_schema_get_resource(void);

typedef struct {
    char *dir;
    char *path;
    GwStore *st;
} Fixture;

static void fixture_setup(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    f->dir = g_dir_make_tmp("alephant-store-XXXXXX", &err);
    g_assert_no_error(err);
    f->path = g_build_filename(f->dir, "alephant.db", NULL);
    g_assert_cmpint(gw_store_open(f->path, &f->st, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_migrate(f->st, &err), ==, GW_OK);
    g_assert_no_error(err);
}

static void fixture_teardown(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    gw_store_close(f->st);
    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *p = g_strconcat(f->path, suffixes[i], NULL);
        g_unlink(p);
        g_free(p);
    }
    g_assert_cmpint(g_rmdir(f->dir), ==, 0);
    g_free(f->path);
    g_free(f->dir);
}

static GBytes *fake_secret(const char *s)
{
    return g_bytes_new(s, strlen(s));
}

static void add_pk(Fixture *f, const char *name, gint64 *id_out)
{
    GError *err = NULL;
    GBytes *b = fake_secret("encrypted-bytes");
    g_assert_cmpint(gw_store_provider_key_add(f->st, name, "openai", NULL, NULL, b, "\u2026abcd",
                                              id_out, &err),
                    ==, GW_OK);
    g_assert_no_error(err);
    g_bytes_unref(b);
}

static gint64 add_vk(Fixture *f, const char *name, const char *hash, const char *pk,
                     const char *models, const char *dept, const char *agent)
{
    GError *err = NULL;
    GwVkCreate p = {
        .name = name,
        .token_hash = hash,
        .token_prefix = "vk-AbCd1234",
        .provider_key = pk,
        .allowed_models = models,
        .department = dept,
        .agent = agent,
    };
    gint64 id = 0;
    g_assert_cmpint(gw_store_vk_create(f->st, &p, &id, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(id, >, 0);
    return id;
}

/* ---- migrations ---- */

static void test_migrate_idempotent(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    int v1 = -1, v2 = -1;
    g_assert_cmpint(gw_store_schema_version(f->st, &v1, &err), ==, GW_OK);
    g_assert_cmpint(v1, >=, 1);
    g_assert_cmpint(gw_store_migrate(f->st, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_schema_version(f->st, &v2, &err), ==, GW_OK);
    g_assert_cmpint(v1, ==, v2);

    /* A second connection (another process in real life) sees the same version. */
    GwStore *other = NULL;
    g_assert_cmpint(gw_store_open(f->path, &other, &err), ==, GW_OK);
    g_assert_cmpint(gw_store_migrate(other, &err), ==, GW_OK);
    g_assert_no_error(err);
    int v3 = -1;
    g_assert_cmpint(gw_store_schema_version(other, &v3, &err), ==, GW_OK);
    g_assert_cmpint(v3, ==, v1);
    gw_store_close(other);
}

static void test_fresh_version_zero(void)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("alephant-store-XXXXXX", &err);
    char *path = g_build_filename(dir, "fresh.db", NULL);
    GwStore *st = NULL;
    g_assert_cmpint(gw_store_open(path, &st, &err), ==, GW_OK);
    int v = -1;
    g_assert_cmpint(gw_store_schema_version(st, &v, &err), ==, GW_OK);
    g_assert_cmpint(v, ==, 0);
    gw_store_close(st);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *p = g_strconcat(path, suffixes[i], NULL);
        g_unlink(p);
        g_free(p);
    }
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

static void test_open_not_a_database(void)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("alephant-store-XXXXXX", &err);
    char *path = g_build_filename(dir, "junk.db", NULL);
    char junk[4096];
    memset(junk, 'x', sizeof junk);
    g_assert_true(g_file_set_contents(path, junk, sizeof junk, NULL));
    GwStore *st = NULL;
    g_assert_cmpint(gw_store_open(path, &st, &err), ==, GW_EDB);
    g_assert_error(err, GW_ERROR, GW_EDB);
    g_assert_null(st);
    g_clear_error(&err);
    g_unlink(path);
    g_rmdir(dir);
    g_free(path);
    g_free(dir);
}

/* ---- provider keys ---- */

static void test_provider_keys(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    gint64 id = 0;
    add_pk(f, "openai-main", &id);
    g_assert_cmpint(id, >, 0);

    GwProviderKey *pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get(f->st, "openai-main", &pk, &err), ==, GW_OK);
    g_assert_cmpint(pk->id, ==, id);
    g_assert_cmpstr(pk->provider, ==, "openai");
    g_assert_null(pk->base_url);
    g_assert_cmpstr(pk->secret_hint, ==, "\u2026abcd");
    g_assert_null(pk->api_version);
    gsize n = 0;
    const char *blob = g_bytes_get_data(pk->secret_enc, &n);
    g_assert_cmpmem(blob, n, "encrypted-bytes", strlen("encrypted-bytes"));
    g_assert_cmpint(pk->rotated_at, ==, 0);
    g_assert_cmpint(pk->created_at, >, 1600000000000);
    gw_provider_key_free(pk);

    pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get_by_id(f->st, id, &pk, &err), ==, GW_OK);
    g_assert_cmpstr(pk->name, ==, "openai-main");
    gw_provider_key_free(pk);

    /* base URL kept, binary blob with NULs round-trips */
    static const guint8 bin[] = {0, 1, 2, 0, 255};
    GBytes *b = g_bytes_new_static(bin, sizeof bin);
    g_assert_cmpint(gw_store_provider_key_add(f->st, "compat", "openai-compatible",
                                              "http://127.0.0.1:9/v1", NULL, b, NULL, NULL, &err),
                    ==, GW_OK);
    g_bytes_unref(b);

    GPtrArray *list = NULL;
    g_assert_cmpint(gw_store_provider_key_list(f->st, &list, &err), ==, GW_OK);
    g_assert_cmpuint(list->len, ==, 2);
    const GwProviderKey *first = g_ptr_array_index(list, 0);
    g_assert_cmpstr(first->name, ==, "compat"); /* sorted by name */
    g_assert_cmpstr(first->base_url, ==, "http://127.0.0.1:9/v1");
    g_assert_cmpmem(g_bytes_get_data(first->secret_enc, NULL),
                    g_bytes_get_size(first->secret_enc), bin, sizeof bin);
    g_assert_null(first->secret_hint);
    g_ptr_array_unref(list);

    /* rotate */
    b = fake_secret("new-bytes");
    g_assert_cmpint(gw_store_provider_key_rotate(f->st, "openai-main", b, "\u2026wxyz", &err), ==,
                    GW_OK);
    g_assert_cmpint(gw_store_provider_key_rotate(f->st, "nope", b, "h", &err), ==, GW_ENOTFOUND);
    g_assert_error(err, GW_ERROR, GW_ENOTFOUND);
    g_clear_error(&err);
    g_bytes_unref(b);
    g_assert_cmpint(gw_store_provider_key_get(f->st, "openai-main", &pk, &err), ==, GW_OK);
    g_assert_cmpstr(pk->secret_hint, ==, "\u2026wxyz");
    g_assert_cmpint(pk->rotated_at, >, 0);
    g_assert_cmpmem(g_bytes_get_data(pk->secret_enc, NULL), g_bytes_get_size(pk->secret_enc),
                    "new-bytes", 9);
    gw_provider_key_free(pk);

    /* delete */
    g_assert_cmpint(gw_store_provider_key_delete(f->st, "compat", &err), ==, GW_OK);
    g_assert_no_error(err);
    pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get(f->st, "compat", &pk, &err), ==, GW_ENOTFOUND);
    g_assert_null(pk);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_provider_key_delete(f->st, "compat", &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
}

static void test_provider_key_duplicate(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    add_pk(f, "dup", NULL);
    GBytes *b = fake_secret("x");
    g_assert_cmpint(
        gw_store_provider_key_add(f->st, "dup", "anthropic", NULL, NULL, b, NULL, NULL, &err), ==,
        GW_EEXISTS);
    g_assert_error(err, GW_ERROR, GW_EEXISTS);
    g_assert_nonnull(strstr(err->message, "dup"));
    g_clear_error(&err);
    /* Kinds are validated by ops.c only (no CHECK since 0002), so new kinds need no migration;
     * the api_version round-trips. */
    g_assert_cmpint(gw_store_provider_key_add(f->st, "az", "azure", "https://x.openai.azure.com",
                                              "2024-10-21", b, NULL, NULL, &err),
                    ==, GW_OK);
    g_assert_no_error(err);
    GwProviderKey *pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get(f->st, "az", &pk, &err), ==, GW_OK);
    g_assert_cmpstr(pk->provider, ==, "azure");
    g_assert_cmpstr(pk->api_version, ==, "2024-10-21");
    gw_provider_key_free(pk);
    GPtrArray *list = NULL;
    g_assert_cmpint(gw_store_provider_key_list(f->st, &list, &err), ==, GW_OK);
    g_assert_cmpuint(list->len, ==, 2);
    g_assert_cmpstr(((GwProviderKey *)g_ptr_array_index(list, 0))->api_version, ==, "2024-10-21");
    g_assert_null(((GwProviderKey *)g_ptr_array_index(list, 1))->api_version);
    g_ptr_array_unref(list);
    g_bytes_unref(b);
}

static void test_provider_key_delete_in_use(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    add_pk(f, "used", NULL);
    add_vk(f, "app1", "h1", "used", NULL, NULL, NULL);
    add_vk(f, "app2", "h2", "used", NULL, NULL, NULL);

    GPtrArray *list = NULL;
    g_assert_cmpint(gw_store_provider_key_list(f->st, &list, &err), ==, GW_OK);
    g_assert_cmpint(((GwProviderKey *)g_ptr_array_index(list, 0))->vk_count, ==, 2);
    g_ptr_array_unref(list);

    g_assert_cmpint(gw_store_provider_key_delete(f->st, "used", &err), ==, GW_EINUSE);
    g_assert_error(err, GW_ERROR, GW_EINUSE);
    g_assert_nonnull(strstr(err->message, "2 virtual keys"));
    g_clear_error(&err);

    /* Revoked keys still refer to it: still refused, and the message says so. */
    g_assert_cmpint(gw_store_vk_revoke(f->st, "app1", &err), ==, GW_OK);
    g_assert_cmpint(gw_store_vk_revoke(f->st, "app2", &err), ==, GW_OK);
    g_assert_cmpint(gw_store_provider_key_delete(f->st, "used", &err), ==, GW_EINUSE);
    g_assert_nonnull(strstr(err->message, "2 revoked"));
    g_clear_error(&err);

    GwProviderKey *pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get(f->st, "used", &pk, &err), ==, GW_OK);
    gw_provider_key_free(pk);
}

/* ---- virtual keys ---- */

static void test_vk_lifecycle(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    gint64 pk_id = 0;
    add_pk(f, "pk", &pk_id);
    gint64 id = add_vk(f, "app", "aaaa", "pk", "gpt-4o-mini, gpt-4o ,,", "research", "bot-1");

    GwVirtualKey *vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "aaaa", &vk, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(vk->id, ==, id);
    g_assert_cmpstr(vk->name, ==, "app");
    g_assert_cmpstr(vk->token_hash, ==, "aaaa");
    g_assert_cmpstr(vk->token_prefix, ==, "vk-AbCd1234");
    g_assert_cmpint(vk->provider_key_id, ==, pk_id);
    g_assert_cmpstr(vk->provider_key_name, ==, "pk");
    g_assert_nonnull(vk->allowed_models);
    g_assert_cmpuint(g_strv_length(vk->allowed_models), ==, 2);
    g_assert_cmpstr(vk->allowed_models[0], ==, "gpt-4o-mini");
    g_assert_cmpstr(vk->allowed_models[1], ==, "gpt-4o");
    g_assert_cmpstr(vk->agent_name, ==, "bot-1");
    g_assert_cmpint(vk->agent_id, >, 0);
    g_assert_cmpstr(vk->department_name, ==, "research");
    g_assert_cmpint(vk->department_id, >, 0);
    g_assert_cmpstr(vk->status, ==, "active");
    g_assert_cmpint(vk->expires_at, ==, 0);
    g_assert_cmpint(vk->last_used_at, ==, 0);
    gint64 agent_id = vk->agent_id, dept_id = vk->department_id;
    gw_virtual_key_free(vk);

    /* Agents and departments are reused by name. */
    add_vk(f, "app-b", "bbbb", "pk", NULL, "research", "bot-1");
    vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "bbbb", &vk, &err), ==, GW_OK);
    g_assert_null(vk->allowed_models); /* any model */
    g_assert_cmpint(vk->agent_id, ==, agent_id);
    g_assert_cmpint(vk->department_id, ==, dept_id);
    gw_virtual_key_free(vk);

    /* No agent, no department. */
    add_vk(f, "app-c", "cccc", "pk", "", NULL, NULL);
    vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "cccc", &vk, &err), ==, GW_OK);
    g_assert_cmpint(vk->agent_id, ==, 0);
    g_assert_null(vk->agent_name);
    g_assert_null(vk->department_name);
    /* A list with no names allows nothing (never "any"). */
    g_assert_nonnull(vk->allowed_models);
    g_assert_null(vk->allowed_models[0]);
    gw_virtual_key_free(vk);

    /* Duplicate name; unknown provider key. */
    GwVkCreate p = {.name = "app", .token_hash = "dddd", .token_prefix = "vk-x",
                    .provider_key = "pk"};
    g_assert_cmpint(gw_store_vk_create(f->st, &p, NULL, &err), ==, GW_EEXISTS);
    g_assert_error(err, GW_ERROR, GW_EEXISTS);
    g_clear_error(&err);
    p.name = "app-d";
    p.provider_key = "missing";
    p.department = "never-created";
    g_assert_cmpint(gw_store_vk_create(f->st, &p, NULL, &err), ==, GW_ENOTFOUND);
    g_assert_error(err, GW_ERROR, GW_ENOTFOUND);
    g_clear_error(&err);

    /* List: sorted by name, the failed create left nothing behind (one transaction). */
    GPtrArray *list = NULL;
    g_assert_cmpint(gw_store_vk_list(f->st, &list, &err), ==, GW_OK);
    g_assert_cmpuint(list->len, ==, 3);
    g_assert_cmpstr(((GwVirtualKey *)g_ptr_array_index(list, 0))->name, ==, "app");
    g_assert_cmpstr(((GwVirtualKey *)g_ptr_array_index(list, 2))->name, ==, "app-c");
    g_ptr_array_unref(list);

    /* Revoke. */
    g_assert_cmpint(gw_store_vk_revoke(f->st, "app", &err), ==, GW_OK);
    g_assert_cmpint(gw_store_vk_revoke(f->st, "app", &err), ==, GW_OK); /* idempotent */
    g_assert_cmpint(gw_store_vk_revoke(f->st, "nope", &err), ==, GW_ENOTFOUND);
    g_assert_error(err, GW_ERROR, GW_ENOTFOUND);
    g_clear_error(&err);
    vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "aaaa", &vk, &err), ==, GW_OK);
    g_assert_cmpstr(vk->status, ==, "revoked");
    gw_virtual_key_free(vk);

    vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "zzzz", &vk, &err), ==, GW_ENOTFOUND);
    g_assert_null(vk);
    g_assert_null(strstr(err->message, "zzzz")); /* hashes are not echoed */
    g_clear_error(&err);
}

static void test_vk_expires_and_last_used(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    add_pk(f, "pk", NULL);
    GwVkCreate p = {.name = "exp", .token_hash = "eeee", .token_prefix = "vk-e",
                    .provider_key = "pk", .expires_at = 1893456000000};
    gint64 id = 0;
    g_assert_cmpint(gw_store_vk_create(f->st, &p, &id, &err), ==, GW_OK);

    GwLogRow *rows[2];
    for (int i = 0; i < 2; i++) {
        rows[i] = gw_log_row_new();
        g_strlcpy(rows[i]->request_id, "0190a3c4-0000-7000-8000-000000000000",
                  sizeof rows[i]->request_id);
        rows[i]->virtual_key_id = id;
        rows[i]->created_at = 1700000000000 + i * 5000;
        rows[i]->status = 200;
    }
    g_assert_cmpint(gw_store_log_insert(f->st, rows, 2, &err), ==, GW_OK);
    g_assert_no_error(err);
    gw_log_row_free(rows[0]);
    gw_log_row_free(rows[1]);

    GPtrArray *list = NULL;
    g_assert_cmpint(gw_store_vk_list(f->st, &list, &err), ==, GW_OK);
    const GwVirtualKey *vk = g_ptr_array_index(list, 0);
    g_assert_cmpint(vk->expires_at, ==, 1893456000000);
    g_assert_cmpint(vk->last_used_at, ==, 1700000005000);
    g_ptr_array_unref(list);
}

static void test_injection_is_data(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    const char *evil = "x' OR '1'='1";
    add_pk(f, "pk", NULL);
    add_vk(f, "app", "hash-1", "pk", NULL, NULL, NULL);

    GwVirtualKey *vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, evil, &vk, &err), ==, GW_ENOTFOUND);
    g_assert_null(vk);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "' OR 1=1 --", &vk, &err), ==,
                    GW_ENOTFOUND);
    g_clear_error(&err);
    GwProviderKey *pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get(f->st, evil, &pk, &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_vk_revoke(f->st, evil, &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);

    /* The store itself takes any text as a name and keeps it literally. */
    add_pk(f, evil, NULL);
    g_assert_cmpint(gw_store_provider_key_get(f->st, evil, &pk, &err), ==, GW_OK);
    g_assert_cmpstr(pk->name, ==, evil);
    gw_provider_key_free(pk);
    add_vk(f, "robert'); DROP TABLE virtual_keys;--", evil, evil, "a'b,c", evil, evil);
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, evil, &vk, &err), ==, GW_OK);
    g_assert_cmpstr(vk->name, ==, "robert'); DROP TABLE virtual_keys;--");
    g_assert_cmpstr(vk->provider_key_name, ==, evil);
    g_assert_cmpstr(vk->agent_name, ==, evil);
    g_assert_cmpstr(vk->allowed_models[0], ==, "a'b");
    gw_virtual_key_free(vk);

    GPtrArray *list = NULL;
    g_assert_cmpint(gw_store_vk_list(f->st, &list, &err), ==, GW_OK);
    g_assert_cmpuint(list->len, ==, 2);
    g_ptr_array_unref(list);
    /* The evil provider key is in use; the plain one is too. Nothing else was touched. */
    g_assert_cmpint(gw_store_provider_key_delete(f->st, evil, &err), ==, GW_EINUSE);
    g_clear_error(&err);
}

/* ---- logs ---- */

static GwLogRow *make_row(const char *rid, gint64 created, gint64 vk_id)
{
    GwLogRow *r = gw_log_row_new();
    g_strlcpy(r->request_id, rid, sizeof r->request_id);
    r->created_at = created;
    r->latency_ms = 12;
    r->virtual_key_id = vk_id;
    r->method = g_strdup("POST");
    r->path = g_strdup("/v1/chat/completions");
    r->status = 200;
    return r;
}

static json_t *list_logs(Fixture *f, int limit)
{
    GError *err = NULL;
    json_t *arr = NULL;
    g_assert_cmpint(gw_store_log_list_json(f->st, limit, &arr, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_true(json_is_array(arr));
    return arr;
}

static void test_logs(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    gint64 pk_id = 0;
    add_pk(f, "pk", &pk_id);
    gint64 vk_id = add_vk(f, "app", "h", "pk", NULL, "dept", "agent");
    GwVirtualKey *vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "h", &vk, &err), ==, GW_OK);

    GwLogRow *rows[3];
    rows[0] = make_row("00000000-0000-7000-8000-000000000001", 1700000000000, vk_id);
    rows[1] = make_row("00000000-0000-7000-8000-000000000002", 1700000002000, vk_id);
    /* Same request id as row 0 (a client reusing x-request-id): both rows are kept. */
    rows[2] = make_row("00000000-0000-7000-8000-000000000001", 1700000001000, 0);
    GwLogRow *full = rows[1];
    full->agent_id = vk->agent_id;
    full->department_id = vk->department_id;
    full->provider_key_id = pk_id;
    full->provider = g_strdup("openai");
    full->model = g_strdup("gpt-4o-mini");
    full->prompt_tokens = 10;
    full->completion_tokens = 0;
    full->total_tokens = 10;
    full->ttfb_ms = 5;
    full->stream = TRUE;
    full->request_body = g_strdup("{\"model\":\"gpt-4o-mini\"}");
    full->response_body = g_strdup("data: caf\xc3"); /* cut mid-character */
    full->response_truncated = TRUE;
    full->client_ip = g_strdup("127.0.0.1");
    full->user_agent = g_strdup("test/1.0");
    full->upstream_request_id = g_strdup("req_1");
    full->client_request_id = g_strdup("my-id");
    full->cache_status = g_strdup("HIT");
    full->cache_kind = g_strdup("semantic");
    full->cache_source_request_id = g_strdup("00000000-0000-7000-8000-0000000000aa");
    full->cache_bucket_idx = 2;
    full->cache_similarity = 0.97;
    full->cache_saved_nanos = 4200;
    full->cache_latency_ms = 3;
    rows[2]->error_code = g_strdup("invalid_api_key");
    rows[2]->error_message = g_strdup("Invalid virtual key");
    rows[2]->status = 401;
    gw_virtual_key_free(vk);

    g_assert_cmpint(gw_store_log_insert(f->st, rows, 3, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_log_insert(f->st, rows, 0, &err), ==, GW_OK);
    for (int i = 0; i < 3; i++)
        gw_log_row_free(rows[i]);

    json_t *arr = list_logs(f, 10);
    g_assert_cmpuint(json_array_size(arr), ==, 3);
    /* newest first */
    json_t *r0 = json_array_get(arr, 0), *r1 = json_array_get(arr, 1), *r2 = json_array_get(arr, 2);
    g_assert_cmpint(json_integer_value(json_object_get(r0, "created_at")), ==, 1700000002000);
    g_assert_cmpint(json_integer_value(json_object_get(r1, "created_at")), ==, 1700000001000);
    g_assert_cmpint(json_integer_value(json_object_get(r2, "created_at")), ==, 1700000000000);
    g_assert_cmpstr(json_string_value(json_object_get(r1, "request_id")), ==,
                    json_string_value(json_object_get(r2, "request_id")));

    /* the full row: every field, names joined in */
    g_assert_cmpstr(json_string_value(json_object_get(r0, "virtual_key")), ==, "app");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "agent")), ==, "agent");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "department")), ==, "dept");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "provider_key")), ==, "pk");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "provider")), ==, "openai");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "model")), ==, "gpt-4o-mini");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "client_request_id")), ==, "my-id");
    g_assert_cmpint(json_integer_value(json_object_get(r0, "prompt_tokens")), ==, 10);
    g_assert_true(json_is_integer(json_object_get(r0, "completion_tokens")));
    g_assert_cmpint(json_integer_value(json_object_get(r0, "completion_tokens")), ==, 0);
    g_assert_cmpint(json_integer_value(json_object_get(r0, "ttfb_ms")), ==, 5);
    g_assert_true(json_is_true(json_object_get(r0, "stream")));
    g_assert_true(json_is_true(json_object_get(r0, "response_truncated")));
    g_assert_true(json_is_false(json_object_get(r0, "request_truncated")));
    g_assert_cmpstr(json_string_value(json_object_get(r0, "response_body")), ==,
                    "data: caf\xef\xbf\xbd");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "upstream_request_id")), ==, "req_1");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "cache_status")), ==, "HIT");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "cache_kind")), ==, "semantic");
    g_assert_cmpstr(json_string_value(json_object_get(r0, "cache_source_request_id")), ==,
                    "00000000-0000-7000-8000-0000000000aa");
    g_assert_cmpint(json_integer_value(json_object_get(r0, "cache_bucket_idx")), ==, 2);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(r0, "cache_similarity")), 0.97,
                                   1e-9);
    g_assert_cmpint(json_integer_value(json_object_get(r0, "cache_saved_nanos")), ==, 4200);
    g_assert_cmpint(json_integer_value(json_object_get(r0, "cache_latency_ms")), ==, 3);
    /* 48 columns and names, cost_usd, id, attempts, properties, policy_result, policy_decisions,
     * 7 cache columns */
    g_assert_cmpint(json_object_size(r0), ==, 61);

    /* the sparse row: NULL tokens and ids are JSON null, booleans false */
    g_assert_true(json_is_null(json_object_get(r1, "prompt_tokens")));
    g_assert_true(json_is_null(json_object_get(r1, "completion_tokens")));
    g_assert_true(json_is_null(json_object_get(r1, "total_tokens")));
    g_assert_true(json_is_null(json_object_get(r1, "ttfb_ms")));
    g_assert_true(json_is_null(json_object_get(r1, "virtual_key_id")));
    g_assert_true(json_is_null(json_object_get(r1, "virtual_key")));
    g_assert_true(json_is_null(json_object_get(r1, "request_body")));
    g_assert_true(json_is_false(json_object_get(r1, "stream")));
    g_assert_cmpint(json_integer_value(json_object_get(r1, "status")), ==, 401);
    g_assert_cmpstr(json_string_value(json_object_get(r1, "error_code")), ==, "invalid_api_key");
    g_assert_cmpint(json_object_size(r1), ==, 61);
    g_assert_true(json_is_null(json_object_get(r1, "cache_status")));
    g_assert_true(json_is_null(json_object_get(r1, "cache_bucket_idx")));
    json_decref(arr);

    arr = list_logs(f, 1);
    g_assert_cmpuint(json_array_size(arr), ==, 1);
    json_decref(arr);
    g_assert_cmpint(gw_store_log_list_json(f->st, 0, &arr, &err), ==, GW_EINVAL);
    g_clear_error(&err);

    /* Log rows outlive the keys they mention (no foreign keys from request_logs). */
    GwLogRow *orphan = make_row("00000000-0000-7000-8000-000000000003", 1700000003000, 999);
    orphan->provider_key_id = 998;
    g_assert_cmpint(gw_store_log_insert(f->st, &orphan, 1, &err), ==, GW_OK);
    gw_log_row_free(orphan);
    arr = list_logs(f, 1);
    json_t *o = json_array_get(arr, 0);
    g_assert_cmpint(json_integer_value(json_object_get(o, "virtual_key_id")), ==, 999);
    g_assert_true(json_is_null(json_object_get(o, "virtual_key")));
    json_decref(arr);
}

static void test_logs_batch_atomic(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    GwLogRow *rows[2] = {make_row("00000000-0000-7000-8000-00000000000a", 1, 0), NULL};
    /* A NULL row fails the batch; the first row must not be kept. */
    g_assert_cmpint(gw_store_log_insert(f->st, rows, 2, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    gw_log_row_free(rows[0]);
    json_t *arr = list_logs(f, 10);
    g_assert_cmpuint(json_array_size(arr), ==, 0);
    json_decref(arr);

    /* a big batch */
    GPtrArray *batch = g_ptr_array_new_with_free_func((GDestroyNotify)gw_log_row_free);
    for (int i = 0; i < 500; i++)
        g_ptr_array_add(batch, make_row("00000000-0000-7000-8000-00000000000b", 1000 + i, 0));
    g_assert_cmpint(gw_store_log_insert(f->st, (GwLogRow **)batch->pdata, batch->len, &err), ==,
                    GW_OK);
    g_ptr_array_unref(batch);
    arr = list_logs(f, 1000);
    g_assert_cmpuint(json_array_size(arr), ==, 500);
    g_assert_cmpint(json_integer_value(json_object_get(json_array_get(arr, 0), "created_at")), ==,
                    1499);
    json_decref(arr);
}

/* The log writer's remedy for a write-ahead log that passive checkpoints never restart. */
static void test_wal_truncate(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    GPtrArray *batch = g_ptr_array_new_with_free_func((GDestroyNotify)gw_log_row_free);
    for (int i = 0; i < 200; i++)
        g_ptr_array_add(batch, make_row("00000000-0000-7000-8000-00000000000c", 2000 + i, 0));
    g_assert_cmpint(gw_store_log_insert(f->st, (GwLogRow **)batch->pdata, batch->len, &err), ==,
                    GW_OK);
    g_ptr_array_unref(batch);
    g_assert_cmpint(gw_store_wal_bytes(f->st), >, 0);
    g_assert_cmpint(gw_store_wal_truncate(f->st, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_wal_bytes(f->st), ==, 0);
    json_t *arr = list_logs(f, 1000);
    g_assert_cmpuint(json_array_size(arr), ==, 200);
    json_decref(arr);
}

/* ---- routing targets ---- */

static GPtrArray *targets_of(Fixture *f, gint64 vk_id)
{
    GError *err = NULL;
    GPtrArray *t = NULL;
    g_assert_cmpint(gw_store_vk_targets(f->st, vk_id, &t, &err), ==, GW_OK);
    g_assert_no_error(err);
    return t;
}

static const GwTarget *target_at(GPtrArray *t, guint i)
{
    g_assert_cmpuint(i, <, t->len);
    return g_ptr_array_index(t, i);
}

static void test_targets(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    gint64 pk1 = 0, pk2 = 0, pk3 = 0;
    add_pk(f, "pk1", &pk1);
    add_pk(f, "pk2", &pk2);
    add_pk(f, "pk3", &pk3);
    gint64 vk = add_vk(f, "app", "h", "pk1", NULL, NULL, NULL);

    /* vk_create made the key's provider key its only target */
    GPtrArray *t = targets_of(f, vk);
    g_assert_cmpuint(t->len, ==, 1);
    g_assert_cmpint(target_at(t, 0)->provider_key_id, ==, pk1);
    g_assert_cmpstr(target_at(t, 0)->provider_key_name, ==, "pk1");
    g_assert_cmpstr(target_at(t, 0)->provider, ==, "openai");
    g_assert_cmpint(target_at(t, 0)->priority, ==, 0);
    g_assert_cmpint(target_at(t, 0)->weight, ==, 1);
    g_assert_null(target_at(t, 0)->model_map);
    g_ptr_array_unref(t);

    /* add two more; order is priority, then id (insertion) */
    g_assert_cmpint(gw_store_vk_target_set(f->st, "app", "pk2", -1, 0,
                                           "{\"gpt-4o\": \"gpt-4o-mini\", \"a\\\"b\": \"c\"}",
                                           &err),
                    ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_vk_target_set(f->st, "app", "pk3", 0, 1000, NULL, &err), ==, GW_OK);
    t = targets_of(f, vk);
    g_assert_cmpuint(t->len, ==, 3);
    g_assert_cmpstr(target_at(t, 0)->provider_key_name, ==, "pk2");
    g_assert_cmpint(target_at(t, 0)->priority, ==, -1);
    g_assert_cmpint(target_at(t, 0)->weight, ==, 0);
    const json_t *map = target_at(t, 0)->model_map;
    g_assert_true(json_is_object(map));
    g_assert_cmpuint(json_object_size(map), ==, 2);
    g_assert_cmpstr(json_string_value(json_object_get(map, "gpt-4o")), ==, "gpt-4o-mini");
    g_assert_cmpstr(json_string_value(json_object_get(map, "a\"b")), ==, "c");
    g_assert_cmpstr(target_at(t, 1)->provider_key_name, ==, "pk1");
    g_assert_cmpstr(target_at(t, 2)->provider_key_name, ==, "pk3");
    g_assert_cmpint(target_at(t, 2)->weight, ==, 1000);
    g_ptr_array_unref(t);

    /* set again = update in place (no second row); an empty map is no map */
    g_assert_cmpint(gw_store_vk_target_set(f->st, "app", "pk2", 5, 7, "{}", &err), ==, GW_OK);
    t = targets_of(f, vk);
    g_assert_cmpuint(t->len, ==, 3);
    g_assert_cmpstr(target_at(t, 2)->provider_key_name, ==, "pk2");
    g_assert_cmpint(target_at(t, 2)->priority, ==, 5);
    g_assert_cmpint(target_at(t, 2)->weight, ==, 7);
    g_assert_null(target_at(t, 2)->model_map);
    g_ptr_array_unref(t);

    /* refused input changes nothing */
    static const char *const bad_maps[] = {
        "[]", "\"gpt-4o\"", "{\"a\": 1}", "{\"a\": null}", "{\"a\": \"\"}", "{\"\": \"b\"}",
        "{\"a\": \"b\", \"a\": \"c\"}", "{\"a\": \"b\"", "", "null", "{\"a\": {\"b\": \"c\"}}",
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad_maps); i++) {
        g_assert_cmpint(gw_store_vk_target_set(f->st, "app", "pk2", 0, 1, bad_maps[i], &err), ==,
                        GW_EINVAL);
        g_assert_error(err, GW_ERROR, GW_EINVAL);
        g_clear_error(&err);
    }
    g_assert_cmpint(gw_store_vk_target_set(f->st, "app", "pk2", 0, -1, NULL, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_vk_target_set(f->st, "app", "pk2", 0, 1001, NULL, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_vk_target_set(f->st, "nope", "pk2", 0, 1, NULL, &err), ==,
                    GW_ENOTFOUND);
    g_assert_nonnull(strstr(err->message, "virtual key"));
    g_clear_error(&err);
    g_assert_cmpint(gw_store_vk_target_set(f->st, "app", "nope", 0, 1, NULL, &err), ==,
                    GW_ENOTFOUND);
    g_assert_nonnull(strstr(err->message, "provider key"));
    g_clear_error(&err);
    t = targets_of(f, vk);
    g_assert_cmpuint(t->len, ==, 3);
    g_assert_cmpint(target_at(t, 2)->priority, ==, 5);
    g_ptr_array_unref(t);

    /* remove; the last one is refused */
    g_assert_cmpint(gw_store_vk_target_remove(f->st, "app", "pk1", &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_vk_target_remove(f->st, "app", "pk1", &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_vk_target_remove(f->st, "nope", "pk1", &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_vk_target_remove(f->st, "app", "pk3", &err), ==, GW_OK);
    g_assert_cmpint(gw_store_vk_target_remove(f->st, "app", "pk2", &err), ==, GW_EINUSE);
    g_assert_error(err, GW_ERROR, GW_EINUSE);
    g_assert_nonnull(strstr(err->message, "last"));
    g_clear_error(&err);
    t = targets_of(f, vk);
    g_assert_cmpuint(t->len, ==, 1);
    g_assert_cmpstr(target_at(t, 0)->provider_key_name, ==, "pk2");
    g_ptr_array_unref(t);

    /* an unknown key id has no targets */
    t = targets_of(f, 12345);
    g_assert_cmpuint(t->len, ==, 0);
    g_ptr_array_unref(t);
}

static void test_provider_key_delete_target(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    add_pk(f, "main", NULL);
    add_pk(f, "backup", NULL);
    add_vk(f, "app", "h", "main", NULL, NULL, NULL);
    g_assert_cmpint(gw_store_vk_target_set(f->st, "app", "backup", 1, 1, NULL, &err), ==, GW_OK);

    /* A target counts as a reference in the list as well. */
    GPtrArray *list = NULL;
    g_assert_cmpint(gw_store_provider_key_list(f->st, &list, &err), ==, GW_OK);
    g_assert_cmpstr(((GwProviderKey *)g_ptr_array_index(list, 0))->name, ==, "backup");
    g_assert_cmpint(((GwProviderKey *)g_ptr_array_index(list, 0))->vk_count, ==, 1);
    g_ptr_array_unref(list);

    g_assert_cmpint(gw_store_provider_key_delete(f->st, "backup", &err), ==, GW_EINUSE);
    g_assert_error(err, GW_ERROR, GW_EINUSE);
    g_assert_nonnull(strstr(err->message, "routing target of 1 virtual key"));
    g_clear_error(&err);

    g_assert_cmpint(gw_store_vk_target_remove(f->st, "app", "backup", &err), ==, GW_OK);
    g_assert_cmpint(gw_store_provider_key_delete(f->st, "backup", &err), ==, GW_OK);
    g_assert_no_error(err);
}

/* ---- prices ---- */

static void find_price(Fixture *f, const char *model, gint64 at, const char *want_model,
                       gint64 want_input)
{
    GError *err = NULL;
    GwPrice p = {0};
    GwStatus gs = gw_store_price_find(f->st, model, at, &p, &err);
    if (want_model == NULL) {
        g_assert_cmpint(gs, ==, GW_ENOTFOUND);
        g_assert_error(err, GW_ERROR, GW_ENOTFOUND);
        g_clear_error(&err);
        g_assert_null(p.model);
        return;
    }
    g_assert_no_error(err);
    g_assert_cmpint(gs, ==, GW_OK);
    g_assert_cmpstr(p.model, ==, want_model);
    g_assert_cmpint(p.input_per_mtok, ==, want_input);
    gw_price_clear(&p);
    g_assert_null(p.model);
}

static void set_price(Fixture *f, const char *model, gint64 input, gint64 cached, gint64 from)
{
    GError *err = NULL;
    GwPrice p = {
        .provider = (char *)"acme",
        .model = (char *)model,
        .input_per_mtok = input,
        .output_per_mtok = input * 2,
        .cached_input_per_mtok = cached,
        .effective_from = from,
    };
    g_assert_cmpint(gw_store_price_set(f->st, &p, &err), ==, GW_OK);
    g_assert_no_error(err);
}

static void test_prices(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    const gint64 now = g_get_real_time() / 1000;

    /* the seed: exact, dated variant, longest prefix wins over a shorter one */
    find_price(f, "gpt-4o-mini", now, "gpt-4o-mini", 150000000);
    find_price(f, "gpt-4o-mini-2024-07-18", now, "gpt-4o-mini", 150000000);
    find_price(f, "gpt-4o-2024-08-06", now, "gpt-4o", 2500000000);
    find_price(f, "gpt-4o", now, "gpt-4o", 2500000000);
    find_price(f, "claude-3-5-haiku-20241022", now, "claude-3-5-haiku", 800000000);
    find_price(f, "claude-3-5-haiku-latest", now, "claude-3-5-haiku", 800000000);
    /* a prefix only counts up to a '-' boundary */
    find_price(f, "gpt-4omini", now, NULL, 0);
    find_price(f, "gpt-4", now, NULL, 0);
    find_price(f, "gpt-4o-", now, "gpt-4o", 2500000000);
    find_price(f, "no-such-model", now, NULL, 0);
    find_price(f, "", now, NULL, 0);
    find_price(f, "gpt-4o-mini-a-b-c-d-e-f-g-h-i-j-k", now, "gpt-4o-mini", 150000000);
    find_price(f, "-gpt-4o", now, NULL, 0);
    find_price(f, "gpt_4o-mini", now, NULL, 0); /* '_' is a character, never a wildcard */
    find_price(f, "gpt-4o--", now, "gpt-4o", 2500000000);
    /* before the seed's date nothing is in force */
    find_price(f, "gpt-4o-mini", 1754006400000 - 1, NULL, 0);
    find_price(f, "gpt-4o-mini", 1754006400000, "gpt-4o-mini", 150000000);

    /* effective dates: the older row applies until the newer one's date */
    set_price(f, "acme-1", 100, -1, 1000);
    set_price(f, "acme-1", 200, 50, 2000);
    find_price(f, "acme-1", 999, NULL, 0);
    find_price(f, "acme-1", 1000, "acme-1", 100);
    find_price(f, "acme-1", 1999, "acme-1", 100);
    find_price(f, "acme-1", 2000, "acme-1", 200);
    find_price(f, "acme-1-2025-01-01", 5000, "acme-1", 200);
    /* a longer model's row not yet in force falls back to its base model's */
    set_price(f, "acme-1-turbo", 300, -1, 3000);
    find_price(f, "acme-1-turbo", 2500, "acme-1", 200);
    find_price(f, "acme-1-turbo-v2", 3000, "acme-1-turbo", 300);

    /* cached price: NULL reads back as -1 */
    GwPrice p = {0};
    g_assert_cmpint(gw_store_price_find(f->st, "acme-1", 1500, &p, &err), ==, GW_OK);
    g_assert_cmpint(p.cached_input_per_mtok, ==, -1);
    g_assert_cmpint(p.output_per_mtok, ==, 200);
    g_assert_cmpint(p.effective_from, ==, 1000);
    g_assert_cmpstr(p.provider, ==, "acme");
    gw_price_clear(&p);
    g_assert_cmpint(gw_store_price_find(f->st, "acme-1", 2000, &p, &err), ==, GW_OK);
    g_assert_cmpint(p.cached_input_per_mtok, ==, 50);
    gw_price_clear(&p);

    /* '%' and '_' are literal characters, never wildcards */
    set_price(f, "my_m%", 7, -1, 0);
    find_price(f, "my_m%", 10, "my_m%", 7);
    find_price(f, "my_m%-2024", 10, "my_m%", 7);
    find_price(f, "myXmYZ", 10, NULL, 0);
    find_price(f, "myXmY-2024", 10, NULL, 0);
    find_price(f, "my_m", 10, NULL, 0);
    set_price(f, "a_b", 9, -1, 0);
    find_price(f, "aXb", 10, NULL, 0);
    find_price(f, "aXb-1", 10, NULL, 0);
    find_price(f, "a_b-1", 10, "a_b", 9);

    /* set replaces the row with the same model and date */
    GPtrArray *list = NULL;
    g_assert_cmpint(gw_store_price_list(f->st, &list, &err), ==, GW_OK);
    guint before = list->len;
    g_ptr_array_unref(list);
    set_price(f, "acme-1", 250, -1, 2000);
    find_price(f, "acme-1", 2000, "acme-1", 250);
    g_assert_cmpint(gw_store_price_list(f->st, &list, &err), ==, GW_OK);
    g_assert_cmpuint(list->len, ==, before);
    /* sorted by model then date */
    for (guint i = 1; i < list->len; i++) {
        const GwPrice *a = g_ptr_array_index(list, i - 1), *b = g_ptr_array_index(list, i);
        int c = strcmp(a->model, b->model);
        g_assert_true(c < 0 || (c == 0 && a->effective_from < b->effective_from));
    }
    g_ptr_array_unref(list);

    /* refused */
    GwPrice bad = {.provider = (char *)"acme", .model = (char *)"x", .input_per_mtok = -1,
                   .cached_input_per_mtok = -1};
    g_assert_cmpint(gw_store_price_set(f->st, &bad, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    bad.input_per_mtok = 1;
    bad.cached_input_per_mtok = -2;
    g_assert_cmpint(gw_store_price_set(f->st, &bad, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    bad.cached_input_per_mtok = -1;
    bad.output_per_mtok = G_GINT64_CONSTANT(1000000000000001);
    g_assert_cmpint(gw_store_price_set(f->st, &bad, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    bad.output_per_mtok = 1;
    bad.model = (char *)"";
    g_assert_cmpint(gw_store_price_set(f->st, &bad, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    bad.model = (char *)"x\ny";
    g_assert_cmpint(gw_store_price_set(f->st, &bad, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_price_find(f->st, NULL, 0, &p, &err), ==, GW_EINVAL);
    g_clear_error(&err);
}

/* ---- logs: attempts and cost ---- */

static GwAttempt *make_attempt(int n, gint64 pk_id, const char *model, int status,
                               const char *code)
{
    GwAttempt *a = gw_attempt_new();
    a->attempt = n;
    a->provider_key_id = pk_id;
    a->provider = g_strdup("openai");
    a->model = g_strdup(model);
    a->status = status;
    a->error_code = g_strdup(code);
    a->latency_ms = 10 * n;
    a->created_at = 1700000000000 + n;
    return a;
}

static void test_logs_attempts_cost(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    gint64 pk1 = 0, pk2 = 0;
    add_pk(f, "pk1", &pk1);
    add_pk(f, "pk2", &pk2);

    GwLogRow *rows[3];
    rows[0] = make_row("00000000-0000-7000-8000-000000000001", 1700000000000, 0);
    rows[1] = make_row("00000000-0000-7000-8000-000000000002", 1700000001000, 0);
    rows[2] = make_row("00000000-0000-7000-8000-000000000003", 1700000002000, 0);
    /* new rows start "not reported" with no attempts */
    g_assert_cmpint(rows[0]->cached_tokens, ==, -1);
    g_assert_cmpint(rows[0]->reasoning_tokens, ==, -1);
    g_assert_cmpint(rows[0]->cost_nanos, ==, -1);
    g_assert_null(rows[0]->cost_flag);
    g_assert_nonnull(rows[0]->attempts);
    g_assert_cmpuint(rows[0]->attempts->len, ==, 0);

    /* row 0: failed over from pk1 (timeout, then 503) to pk2 */
    GwLogRow *r = rows[0];
    g_ptr_array_add(r->attempts, make_attempt(1, pk1, "gpt-4o-mini", 0, "upstream_timeout"));
    g_ptr_array_add(r->attempts, make_attempt(2, pk1, "gpt-4o-mini", 503, "upstream_error"));
    g_ptr_array_add(r->attempts, make_attempt(3, pk2, "gpt-4o-mini-2024-07-18", 200, NULL));
    r->provider_key_id = pk2;
    r->prompt_tokens = 1000;
    r->completion_tokens = 500;
    r->total_tokens = 1500;
    r->cached_tokens = 0;
    r->reasoning_tokens = 128;
    r->cost_nanos = 450000;
    /* row 1: one attempt, unknown model */
    g_ptr_array_add(rows[1]->attempts, make_attempt(1, pk1, "mystery", 200, NULL));
    rows[1]->cost_flag = g_strdup("unknown_model");
    /* row 2: refused before any upstream (no attempts) */
    rows[2]->status = 401;

    g_assert_cmpint(gw_store_log_insert(f->st, rows, 3, &err), ==, GW_OK);
    g_assert_no_error(err);
    for (int i = 0; i < 3; i++)
        gw_log_row_free(rows[i]);

    json_t *arr = list_logs(f, 10);
    g_assert_cmpuint(json_array_size(arr), ==, 3);
    json_t *o2 = json_array_get(arr, 0), *o1 = json_array_get(arr, 1), *o0 = json_array_get(arr, 2);

    g_assert_cmpint(json_integer_value(json_object_get(o0, "cached_tokens")), ==, 0);
    g_assert_cmpint(json_integer_value(json_object_get(o0, "reasoning_tokens")), ==, 128);
    g_assert_cmpint(json_integer_value(json_object_get(o0, "cost_nanos")), ==, 450000);
    g_assert_cmpstr(json_string_value(json_object_get(o0, "cost_usd")), ==, "0.000450000");
    g_assert_true(json_is_null(json_object_get(o0, "cost_flag")));
    g_assert_cmpint(json_integer_value(json_object_get(o0, "attempt_count")), ==, 3);
    json_t *att = json_object_get(o0, "attempts");
    g_assert_cmpuint(json_array_size(att), ==, 3);
    json_t *a0 = json_array_get(att, 0), *a1 = json_array_get(att, 1), *a2 = json_array_get(att, 2);
    g_assert_cmpint(json_integer_value(json_object_get(a0, "attempt")), ==, 1);
    g_assert_cmpstr(json_string_value(json_object_get(a0, "provider_key")), ==, "pk1");
    g_assert_cmpint(json_integer_value(json_object_get(a0, "provider_key_id")), ==, pk1);
    g_assert_cmpstr(json_string_value(json_object_get(a0, "provider")), ==, "openai");
    g_assert_true(json_is_null(json_object_get(a0, "status"))); /* no answer */
    g_assert_cmpstr(json_string_value(json_object_get(a0, "error_code")), ==, "upstream_timeout");
    g_assert_cmpint(json_integer_value(json_object_get(a0, "latency_ms")), ==, 10);
    g_assert_cmpint(json_integer_value(json_object_get(a0, "created_at")), ==, 1700000000001);
    g_assert_cmpint(json_integer_value(json_object_get(a1, "status")), ==, 503);
    g_assert_cmpint(json_integer_value(json_object_get(a2, "attempt")), ==, 3);
    g_assert_cmpstr(json_string_value(json_object_get(a2, "provider_key")), ==, "pk2");
    g_assert_cmpstr(json_string_value(json_object_get(a2, "model")), ==,
                    "gpt-4o-mini-2024-07-18");
    g_assert_cmpint(json_integer_value(json_object_get(a2, "status")), ==, 200);
    g_assert_true(json_is_null(json_object_get(a2, "error_code")));
    g_assert_cmpuint(json_object_size(a2), ==, 9);

    /* unknown cost: null, with the reason */
    g_assert_true(json_is_null(json_object_get(o1, "cost_nanos")));
    g_assert_true(json_is_null(json_object_get(o1, "cost_usd")));
    g_assert_cmpstr(json_string_value(json_object_get(o1, "cost_flag")), ==, "unknown_model");
    g_assert_true(json_is_null(json_object_get(o1, "cached_tokens")));
    g_assert_true(json_is_null(json_object_get(o1, "reasoning_tokens")));
    g_assert_cmpint(json_integer_value(json_object_get(o1, "attempt_count")), ==, 1);
    g_assert_cmpuint(json_array_size(json_object_get(o1, "attempts")), ==, 1);
    g_assert_cmpstr(json_string_value(json_object_get(json_array_get(
                        json_object_get(o1, "attempts"), 0), "model")),
                    ==, "mystery");

    g_assert_cmpint(json_integer_value(json_object_get(o2, "attempt_count")), ==, 0);
    g_assert_true(json_is_array(json_object_get(o2, "attempts")));
    g_assert_cmpuint(json_array_size(json_object_get(o2, "attempts")), ==, 0);
    json_decref(arr);

    /* a batch that fails on a later row keeps neither rows nor attempts */
    GwLogRow *batch[2] = {make_row("00000000-0000-7000-8000-000000000004", 1700000003000, 0),
                          NULL};
    g_ptr_array_add(batch[0]->attempts, make_attempt(1, pk1, "m", 200, NULL));
    g_assert_cmpint(gw_store_log_insert(f->st, batch, 2, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    gw_log_row_free(batch[0]);
    arr = list_logs(f, 10);
    g_assert_cmpuint(json_array_size(arr), ==, 3);
    json_decref(arr);
}

/* ---- request tracking: properties, sessions, privacy flags; filtered queries ---- */

static void add_prop(GwLogRow *r, const char *name, const char *value)
{
    GwLogProperty *p = g_new0(GwLogProperty, 1);
    p->name = g_strdup(name);
    p->value = g_strdup(value);
    g_ptr_array_add(r->properties, p);
}

static void insert_rows(Fixture *f, GwLogRow **rows, guint n)
{
    GError *err = NULL;
    g_assert_cmpint(gw_store_log_insert(f->st, rows, n, &err), ==, GW_OK);
    g_assert_no_error(err);
    for (guint i = 0; i < n; i++)
        gw_log_row_free(rows[i]);
}

static json_t *query_logs(Fixture *f, const GwLogQuery *q)
{
    GError *err = NULL;
    json_t *arr = NULL;
    g_assert_cmpint(gw_store_log_query_json(f->st, q, &arr, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_true(json_is_array(arr));
    return arr;
}

static const char *row_rid(json_t *arr, size_t i)
{
    return json_string_value(json_object_get(json_array_get(arr, i), "request_id"));
}

static void test_logs_tracking(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    GwLogRow *rows[2];
    rows[0] = make_row("00000000-0000-7000-8000-000000000001", 1700000000000, 0);
    rows[1] = make_row("00000000-0000-7000-8000-000000000002", 1700000001000, 0);
    /* new rows start with an empty property list and no tracking fields */
    g_assert_nonnull(rows[0]->properties);
    g_assert_cmpuint(rows[0]->properties->len, ==, 0);
    g_assert_null(rows[0]->session_id);
    g_assert_false(rows[0]->request_omitted);
    g_assert_cmpint(rows[0]->prompt_version, ==, 0);

    GwLogRow *r = rows[0];
    r->session_id = g_strdup("sess-1");
    r->session_path = g_strdup("/plan/search");
    r->session_name = g_strdup("Trip planner");
    r->country = g_strdup("DE");
    r->referer = g_strdup("https://example.com/app?x=1");
    r->forwarded_ip = g_strdup("203.0.113.7");
    r->ratelimit_ip = g_strdup("198.51.100.2");
    r->request_omitted = TRUE;
    r->response_omitted = FALSE;
    r->prompt_id = g_strdup("support.v1");
    r->prompt_version = 3;
    add_prop(r, "env", "prod");
    add_prop(r, "user", "caf\xc3\xa9 \"42\"");
    rows[1]->response_omitted = TRUE;
    insert_rows(f, rows, 2);

    json_t *arr = list_logs(f, 10);
    g_assert_cmpuint(json_array_size(arr), ==, 2);
    json_t *o1 = json_array_get(arr, 0), *o0 = json_array_get(arr, 1);
    g_assert_cmpstr(json_string_value(json_object_get(o0, "session_id")), ==, "sess-1");
    g_assert_cmpstr(json_string_value(json_object_get(o0, "session_path")), ==, "/plan/search");
    g_assert_cmpstr(json_string_value(json_object_get(o0, "session_name")), ==, "Trip planner");
    g_assert_cmpstr(json_string_value(json_object_get(o0, "country")), ==, "DE");
    g_assert_cmpstr(json_string_value(json_object_get(o0, "referer")), ==,
                    "https://example.com/app?x=1");
    g_assert_cmpstr(json_string_value(json_object_get(o0, "forwarded_ip")), ==, "203.0.113.7");
    g_assert_cmpstr(json_string_value(json_object_get(o0, "ratelimit_ip")), ==, "198.51.100.2");
    g_assert_true(json_is_true(json_object_get(o0, "request_omitted")));
    g_assert_true(json_is_false(json_object_get(o0, "response_omitted")));
    g_assert_cmpstr(json_string_value(json_object_get(o0, "prompt_id")), ==, "support.v1");
    g_assert_cmpint(json_integer_value(json_object_get(o0, "prompt_version")), ==, 3);
    json_t *props = json_object_get(o0, "properties");
    g_assert_true(json_is_object(props));
    g_assert_cmpuint(json_object_size(props), ==, 2);
    g_assert_cmpstr(json_string_value(json_object_get(props, "env")), ==, "prod");
    g_assert_cmpstr(json_string_value(json_object_get(props, "user")), ==, "caf\xc3\xa9 \"42\"");
    g_assert_true(json_is_integer(json_object_get(o0, "id")));
    g_assert_cmpint(json_integer_value(json_object_get(o0, "id")), <,
                    json_integer_value(json_object_get(o1, "id")));

    /* the plain row: nulls, false, no properties */
    g_assert_true(json_is_null(json_object_get(o1, "session_id")));
    g_assert_true(json_is_null(json_object_get(o1, "country")));
    g_assert_true(json_is_null(json_object_get(o1, "prompt_id")));
    g_assert_true(json_is_null(json_object_get(o1, "prompt_version")));
    g_assert_true(json_is_false(json_object_get(o1, "request_omitted")));
    g_assert_true(json_is_true(json_object_get(o1, "response_omitted")));
    g_assert_true(json_is_object(json_object_get(o1, "properties")));
    g_assert_cmpuint(json_object_size(json_object_get(o1, "properties")), ==, 0);
    json_decref(arr);

    /* query rows have the same shape as list rows */
    GwLogQuery q = {.limit = 10};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 2);
    g_assert_cmpuint(json_object_size(json_array_get(arr, 0)), ==, 61);
    g_assert_cmpstr(json_string_value(json_object_get(
                        json_object_get(json_array_get(arr, 1), "properties"), "env")),
                    ==, "prod");
    json_decref(arr);

    /* a repeated property name refuses the whole batch: no row, no property is kept */
    GwLogRow *bad[2] = {make_row("00000000-0000-7000-8000-000000000003", 1700000002000, 0),
                        make_row("00000000-0000-7000-8000-000000000004", 1700000003000, 0)};
    add_prop(bad[0], "k", "1");
    add_prop(bad[1], "k", "1");
    add_prop(bad[1], "k", "2");
    g_assert_cmpint(gw_store_log_insert(f->st, bad, 2, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    /* and so does an incomplete property */
    gw_log_row_free(bad[1]);
    bad[1] = make_row("00000000-0000-7000-8000-000000000004", 1700000003000, 0);
    add_prop(bad[1], "k", NULL);
    g_assert_cmpint(gw_store_log_insert(f->st, bad, 2, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    gw_log_row_free(bad[0]);
    gw_log_row_free(bad[1]);
    q = (GwLogQuery){.limit = 10, .property_name = "k"};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 0);
    json_decref(arr);
    arr = list_logs(f, 10);
    g_assert_cmpuint(json_array_size(arr), ==, 2);
    json_decref(arr);
}

static void test_logs_query(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    GwLogRow *rows[6];
    for (int i = 0; i < 6; i++) {
        char rid[37];
        g_snprintf(rid, sizeof rid, "00000000-0000-7000-8000-00000000000%d", i);
        /* created_at runs backwards: the query orders by id (log order), not by time */
        rows[i] = make_row(rid, 1700000010000 - i * 1000, 0);
    }
    rows[0]->session_id = g_strdup("s1");
    rows[1]->session_id = g_strdup("s2");
    rows[2]->session_id = g_strdup("s1");
    add_prop(rows[0], "env", "prod");
    add_prop(rows[1], "env", "dev");
    add_prop(rows[2], "env", "prod");
    add_prop(rows[2], "team", "a\"b'%_c");
    /* values that LIKE would match with wildcards; equality must not */
    add_prop(rows[3], "team", "aXb'YZc");
    add_prop(rows[4], "team", "a\"b'%_");
    add_prop(rows[5], "team2", "a\"b'%_c");
    insert_rows(f, rows, 6);

    GwLogQuery q = {.limit = 100, .session_id = "s1"};
    json_t *arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 2);
    g_assert_cmpstr(row_rid(arr, 0), ==, "00000000-0000-7000-8000-000000000002");
    g_assert_cmpstr(row_rid(arr, 1), ==, "00000000-0000-7000-8000-000000000000");
    json_decref(arr);

    q = (GwLogQuery){.limit = 100, .session_id = "nope"};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 0);
    json_decref(arr);

    /* property with any value */
    q = (GwLogQuery){.limit = 100, .property_name = "env"};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 3);
    json_decref(arr);

    /* property with a value */
    q = (GwLogQuery){.limit = 100, .property_name = "env", .property_value = "prod"};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 2);
    g_assert_cmpstr(row_rid(arr, 0), ==, "00000000-0000-7000-8000-000000000002");
    json_decref(arr);

    /* quotes, % and _ are literal characters */
    q = (GwLogQuery){.limit = 100, .property_name = "team", .property_value = "a\"b'%_c"};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 1);
    g_assert_cmpstr(row_rid(arr, 0), ==, "00000000-0000-7000-8000-000000000002");
    json_decref(arr);
    q = (GwLogQuery){.limit = 100, .property_name = "team", .property_value = "%"};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 0);
    json_decref(arr);
    q = (GwLogQuery){.limit = 100, .property_name = "t%", .property_value = NULL};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 0);
    json_decref(arr);

    /* filters combine */
    q = (GwLogQuery){.limit = 100, .session_id = "s1", .property_name = "team"};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 1);
    g_assert_cmpstr(row_rid(arr, 0), ==, "00000000-0000-7000-8000-000000000002");
    gint64 id2 = json_integer_value(json_object_get(json_array_get(arr, 0), "id"));
    json_decref(arr);
    q = (GwLogQuery){.limit = 100, .session_id = "s1", .before_id = id2};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 1);
    g_assert_cmpstr(row_rid(arr, 0), ==, "00000000-0000-7000-8000-000000000000");
    json_decref(arr);

    /* bad queries */
    GwLogQuery bad[] = {
        {.limit = 0},
        {.limit = 1001},
        {.limit = 10, .before_id = -1},
        {.limit = 10, .property_value = "prod"},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        arr = NULL;
        g_assert_cmpint(gw_store_log_query_json(f->st, &bad[i], &arr, &err), ==, GW_EINVAL);
        g_assert_null(arr);
        g_clear_error(&err);
    }
    q = (GwLogQuery){.limit = 1000};
    arr = query_logs(f, &q);
    g_assert_cmpuint(json_array_size(arr), ==, 6);
    json_decref(arr);
}

static void test_logs_keyset(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GwLogRow *rows[25];
    for (int i = 0; i < 25; i++) {
        char rid[37];
        g_snprintf(rid, sizeof rid, "00000000-0000-7000-8000-0000000000%02d", i);
        /* equal timestamps: only the id orders them */
        rows[i] = make_row(rid, 1700000000000, 0);
    }
    insert_rows(f, rows, 25);

    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    GwLogQuery q = {.limit = 10};
    gint64 last = G_MAXINT64;
    const guint want[] = {10, 10, 5, 0};
    for (gsize page = 0; page < G_N_ELEMENTS(want); page++) {
        json_t *arr = query_logs(f, &q);
        g_assert_cmpuint(json_array_size(arr), ==, want[page]);
        size_t i;
        json_t *r;
        json_array_foreach(arr, i, r) {
            gint64 id = json_integer_value(json_object_get(r, "id"));
            g_assert_cmpint(id, <, last); /* strictly newest first, across pages too */
            last = id;
            g_assert_true(g_hash_table_add(seen, g_strdup(row_rid(arr, i))));
        }
        if (json_array_size(arr) > 0)
            q.before_id = last;
        json_decref(arr);
    }
    g_assert_cmpuint(g_hash_table_size(seen), ==, 25);
    g_hash_table_unref(seen);
}

static GwLogRow *session_row(const char *rid, gint64 created, gint64 latency, const char *sid,
                             const char *path, const char *name, gint64 tokens, gint64 cost)
{
    GwLogRow *r = make_row(rid, created, 0);
    r->latency_ms = latency;
    r->session_id = g_strdup(sid);
    r->session_path = g_strdup(path);
    r->session_name = g_strdup(name);
    if (tokens >= 0) {
        r->prompt_tokens = tokens;
        r->completion_tokens = 1;
        r->total_tokens = tokens + 1;
    }
    r->cost_nanos = cost;
    return r;
}

static void test_sessions(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    GwLogRow *rows[] = {
        /* s1: 1000..(3000+2500); named "Old" then "Trip", the newest name wins even though a
         * later request has no name */
        session_row("00000000-0000-7000-8000-000000000001", 1000, 100, "s1", "/plan", "Old", 10,
                    1000),
        session_row("00000000-0000-7000-8000-000000000002", 2000, 400, "s1", "/plan/search",
                    "Trip", 20, 2000),
        session_row("00000000-0000-7000-8000-000000000003", 3000, 2500, "s1", "/plan", NULL, -1,
                    -1),
        session_row("00000000-0000-7000-8000-000000000004", 3500, 10, "s1", NULL, NULL, 5, 500),
        /* s2: one request, unknown cost and tokens, newest activity */
        session_row("00000000-0000-7000-8000-000000000005", 9000, 50, "s2", "/", NULL, -1, -1),
        /* no session: not listed */
        session_row("00000000-0000-7000-8000-000000000006", 9500, 50, NULL, "/x", "N", 1, 1),
    };
    insert_rows(f, rows, G_N_ELEMENTS(rows));

    json_t *arr = NULL;
    g_assert_cmpint(gw_store_sessions_json(f->st, 10, &arr, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpuint(json_array_size(arr), ==, 2);
    json_t *s2 = json_array_get(arr, 0), *s1 = json_array_get(arr, 1);

    g_assert_cmpstr(json_string_value(json_object_get(s2, "session_id")), ==, "s2");
    g_assert_true(json_is_null(json_object_get(s2, "name")));
    g_assert_cmpint(json_integer_value(json_object_get(s2, "requests")), ==, 1);
    g_assert_true(json_is_null(json_object_get(s2, "cost_nanos")));
    g_assert_true(json_is_null(json_object_get(s2, "total_tokens")));
    g_assert_cmpint(json_integer_value(json_object_get(s2, "duration_ms")), ==, 50);

    g_assert_cmpstr(json_string_value(json_object_get(s1, "session_id")), ==, "s1");
    g_assert_cmpstr(json_string_value(json_object_get(s1, "name")), ==, "Trip");
    g_assert_cmpint(json_integer_value(json_object_get(s1, "requests")), ==, 4);
    g_assert_cmpint(json_integer_value(json_object_get(s1, "cost_nanos")), ==, 3500);
    g_assert_cmpstr(json_string_value(json_object_get(s1, "cost_usd")), ==, "0.000003500");
    g_assert_cmpint(json_integer_value(json_object_get(s1, "prompt_tokens")), ==, 35);
    g_assert_cmpint(json_integer_value(json_object_get(s1, "completion_tokens")), ==, 3);
    g_assert_cmpint(json_integer_value(json_object_get(s1, "total_tokens")), ==, 38);
    g_assert_cmpint(json_integer_value(json_object_get(s1, "first_at")), ==, 1000);
    g_assert_cmpint(json_integer_value(json_object_get(s1, "last_at")), ==, 3500);
    /* ends when the slow third request finished (5500), not at the last start */
    g_assert_cmpint(json_integer_value(json_object_get(s1, "duration_ms")), ==, 4500);
    json_t *paths = json_object_get(s1, "paths");
    g_assert_cmpuint(json_array_size(paths), ==, 3);
    json_t *p0 = json_array_get(paths, 0), *p1 = json_array_get(paths, 1),
           *p2 = json_array_get(paths, 2);
    g_assert_true(json_is_null(json_object_get(p0, "path")));
    g_assert_cmpint(json_integer_value(json_object_get(p0, "requests")), ==, 1);
    g_assert_cmpstr(json_string_value(json_object_get(p1, "path")), ==, "/plan");
    g_assert_cmpint(json_integer_value(json_object_get(p1, "requests")), ==, 2);
    g_assert_cmpstr(json_string_value(json_object_get(p2, "path")), ==, "/plan/search");
    g_assert_cmpint(json_integer_value(json_object_get(p2, "requests")), ==, 1);
    json_decref(arr);

    g_assert_cmpint(gw_store_sessions_json(f->st, 1, &arr, &err), ==, GW_OK);
    g_assert_cmpuint(json_array_size(arr), ==, 1);
    g_assert_cmpstr(json_string_value(json_object_get(json_array_get(arr, 0), "session_id")), ==,
                    "s2");
    json_decref(arr);
    g_assert_cmpint(gw_store_sessions_json(f->st, 0, &arr, &err), ==, GW_EINVAL);
    g_clear_error(&err);
}

/* ---- prompt templates ---- */

static void test_prompts(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    const char *t1 = "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi {{name}}\"}]}";
    const char *t2 = "{\"messages\":[{\"role\":\"user\",\"content\":\"Bye {{name}}\"}],"
                     "\"model\":\"gpt-4o-mini\"}";
    int v = 0;
    g_assert_cmpint(gw_store_prompt_add(f->st, "greet.v-1_x", t1, &v, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(v, ==, 1);
    g_assert_cmpint(gw_store_prompt_add(f->st, "greet.v-1_x", t2, &v, &err), ==, GW_OK);
    g_assert_cmpint(v, ==, 2);
    g_assert_cmpint(gw_store_prompt_add(f->st, "other", t1, NULL, &err), ==, GW_OK);

    char *text = NULL;
    v = 0;
    g_assert_cmpint(gw_store_prompt_get(f->st, "greet.v-1_x", 0, &text, &v, &err), ==, GW_OK);
    g_assert_cmpstr(text, ==, t2);
    g_assert_cmpint(v, ==, 2);
    g_free(text);
    g_assert_cmpint(gw_store_prompt_get(f->st, "greet.v-1_x", 1, &text, &v, &err), ==, GW_OK);
    g_assert_cmpstr(text, ==, t1);
    g_assert_cmpint(v, ==, 1);
    g_free(text);
    g_assert_cmpint(gw_store_prompt_get(f->st, "other", 0, &text, NULL, &err), ==, GW_OK);
    g_assert_cmpstr(text, ==, t1);
    g_free(text);

    /* unknown name or version */
    text = NULL;
    g_assert_cmpint(gw_store_prompt_get(f->st, "nope", 0, &text, &v, &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_prompt_get(f->st, "greet.v-1_x", 3, &text, &v, &err), ==,
                    GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_prompt_get(f->st, "x' OR '1'='1", 0, &text, &v, &err), ==,
                    GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_prompt_get(f->st, "other", -1, &text, &v, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_null(text);

    /* refused: bad JSON, non-objects, duplicate keys, bad names, too big */
    const char *bad_json[] = {"",     "{",   "[]", "\"x\"", "{} x", "{\"a\":1,\"a\":2}",
                              "{\"a\":\"\xff\"}"};
    for (gsize i = 0; i < G_N_ELEMENTS(bad_json); i++) {
        g_assert_cmpint(gw_store_prompt_add(f->st, "bad", bad_json[i], &v, &err), ==, GW_EINVAL);
        g_clear_error(&err);
    }
    char *long_name = g_strnfill(129, 'a');
    const char *bad_names[] = {"", "a b", "a/b", "caf\xc3\xa9", "x'--", long_name};
    for (gsize i = 0; i < G_N_ELEMENTS(bad_names); i++) {
        g_assert_cmpint(gw_store_prompt_add(f->st, bad_names[i], t1, &v, &err), ==, GW_EINVAL);
        g_clear_error(&err);
    }
    long_name[128] = '\0';
    g_assert_cmpint(gw_store_prompt_add(f->st, long_name, t1, &v, &err), ==, GW_OK);
    g_free(long_name);
    GString *big = g_string_new("{\"messages\":[{\"role\":\"user\",\"content\":\"");
    while (big->len < 256 * 1024)
        g_string_append_c(big, 'x');
    g_string_append(big, "\"}]}");
    g_assert_cmpint(gw_store_prompt_add(f->st, "big", big->str, &v, &err), ==, GW_ETOOBIG);
    g_clear_error(&err);
    g_string_free(big, TRUE);

    json_t *arr = NULL;
    g_assert_cmpint(gw_store_prompt_list_json(f->st, &arr, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpuint(json_array_size(arr), ==, 3); /* refused adds created no prompt */
    json_t *g = json_array_get(arr, 1);
    g_assert_cmpstr(json_string_value(json_object_get(g, "name")), ==, "greet.v-1_x");
    g_assert_cmpint(json_integer_value(json_object_get(g, "versions")), ==, 2);
    g_assert_cmpint(json_integer_value(json_object_get(g, "latest_version")), ==, 2);
    g_assert_cmpint(json_integer_value(json_object_get(g, "created_at")), >, 0);
    g_assert_cmpint(json_integer_value(json_object_get(g, "updated_at")), >=,
                    json_integer_value(json_object_get(g, "created_at")));
    g_assert_cmpstr(json_string_value(json_object_get(json_array_get(arr, 2), "name")), ==,
                    "other");
    json_decref(arr);
}

/* ---- migrations: 0001 → 0002 on a database with data ---- */

static void raw_exec(sqlite3 *db, const char *sql)
{
    /* Test setup only: fixed SQL, no values from outside. */
    char *emsg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &emsg);
    if (rc != SQLITE_OK)
        g_error("setup SQL failed: %s", emsg != NULL ? emsg : sqlite3_errstr(rc));
}

static void test_migrate_from_v1(void)
{
    GError *err = NULL;
    char *dir = g_dir_make_tmp("alephant-store-XXXXXX", &err);
    char *path = g_build_filename(dir, "v1.db", NULL);

    /* A version-1 database as an older release left it. */
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(path, &db), ==, SQLITE_OK);
    GBytes *v1 = g_resource_lookup_data(gw_schema_get_resource(),
                                        "/alephant/schema/0001_init.sql",
                                        G_RESOURCE_LOOKUP_FLAGS_NONE, &err);
    g_assert_no_error(err);
    char *sql = g_strndup(g_bytes_get_data(v1, NULL), g_bytes_get_size(v1));
    g_bytes_unref(v1);
    raw_exec(db, "BEGIN");
    raw_exec(db, sql);
    g_free(sql);
    raw_exec(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                 "name TEXT NOT NULL, applied_at INTEGER NOT NULL);"
                 "INSERT INTO schema_migrations VALUES (1, '0001_init.sql', 1);"
                 "INSERT INTO provider_keys (id, name, provider, secret_enc, created_at) "
                 "VALUES (7, 'old-pk', 'openai', x'00', 1);"
                 "INSERT INTO virtual_keys (id, name, token_hash, token_prefix, provider_key_id, "
                 "created_at) VALUES (3, 'old-vk', 'hh', 'vk-x', 7, 1);"
                 "INSERT INTO request_logs (request_id, created_at) VALUES ('r', 5);"
                 "COMMIT");
    sqlite3_close(db);

    GwStore *st = NULL;
    g_assert_cmpint(gw_store_open(path, &st, &err), ==, GW_OK);
    int v = 0;
    g_assert_cmpint(gw_store_schema_version(st, &v, &err), ==, GW_OK);
    g_assert_cmpint(v, ==, 1);
    g_assert_cmpint(gw_store_migrate(st, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_store_schema_version(st, &v, &err), ==, GW_OK);
    g_assert_cmpint(v, >=, 2);

    /* the existing key keeps its provider key as its single target */
    GPtrArray *t = NULL;
    g_assert_cmpint(gw_store_vk_targets(st, 3, &t, &err), ==, GW_OK);
    g_assert_cmpuint(t->len, ==, 1);
    g_assert_cmpint(((GwTarget *)g_ptr_array_index(t, 0))->provider_key_id, ==, 7);
    g_assert_cmpint(((GwTarget *)g_ptr_array_index(t, 0))->weight, ==, 1);
    g_ptr_array_unref(t);
    GwProviderKey *pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get(st, "old-pk", &pk, &err), ==, GW_OK);
    g_assert_null(pk->api_version);
    gw_provider_key_free(pk);
    /* old log rows read with the new columns null */
    json_t *arr = NULL;
    g_assert_cmpint(gw_store_log_list_json(st, 10, &arr, &err), ==, GW_OK);
    json_t *o = json_array_get(arr, 0);
    g_assert_true(json_is_null(json_object_get(o, "cost_nanos")));
    g_assert_cmpuint(json_array_size(json_object_get(o, "attempts")), ==, 0);
    json_decref(arr);
    gw_store_close(st);

    const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *p = g_strconcat(path, suffixes[i], NULL);
        g_unlink(p);
        g_free(p);
    }
    g_assert_cmpint(g_rmdir(dir), ==, 0);
    g_free(path);
    g_free(dir);
}

static void test_migrate_seed(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    int v = 0;
    g_assert_cmpint(gw_store_schema_version(f->st, &v, &err), ==, GW_OK);
    g_assert_cmpint(v, >=, 2); /* 0002 brings the price seed; later migrations may follow */
    const gint64 now = g_get_real_time() / 1000;
    GwPrice p = {0};
    g_assert_cmpint(gw_store_price_find(f->st, "gpt-4o-mini", now, &p, &err), ==, GW_OK);
    g_assert_cmpstr(p.provider, ==, "openai");
    g_assert_cmpint(p.input_per_mtok, ==, 150000000);
    g_assert_cmpint(p.output_per_mtok, ==, 600000000);
    g_assert_cmpint(p.cached_input_per_mtok, ==, 75000000);
    gw_price_clear(&p);
    g_assert_cmpint(gw_store_price_find(f->st, "claude-3-5-haiku", now, &p, &err), ==, GW_OK);
    g_assert_cmpstr(p.provider, ==, "anthropic");
    g_assert_cmpint(p.input_per_mtok, ==, 800000000);
    g_assert_cmpint(p.output_per_mtok, ==, 4000000000);
    gw_price_clear(&p);
    g_assert_cmpint(gw_store_price_find(f->st, "gpt-3.5-turbo", now, &p, &err), ==, GW_OK);
    g_assert_cmpint(p.cached_input_per_mtok, ==, -1);
    gw_price_clear(&p);
}

/* ---- ops (validation in front of the store) ---- */

static void ops_init(Fixture *f, GwOps *ops)
{
    memset(ops, 0, sizeof *ops);
    ops->store = f->st;
    memset(ops->master_key, 0x42, sizeof ops->master_key);
}

static void test_ops_provider_keys(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    GwOps ops;
    ops_init(f, &ops);

    /* mock: no secret needed, no base URL allowed */
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "m", "mock", NULL, NULL, NULL, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(
        gw_ops_provider_key_add(&ops, "m2", "mock", "https://example.com", NULL, NULL, &err), ==,
        GW_EINVAL);
    g_clear_error(&err);

    /* real providers need a one-line secret of at most 4096 bytes */
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "o", "openai", NULL, NULL, "", &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(
        gw_ops_provider_key_add(&ops, "o", "openai", NULL, NULL, "sk-a\nX-Evil: 1", &err), ==,
        GW_EINVAL);
    g_assert_null(strstr(err->message, "sk-a"));
    g_clear_error(&err);
    char *big = g_strnfill(4097, 'k');
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "o", "openai", NULL, NULL, big, &err), ==,
                    GW_ETOOBIG);
    g_clear_error(&err);
    big[4096] = '\0';
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "o", "openai", NULL, NULL, big, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_free(big);

    /* names, kinds, base URLs */
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "bad name", "openai", NULL, NULL, "sk-1", &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(
        gw_ops_provider_key_add(&ops, "x' OR '1'='1", "openai", NULL, NULL, "sk-1", &err), ==,
        GW_EINVAL);
    g_clear_error(&err);
    char *long_name = g_strnfill(65, 'a');
    g_assert_cmpint(gw_ops_provider_key_add(&ops, long_name, "openai", NULL, NULL, "sk-1", &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    long_name[64] = '\0';
    g_assert_cmpint(gw_ops_provider_key_add(&ops, long_name, "openai", NULL, NULL, "sk-1", &err),
                    ==, GW_OK);
    g_free(long_name);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "az", "azure", NULL, NULL, "sk-1", &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    /* azure: base URL (the resource endpoint) and api_version required */
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "az", "azure", NULL, "2024-10-21", "sk-1", &err),
                    ==, GW_EINVAL);
    g_assert_nonnull(strstr(err->message, "openai.azure.com"));
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "az", "azure", "https://r.openai.azure.com", NULL,
                                            "sk-1", &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    static const char *const bad_versions[] = {"", "2024-10-21&x=1", "2024 10", "V1",
                                               "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
    for (gsize i = 0; i < G_N_ELEMENTS(bad_versions); i++) {
        g_assert_cmpint(gw_ops_provider_key_add(&ops, "az", "azure", "https://r.openai.azure.com",
                                                bad_versions[i], "sk-1", &err),
                        ==, GW_EINVAL);
        g_clear_error(&err);
    }
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "az", "azure", "https://r.openai.azure.com",
                                            "2025-04-01-preview", "sk-1", &err),
                    ==, GW_OK);
    g_assert_no_error(err);
    /* api_version is refused for every other kind */
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "o2", "openai", NULL, "2024-10-21", "sk-1", &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "mm", "mock", NULL, "2024-10-21", NULL, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    /* gemini: its OpenAI-compatible default endpoint */
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "g", "gemini", NULL, NULL, "AIza-1", &err), ==,
                    GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "u", "bedrock", NULL, NULL, "k", &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(
        gw_ops_provider_key_add(&ops, "c", "openai-compatible", NULL, NULL, "sk-1", &err), ==,
        GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "c", "openai-compatible",
                                            "http://127.0.0.1:8080/v1", NULL, "sk-1", &err),
                    !=, GW_OK); /* private upstreams not allowed */
    g_clear_error(&err);
    ops.allow_private_upstreams = TRUE;
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "c", "openai-compatible",
                                            "http://127.0.0.1:8080/v1/", NULL, "sk-1", &err),
                    ==, GW_OK);
    g_assert_no_error(err);

    GwProviderKey *pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get(f->st, "c", &pk, &err), ==, GW_OK);
    g_assert_cmpstr(pk->base_url, ==, "http://127.0.0.1:8080/v1");
    char *plain = NULL;
    gsize n = 0;
    const void *blob = g_bytes_get_data(pk->secret_enc, &n);
    g_assert_cmpint(gw_secret_decrypt(ops.master_key, blob, n, &plain, &err), ==, GW_OK);
    g_assert_cmpstr(plain, ==, "sk-1");
    gw_secret_free(plain);
    gw_provider_key_free(pk);

    g_assert_cmpint(gw_store_provider_key_get(f->st, "m", &pk, &err), ==, GW_OK);
    g_assert_null(pk->base_url);
    blob = g_bytes_get_data(pk->secret_enc, &n);
    g_assert_cmpint(gw_secret_decrypt(ops.master_key, blob, n, &plain, &err), ==, GW_OK);
    g_assert_cmpstr(plain, ==, "mock");
    gw_secret_free(plain);
    gw_provider_key_free(pk);

    /* rotate */
    g_assert_cmpint(gw_ops_provider_key_rotate(&ops, "c", "sk-2\r\n", &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_rotate(&ops, "c", "sk-2", &err), ==, GW_OK);
    g_assert_cmpint(gw_ops_provider_key_rotate(&ops, "gone", "sk-2", &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_provider_key_get(f->st, "c", &pk, &err), ==, GW_OK);
    blob = g_bytes_get_data(pk->secret_enc, &n);
    g_assert_cmpint(gw_secret_decrypt(ops.master_key, blob, n, &plain, &err), ==, GW_OK);
    g_assert_cmpstr(plain, ==, "sk-2");
    gw_secret_free(plain);
    g_assert_nonnull(pk->secret_hint);
    g_assert_null(strstr(pk->secret_hint, "sk-2"));
    gw_provider_key_free(pk);

    g_assert_cmpint(gw_ops_provider_key_delete(&ops, "c", &err), ==, GW_OK);

    g_assert_cmpstr(gw_provider_default_base_url("openai"), ==, "https://api.openai.com/v1");
    g_assert_cmpstr(gw_provider_default_base_url("anthropic"), ==, "https://api.anthropic.com");
    g_assert_null(gw_provider_default_base_url("openai-compatible"));
    g_assert_null(gw_provider_default_base_url("azure"));
    g_assert_cmpstr(gw_provider_default_base_url("gemini"), ==,
                    "https://generativelanguage.googleapis.com/v1beta/openai");
    g_assert_true(gw_provider_kind_is_known("azure"));
    g_assert_true(gw_provider_kind_is_known("gemini"));
    g_assert_true(gw_provider_kind_is_known("openai-compatible"));
    g_assert_null(gw_provider_default_base_url("mock"));
    g_assert_null(gw_provider_default_base_url(NULL));
    g_assert_true(gw_provider_kind_is_known("mock"));
    g_assert_false(gw_provider_kind_is_known("Mock"));
}

static void test_ops_vk(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    GwOps ops;
    ops_init(f, &ops);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "m", "mock", NULL, NULL, NULL, &err), ==, GW_OK);

    char *tok = NULL;
    g_assert_cmpint(gw_ops_vk_create(&ops, "app", "m", " gpt-4o-mini , gpt-4o", "dept", "bot",
                                     "2099-01-01", &tok, &err),
                    ==, GW_OK);
    g_assert_no_error(err);
    g_assert_true(gw_vk_is_well_formed(tok, strlen(tok)));
    char hash[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex(tok, strlen(tok), hash);
    GwVirtualKey *vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, hash, &vk, &err), ==, GW_OK);
    g_assert_cmpint(strlen(vk->token_prefix), ==, GW_VK_DISPLAY_PREFIX_LEN);
    g_assert_true(strncmp(tok, vk->token_prefix, GW_VK_DISPLAY_PREFIX_LEN) == 0);
    g_assert_cmpstr(vk->allowed_models[0], ==, "gpt-4o-mini");
    g_assert_cmpstr(vk->allowed_models[1], ==, "gpt-4o");
    g_assert_null(vk->allowed_models[2]);
    g_assert_cmpint(vk->expires_at, ==, G_GINT64_CONSTANT(4070908800000)); /* 2099-01-01Z */
    gw_virtual_key_free(vk);
    gw_secret_free(tok);

    /* zone offsets are honoured */
    tok = NULL;
    g_assert_cmpint(gw_ops_vk_create(&ops, "app2", "m", NULL, NULL, NULL,
                                     "2099-01-01T02:00:00+02:00", &tok, &err),
                    ==, GW_OK);
    gw_sha256_hex(tok, strlen(tok), hash);
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, hash, &vk, &err), ==, GW_OK);
    g_assert_cmpint(vk->expires_at, ==, G_GINT64_CONSTANT(4070908800000));
    g_assert_null(vk->allowed_models);
    gw_virtual_key_free(vk);
    gw_secret_free(tok);

    /* refused inputs; no token is produced */
    static const struct {
        const char *name, *pk, *models, *dept, *agent, *expires;
        GwStatus want;
    } bad[] = {
        {"app3", "m", NULL, NULL, NULL, "2001-01-01", GW_EINVAL},
        {"app3", "m", NULL, NULL, NULL, "tomorrow", GW_EINVAL},
        {"app3", "m", "", NULL, NULL, NULL, GW_EINVAL},
        {"app3", "m", "a,,b", NULL, NULL, NULL, GW_EINVAL},
        {"app3", "m", "a,", NULL, NULL, NULL, GW_EINVAL},
        {"app3", "m", "gpt\x01", NULL, NULL, NULL, GW_EINVAL},
        {"app3", "m", NULL, "bad dept", NULL, NULL, GW_EINVAL},
        {"app3", "m", NULL, NULL, "", NULL, GW_EINVAL},
        {"a/b", "m", NULL, NULL, NULL, NULL, GW_EINVAL},
        {"app3", "nope", NULL, NULL, NULL, NULL, GW_ENOTFOUND},
        {"app", "m", NULL, NULL, NULL, NULL, GW_EEXISTS},
    };
    for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
        tok = NULL;
        GwStatus gs = gw_ops_vk_create(&ops, bad[i].name, bad[i].pk, bad[i].models, bad[i].dept,
                                       bad[i].agent, bad[i].expires, &tok, &err);
        if (gs != bad[i].want)
            g_test_message("case %" G_GSIZE_FORMAT ": %s", i, err ? err->message : "ok");
        g_assert_cmpint(gs, ==, bad[i].want);
        g_assert_nonnull(err);
        g_assert_null(tok);
        g_clear_error(&err);
    }
    char *long_model = g_strnfill(257, 'm');
    g_assert_cmpint(gw_ops_vk_create(&ops, "app3", "m", long_model, NULL, NULL, NULL, &tok, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    long_model[256] = '\0';
    g_assert_cmpint(gw_ops_vk_create(&ops, "app3", "m", long_model, NULL, NULL, NULL, &tok, &err),
                    ==, GW_OK);
    gw_secret_free(tok);
    g_free(long_model);

    g_assert_cmpint(gw_ops_vk_revoke(&ops, "app", &err), ==, GW_OK);
    g_assert_cmpint(gw_ops_vk_revoke(&ops, "x' OR '1'='1", &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_delete(&ops, "m", &err), ==, GW_EINUSE);
    g_clear_error(&err);
}

/* What a connection keeps of the configuration (keys, targets, provider keys) is dropped as soon
 * as another connection changes a configuration table, and only then. */
static gint64 cfg_exec(Fixture *f, const char *sql)
{
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(f->path, &db), ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_exec(db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
    sqlite3_stmt *s = NULL;
    g_assert_cmpint(sqlite3_prepare_v2(db, "SELECT version FROM config_version", -1, &s, NULL),
                    ==, SQLITE_OK);
    g_assert_cmpint(sqlite3_step(s), ==, SQLITE_ROW);
    gint64 v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void test_config_memo(Fixture *f, gconstpointer data G_GNUC_UNUSED)
{
    GError *err = NULL;
    gint64 pk_id = 0;
    add_pk(f, "pk", &pk_id);
    add_vk(f, "app", "aaaa", "pk", NULL, NULL, NULL);

    GwVirtualKey *vk = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "aaaa", &vk, &err), ==, GW_OK);
    g_assert_cmpstr(vk->status, ==, "active");
    gw_virtual_key_free(vk);
    GPtrArray *targets = NULL;
    g_assert_cmpint(gw_store_vk_targets(f->st, 1, &targets, &err), ==, GW_OK);
    g_assert_cmpuint(targets->len, ==, 1);
    g_assert_cmpint(((GwTarget *)g_ptr_array_index(targets, 0))->priority, ==, 0);
    g_ptr_array_unref(targets);

    /* Request-path writes (a log row) leave the version alone … */
    gint64 v1 = cfg_exec(f, "SELECT 1");
    gint64 v2 = cfg_exec(f, "INSERT INTO request_logs (request_id, created_at) VALUES ('r', 1)");
    g_assert_cmpint(v1, ==, v2);
    /* … a revocation by another connection is seen by the next lookup. */
    gint64 v3 = cfg_exec(f, "UPDATE virtual_keys SET status = 'revoked' WHERE name = 'app'");
    g_assert_cmpint(v3, >, v2);
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "aaaa", &vk, &err), ==, GW_OK);
    g_assert_cmpstr(vk->status, ==, "revoked");
    gw_virtual_key_free(vk);
    cfg_exec(f, "UPDATE vk_targets SET priority = 7");
    g_assert_cmpint(gw_store_vk_targets(f->st, 1, &targets, &err), ==, GW_OK);
    g_assert_cmpint(((GwTarget *)g_ptr_array_index(targets, 0))->priority, ==, 7);
    g_ptr_array_unref(targets);
    GwProviderKey *pk = NULL;
    g_assert_cmpint(gw_store_provider_key_get_by_id(f->st, pk_id, &pk, &err), ==, GW_OK);
    g_assert_cmpstr(pk->base_url, ==, NULL);
    gw_provider_key_free(pk);
    cfg_exec(f, "UPDATE provider_keys SET base_url = 'https://example.test/v1'");
    g_assert_cmpint(gw_store_provider_key_get_by_id(f->st, pk_id, &pk, &err), ==, GW_OK);
    g_assert_cmpstr(pk->base_url, ==, "https://example.test/v1");
    gw_provider_key_free(pk);
    /* Within one unit of work the configuration is read once: a change lands in the next one. */
    gw_store_work_begin(f->st);
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "aaaa", &vk, &err), ==, GW_OK);
    gw_virtual_key_free(vk);
    cfg_exec(f, "UPDATE virtual_keys SET status = 'active' WHERE name = 'app'");
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "aaaa", &vk, &err), ==, GW_OK);
    g_assert_cmpstr(vk->status, ==, "revoked");
    gw_virtual_key_free(vk);
    gw_store_work_end(f->st);
    gw_store_work_begin(f->st);
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "aaaa", &vk, &err), ==, GW_OK);
    g_assert_cmpstr(vk->status, ==, "active");
    gw_virtual_key_free(vk);
    gw_store_work_end(f->st);
    /* Copies handed out are the caller's: freeing them twice over memo hits stays clean. */
    for (int i = 0; i < 3; i++) {
        g_assert_cmpint(gw_store_provider_key_get_by_id(f->st, pk_id, &pk, &err), ==, GW_OK);
        gw_provider_key_free(pk);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define FTEST(path, fn) g_test_add(path, Fixture, NULL, fixture_setup, fn, fixture_teardown)
    FTEST("/store/migrate/idempotent", test_migrate_idempotent);
    g_test_add_func("/store/migrate/fresh-version-zero", test_fresh_version_zero);
    g_test_add_func("/store/open/not-a-database", test_open_not_a_database);
    FTEST("/store/provider-key/crud", test_provider_keys);
    FTEST("/store/provider-key/duplicate", test_provider_key_duplicate);
    FTEST("/store/provider-key/delete-in-use", test_provider_key_delete_in_use);
    FTEST("/store/vk/lifecycle", test_vk_lifecycle);
    FTEST("/store/vk/expires-last-used", test_vk_expires_and_last_used);
    FTEST("/store/injection-is-data", test_injection_is_data);
    FTEST("/store/logs/insert-list", test_logs);
    FTEST("/store/logs/batch-atomic", test_logs_batch_atomic);
    FTEST("/store/wal-truncate", test_wal_truncate);
    FTEST("/store/logs/attempts-cost", test_logs_attempts_cost);
    FTEST("/store/logs/tracking", test_logs_tracking);
    FTEST("/store/logs/query", test_logs_query);
    FTEST("/store/logs/keyset", test_logs_keyset);
    FTEST("/store/sessions", test_sessions);
    FTEST("/store/prompts", test_prompts);
    FTEST("/store/targets", test_targets);
    FTEST("/store/config-memo", test_config_memo);
    FTEST("/store/provider-key/delete-target", test_provider_key_delete_target);
    FTEST("/store/prices", test_prices);
    FTEST("/store/migrate/seed", test_migrate_seed);
    g_test_add_func("/store/migrate/from-v1", test_migrate_from_v1);
    FTEST("/ops/provider-keys", test_ops_provider_keys);
    FTEST("/ops/vk", test_ops_vk);
#undef FTEST
    return g_test_run();
}
