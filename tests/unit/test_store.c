/* test_store.c — the SQLite store and the operator actions on top of it, on a fresh database in
 * a temporary directory per test. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>

#include "crypto.h"
#include "ops.h"
#include "store.h"

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
    g_assert_cmpint(gw_store_provider_key_add(f->st, name, "openai", NULL, b, "\u2026abcd", id_out,
                                              &err),
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
                                              "http://127.0.0.1:9/v1", b, NULL, NULL, &err),
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
    g_assert_cmpint(gw_store_provider_key_add(f->st, "dup", "anthropic", NULL, b, NULL, NULL, &err),
                    ==, GW_EEXISTS);
    g_assert_error(err, GW_ERROR, GW_EEXISTS);
    g_assert_nonnull(strstr(err->message, "dup"));
    g_clear_error(&err);
    /* The CHECK constraint backs up the ops layer's provider validation. */
    g_assert_cmpint(
        gw_store_provider_key_add(f->st, "bad-kind", "azure", NULL, b, NULL, NULL, &err), ==,
        GW_EINVAL);
    g_clear_error(&err);
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
    g_assert_cmpint(json_object_size(r0), ==, 31);

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
    g_assert_cmpint(json_object_size(r1), ==, 31);
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
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "m", "mock", NULL, NULL, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "m2", "mock", "https://example.com", NULL, &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);

    /* real providers need a one-line secret of at most 4096 bytes */
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "o", "openai", NULL, "", &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "o", "openai", NULL, "sk-a\nX-Evil: 1", &err),
                    ==, GW_EINVAL);
    g_assert_null(strstr(err->message, "sk-a"));
    g_clear_error(&err);
    char *big = g_strnfill(4097, 'k');
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "o", "openai", NULL, big, &err), ==,
                    GW_ETOOBIG);
    g_clear_error(&err);
    big[4096] = '\0';
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "o", "openai", NULL, big, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_free(big);

    /* names, kinds, base URLs */
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "bad name", "openai", NULL, "sk-1", &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "x' OR '1'='1", "openai", NULL, "sk-1", &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    char *long_name = g_strnfill(65, 'a');
    g_assert_cmpint(gw_ops_provider_key_add(&ops, long_name, "openai", NULL, "sk-1", &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    long_name[64] = '\0';
    g_assert_cmpint(gw_ops_provider_key_add(&ops, long_name, "openai", NULL, "sk-1", &err), ==,
                    GW_OK);
    g_free(long_name);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "az", "azure", NULL, "sk-1", &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "c", "openai-compatible", NULL, "sk-1", &err),
                    ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "c", "openai-compatible",
                                            "http://127.0.0.1:8080/v1", "sk-1", &err),
                    !=, GW_OK); /* private upstreams not allowed */
    g_clear_error(&err);
    ops.allow_private_upstreams = TRUE;
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "c", "openai-compatible",
                                            "http://127.0.0.1:8080/v1/", "sk-1", &err),
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
    g_assert_cmpint(gw_ops_provider_key_add(&ops, "m", "mock", NULL, NULL, &err), ==, GW_OK);

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
    FTEST("/ops/provider-keys", test_ops_provider_keys);
    FTEST("/ops/vk", test_ops_vk);
#undef FTEST
    return g_test_run();
}
