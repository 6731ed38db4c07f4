/* test_store_logs.c — the admin's log search (every filter, keyset pages), log detail, sessions
 * and analytics (exact percentiles, buckets, breakdowns) on a fresh database per test. */
#include "config.h"

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <jansson.h>
#include <sqlite3.h>

#include "analytics.h"
#include "pathtree.h"
#include "store.h"
#include "store_logs.h"

#define T0 G_GINT64_CONSTANT(1699999200000) /* 2023-11-14 22:00 UTC, an hour boundary */
#define MIN_MS G_GINT64_CONSTANT(60000)

typedef struct {
    char *dir, *path;
    GwStore *st;
    gint64 vk_a, vk_b, agent, dept;
} Fixture;

static void raw_exec(Fixture *f, const char *sql)
{
    /* Test setup only: fixed SQL. */
    sqlite3 *db = NULL;
    g_assert_cmpint(sqlite3_open(f->path, &db), ==, SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    char *emsg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &emsg) != SQLITE_OK)
        g_error("setup SQL failed: %s", emsg);
    sqlite3_close(db);
}

static gint64 vk(Fixture *f, const char *name, const char *hash, const char *agent,
                 const char *dept)
{
    GwVkCreate p = {.name = name, .token_hash = hash, .token_prefix = "vk-x", .provider_key = "pk",
                    .agent = agent, .department = dept};
    gint64 id = 0;
    g_assert_cmpint(gw_store_vk_create(f->st, &p, &id, NULL), ==, GW_OK);
    return id;
}

static void setup(Fixture *f, gconstpointer d G_GNUC_UNUSED)
{
    f->dir = g_dir_make_tmp("alephant-logs-XXXXXX", NULL);
    f->path = g_build_filename(f->dir, "a.db", NULL);
    g_assert_cmpint(gw_store_open(f->path, &f->st, NULL), ==, GW_OK);
    g_assert_cmpint(gw_store_migrate(f->st, NULL), ==, GW_OK);
    GBytes *b = g_bytes_new("x", 1);
    g_assert_cmpint(gw_store_provider_key_add(f->st, "pk", "openai", NULL, NULL, b, "x", NULL, NULL),
                    ==, GW_OK);
    g_bytes_unref(b);
    f->vk_a = vk(f, "key-a", "h1", "bot", "sales");
    f->vk_b = vk(f, "key-b", "h2", NULL, NULL);
    GwVirtualKey *k = NULL;
    g_assert_cmpint(gw_store_vk_find_by_hash(f->st, "h1", &k, NULL), ==, GW_OK);
    f->agent = k->agent_id;
    f->dept = k->department_id;
    gw_virtual_key_free(k);
}

static void teardown(Fixture *f, gconstpointer d G_GNUC_UNUSED)
{
    gw_store_close(f->st);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (gsize i = 0; i < G_N_ELEMENTS(suffixes); i++) {
        char *p = g_strconcat(f->path, suffixes[i], NULL);
        g_unlink(p);
        g_free(p);
    }
    g_rmdir(f->dir);
    g_free(f->path);
    g_free(f->dir);
}

static void add_prop(GwLogRow *r, const char *name, const char *value)
{
    GwLogProperty *p = g_new(GwLogProperty, 1);
    p->name = g_strdup(name);
    p->value = g_strdup(value);
    g_ptr_array_add(r->properties, p);
}

/* Row i of the standard set: 12 rows a minute apart; even rows key-a (agent bot, department
 * sales) with gpt-4o-mini on openai, odd rows key-b with claude on anthropic; every third row
 * is a 429, row 5 a 500; rows 0-3 in session s1 (paths), rows 4-5 in s2; property env=prod on
 * even rows, env=dev on rows 1 and 3. */
static GwLogRow *std_row(Fixture *f, int i)
{
    GwLogRow *r = gw_log_row_new();
    g_snprintf(r->request_id, sizeof r->request_id, "00000000-0000-7000-8000-%012d", i);
    r->created_at = T0 + i * MIN_MS;
    r->latency_ms = 10 * (i + 1);
    r->virtual_key_id = i % 2 == 0 ? f->vk_a : f->vk_b;
    r->agent_id = i % 2 == 0 ? f->agent : 0;
    r->department_id = i % 2 == 0 ? f->dept : 0;
    r->provider = g_strdup(i % 2 == 0 ? "openai" : "anthropic");
    r->model = g_strdup(i % 2 == 0 ? "gpt-4o-mini" : "claude-sonnet-4");
    r->method = g_strdup("POST");
    r->path = g_strdup("/v1/chat/completions");
    r->status = i == 5 ? 500 : i % 3 == 0 ? 429 : 200;
    r->prompt_tokens = 10;
    r->completion_tokens = i;
    r->total_tokens = 10 + i;
    r->cost_nanos = 1000 * (i + 1);
    if (i < 4) {
        r->session_id = g_strdup("s1");
        r->session_path = g_strdup(i < 2 ? "/plan" : "/plan/step");
        r->session_name = g_strdup("Trip <planner>");
    } else if (i < 6) {
        r->session_id = g_strdup("s2");
    }
    if (i % 2 == 0)
        add_prop(r, "env", "prod");
    else if (i == 1 || i == 3)
        add_prop(r, "env", "dev");
    return r;
}

static void insert_std(Fixture *f)
{
    GwLogRow *rows[12];
    for (int i = 0; i < 12; i++)
        rows[i] = std_row(f, i);
    g_assert_cmpint(gw_store_log_insert(f->st, rows, 12, NULL), ==, GW_OK);
    for (int i = 0; i < 12; i++)
        gw_log_row_free(rows[i]);
    /* ids are 1..12 in row order; the cache marks rows 10 and 11 */
    raw_exec(f, "UPDATE request_logs SET cache_status = 'HIT', cache_saved_nanos = 500 WHERE id = 11;"
                "UPDATE request_logs SET cache_status = 'MISS' WHERE id = 12;");
}

/* Runs a search; returns the ids of the rows in order as "12,10,…". */
static char *ids(Fixture *f, const GwLogFilter *q, json_t **cursor)
{
    json_t *out = NULL;
    GError *err = NULL;
    g_assert_cmpint(gw_store_logs_search_json(f->st, q, &out, &err), ==, GW_OK);
    g_assert_no_error(err);
    GString *s = g_string_new(NULL);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(out, "rows"), i, r) {
        g_assert_null(json_object_get(r, "request_body"));
        g_string_append_printf(s, "%s%" JSON_INTEGER_FORMAT, i > 0 ? "," : "",
                               json_integer_value(json_object_get(r, "id")));
    }
    if (cursor != NULL)
        *cursor = json_incref(json_object_get(out, "next_cursor"));
    json_decref(out);
    return g_string_free(s, FALSE);
}

#define ASSERT_IDS(f, q, expect)                 \
    do {                                         \
        char *got_ = ids((f), (q), NULL);        \
        g_assert_cmpstr(got_, ==, (expect));     \
        g_free(got_);                            \
    } while (0)

static void test_search_pages(Fixture *f, gconstpointer d G_GNUC_UNUSED)
{
    insert_std(f);
    GwLogFilter q = {.limit = 5};
    json_t *cur = NULL;
    char *p1 = ids(f, &q, &cur);
    g_assert_cmpstr(p1, ==, "12,11,10,9,8");
    g_assert_cmpint(json_integer_value(cur), ==, 8);
    q.before_id = json_integer_value(cur);
    json_decref(cur);
    char *p2 = ids(f, &q, &cur);
    g_assert_cmpstr(p2, ==, "7,6,5,4,3");
    q.before_id = json_integer_value(cur);
    json_decref(cur);
    char *p3 = ids(f, &q, &cur);
    g_assert_cmpstr(p3, ==, "2,1");
    g_assert_true(json_is_null(cur));
    json_decref(cur);
    g_free(p1);
    g_free(p2);
    g_free(p3);
    /* exactly a page left: no cursor */
    q = (GwLogFilter){.limit = 2, .before_id = 3};
    char *p = ids(f, &q, &cur);
    g_assert_cmpstr(p, ==, "2,1");
    g_assert_true(json_is_null(cur));
    json_decref(cur);
    g_free(p);

    /* summary fields */
    json_t *out = NULL;
    q = (GwLogFilter){.limit = 1, .before_id = 2};
    g_assert_cmpint(gw_store_logs_search_json(f->st, &q, &out, NULL), ==, GW_OK);
    json_t *r = json_array_get(json_object_get(out, "rows"), 0);
    g_assert_cmpstr(json_string_value(json_object_get(r, "virtual_key")), ==, "key-a");
    g_assert_cmpstr(json_string_value(json_object_get(r, "agent")), ==, "bot");
    g_assert_cmpstr(json_string_value(json_object_get(r, "department")), ==, "sales");
    g_assert_cmpstr(json_string_value(json_object_get(r, "cost_usd")), ==, "0.000001000");
    g_assert_cmpstr(json_string_value(json_object_get(json_object_get(r, "properties"), "env")), ==,
                    "prod");
    json_decref(out);

    GError *err = NULL;
    q = (GwLogFilter){.limit = 0};
    g_assert_cmpint(gw_store_logs_search_json(f->st, &q, &out, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    q = (GwLogFilter){.limit = 5, .status = "9zz"};
    g_assert_cmpint(gw_store_logs_search_json(f->st, &q, &out, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    q = (GwLogFilter){.limit = 5, .cache_status = "hit' OR 1"};
    g_assert_cmpint(gw_store_logs_search_json(f->st, &q, &out, &err), ==, GW_EINVAL);
    g_clear_error(&err);
}

static void test_search_filters(Fixture *f, gconstpointer d G_GNUC_UNUSED)
{
    insert_std(f);
    raw_exec(f, "UPDATE request_logs SET status = NULL WHERE id = 3;");
    GwLogFilter q = {.limit = 50, .model = "claude-sonnet-4"};
    ASSERT_IDS(f, &q, "12,10,8,6,4,2");
    q = (GwLogFilter){.limit = 50, .provider = "openai"};
    ASSERT_IDS(f, &q, "11,9,7,5,3,1");
    q = (GwLogFilter){.limit = 50, .virtual_key = "key-b"};
    ASSERT_IDS(f, &q, "12,10,8,6,4,2");
    q = (GwLogFilter){.limit = 50, .virtual_key = "no-such-key"};
    ASSERT_IDS(f, &q, "");
    q = (GwLogFilter){.limit = 50, .agent = "bot"};
    ASSERT_IDS(f, &q, "11,9,7,5,3,1");
    q = (GwLogFilter){.limit = 50, .department = "sales", .model = "gpt-4o-mini"};
    ASSERT_IDS(f, &q, "11,9,7,5,3,1");
    /* rows 0,3,6,9 → ids 1,4,7,10 are 429; id 6 is 500; id 3 has no status */
    q = (GwLogFilter){.limit = 50, .status = "429"};
    ASSERT_IDS(f, &q, "10,7,4,1");
    q = (GwLogFilter){.limit = 50, .status = "4xx"};
    ASSERT_IDS(f, &q, "10,7,4,1");
    q = (GwLogFilter){.limit = 50, .status = "5xx"};
    ASSERT_IDS(f, &q, "6");
    q = (GwLogFilter){.limit = 50, .status = "error"};
    ASSERT_IDS(f, &q, "10,7,6,4,3,1");
    q = (GwLogFilter){.limit = 50, .status = "ok"};
    ASSERT_IDS(f, &q, "12,11,9,8,5,2");
    q = (GwLogFilter){.limit = 50, .session_id = "s1"};
    ASSERT_IDS(f, &q, "4,3,2,1");
    q = (GwLogFilter){.limit = 2, .session_id = "s1", .before_id = 4};
    ASSERT_IDS(f, &q, "3,2");
    q = (GwLogFilter){.limit = 50, .cache_status = "HIT"};
    ASSERT_IDS(f, &q, "11");
    q = (GwLogFilter){.limit = 50, .cache_status = "MISS"};
    ASSERT_IDS(f, &q, "12");
    q = (GwLogFilter){.limit = 50, .property_name = "env"};
    ASSERT_IDS(f, &q, "11,9,7,5,4,3,2,1");
    q = (GwLogFilter){.limit = 50, .property_name = "env", .property_value = "dev"};
    ASSERT_IDS(f, &q, "4,2");
    q = (GwLogFilter){.limit = 2, .property_name = "env", .property_value = "prod", .before_id = 9};
    ASSERT_IDS(f, &q, "7,5");
    q = (GwLogFilter){.limit = 50, .property_name = "env", .property_value = "prod",
                      .provider = "anthropic"};
    ASSERT_IDS(f, &q, "");
    q = (GwLogFilter){.limit = 50, .from_ms = T0 + 2 * MIN_MS, .to_ms = T0 + 5 * MIN_MS};
    ASSERT_IDS(f, &q, "5,4,3");
    q = (GwLogFilter){.limit = 50, .from_ms = T0 + 2 * MIN_MS, .to_ms = T0 + 5 * MIN_MS,
                      .session_id = "s1", .status = "error"};
    ASSERT_IDS(f, &q, "4,3");
}

static void test_detail(Fixture *f, gconstpointer d G_GNUC_UNUSED)
{
    GwLogRow *r = std_row(f, 0);
    r->stream = TRUE;
    r->request_body = g_strdup("{\"messages\":[{\"role\":\"user\",\"content\":\"<script>\"}]}");
    r->response_body = g_strdup("data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n"
                                "data: [DONE]\n\n");
    r->request_headers = g_strdup("{\"user-agent\":\"sdk\",\"x-trace\":\"1\"}");
    GwAttempt *a = gw_attempt_new();
    a->attempt = 1;
    a->provider = g_strdup("openai");
    a->status = 503;
    a->error_code = g_strdup("upstream_error");
    g_ptr_array_add(r->attempts, a);
    GwLogRow *o = std_row(f, 1);
    o->request_omitted = TRUE;
    o->response_omitted = TRUE;
    GwLogRow *rows[] = {r, o};
    g_assert_cmpint(gw_store_log_insert(f->st, rows, 2, NULL), ==, GW_OK);
    gw_log_row_free(r);
    gw_log_row_free(o);
    raw_exec(f, "UPDATE request_logs SET cache_status = 'HIT', cache_kind = 'semantic', "
                "cache_similarity = 0.97, cache_saved_nanos = 1500 WHERE id = 1;");

    json_t *dj = NULL;
    g_assert_cmpint(gw_store_log_detail_json(f->st, 1, &dj, NULL), ==, GW_OK);
    g_assert_cmpint(json_integer_value(json_object_get(dj, "id")), ==, 1);
    g_assert_cmpstr(json_string_value(json_object_get(dj, "virtual_key")), ==, "key-a");
    g_assert_cmpstr(json_string_value(json_object_get(dj, "provider_key")), ==, NULL);
    g_assert_true(json_is_true(json_object_get(dj, "stream")));
    g_assert_true(json_is_false(json_object_get(dj, "request_omitted")));
    g_assert_cmpstr(json_string_value(json_object_get(json_object_get(dj, "request_headers"),
                                                      "user-agent")), ==, "sdk");
    g_assert_nonnull(strstr(json_string_value(json_object_get(dj, "request_body")), "<script>"));
    g_assert_cmpstr(json_string_value(json_object_get(dj, "cache_status")), ==, "HIT");
    g_assert_cmpstr(json_string_value(json_object_get(dj, "cache_kind")), ==, "semantic");
    g_assert_cmpfloat(json_real_value(json_object_get(dj, "cache_similarity")), ==, 0.97);
    g_assert_cmpstr(json_string_value(json_object_get(dj, "cache_saved_usd")), ==, "0.000001500");
    g_assert_cmpstr(json_string_value(json_object_get(dj, "cost_usd")), ==, "0.000001000");
    g_assert_cmpint(json_integer_value(json_object_get(dj, "attempt_count")), ==, 1);
    json_t *att = json_array_get(json_object_get(dj, "attempts"), 0);
    g_assert_cmpint(json_integer_value(json_object_get(att, "status")), ==, 503);
    g_assert_cmpstr(json_string_value(json_object_get(json_object_get(dj, "properties"), "env")),
                    ==, "prod");
    g_assert_true(json_is_array(json_object_get(dj, "policy_decisions")));
    json_t *msg = json_object_get(dj, "response_message");
    g_assert_cmpstr(json_string_value(json_object_get(msg, "content")), ==, "Hi");
    json_decref(dj);

    g_assert_cmpint(gw_store_log_detail_json(f->st, 2, &dj, NULL), ==, GW_OK);
    g_assert_true(json_is_true(json_object_get(dj, "request_omitted")));
    g_assert_true(json_is_true(json_object_get(dj, "response_omitted")));
    g_assert_true(json_is_null(json_object_get(dj, "request_body")));
    g_assert_true(json_is_null(json_object_get(dj, "request_headers")));
    g_assert_true(json_is_null(json_object_get(dj, "response_message")));
    json_decref(dj);

    GError *err = NULL;
    g_assert_cmpint(gw_store_log_detail_json(f->st, 99, &dj, &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_log_detail_json(f->st, -1, &dj, &err), ==, GW_ENOTFOUND);
    g_clear_error(&err);
}

static void test_sessions(Fixture *f, gconstpointer d G_GNUC_UNUSED)
{
    insert_std(f);
    json_t *out = NULL;
    GwSessionQuery q = {.limit = 1};
    g_assert_cmpint(gw_store_sessions_query_json(f->st, &q, &out, NULL), ==, GW_OK);
    json_t *s = json_array_get(json_object_get(out, "sessions"), 0);
    g_assert_cmpstr(json_string_value(json_object_get(s, "session_id")), ==, "s2");
    g_assert_cmpint(json_integer_value(json_object_get(s, "requests")), ==, 2);
    g_assert_cmpint(json_integer_value(json_object_get(s, "errors")), ==, 1);
    json_t *cur = json_object_get(out, "next_cursor");
    g_assert_cmpint(json_integer_value(json_object_get(cur, "last_at")), ==, T0 + 5 * MIN_MS);
    q.before_last_at = json_integer_value(json_object_get(cur, "last_at"));
    char *bs = g_strdup(json_string_value(json_object_get(cur, "session_id")));
    q.before_session = bs;
    json_decref(out);
    g_assert_cmpint(gw_store_sessions_query_json(f->st, &q, &out, NULL), ==, GW_OK);
    s = json_array_get(json_object_get(out, "sessions"), 0);
    g_assert_cmpstr(json_string_value(json_object_get(s, "session_id")), ==, "s1");
    g_assert_cmpstr(json_string_value(json_object_get(s, "name")), ==, "Trip <planner>");
    g_assert_cmpint(json_integer_value(json_object_get(s, "requests")), ==, 4);
    g_assert_cmpint(json_integer_value(json_object_get(s, "cost_nanos")), ==, 10000);
    g_assert_cmpint(json_integer_value(json_object_get(s, "duration_ms")), ==, 3 * MIN_MS + 40);
    g_assert_true(json_is_null(json_object_get(out, "next_cursor")));
    json_decref(out);
    g_free(bs);

    q = (GwSessionQuery){.limit = 10, .from_ms = T0 + 4 * MIN_MS};
    g_assert_cmpint(gw_store_sessions_query_json(f->st, &q, &out, NULL), ==, GW_OK);
    g_assert_cmpuint(json_array_size(json_object_get(out, "sessions")), ==, 1);
    json_decref(out);

    json_t *paths = NULL;
    g_assert_cmpint(gw_store_session_paths_json(f->st, "s1", &paths, NULL), ==, GW_OK);
    g_assert_cmpuint(json_array_size(paths), ==, 2);
    json_t *tree = gw_path_tree(paths);
    json_t *plan = json_array_get(json_object_get(tree, "children"), 0);
    g_assert_cmpstr(json_string_value(json_object_get(plan, "path")), ==, "/plan");
    g_assert_cmpint(json_integer_value(json_object_get(plan, "requests")), ==, 2);
    g_assert_cmpint(json_integer_value(json_object_get(plan, "total_requests")), ==, 4);
    json_decref(tree);
    json_decref(paths);
}

static json_int_t geti(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    g_assert_true(json_is_integer(v));
    return json_integer_value(v);
}

static void test_analytics(Fixture *f, gconstpointer d G_GNUC_UNUSED)
{
    /* Hour 0: ten requests with latencies 10..100 ms, in shuffled order; hour 2: two with 7 and
     * 3 ms; hour 1 empty. */
    int lat0[] = {70, 10, 100, 40, 20, 90, 30, 60, 80, 50};
    GwLogRow *rows[12];
    for (int i = 0; i < 12; i++) {
        rows[i] = std_row(f, i);
        if (i < 10) {
            rows[i]->created_at = T0 + i * MIN_MS;
            rows[i]->latency_ms = lat0[i];
        } else {
            rows[i]->created_at = T0 + 2 * 60 * MIN_MS + i;
            rows[i]->latency_ms = i == 10 ? 7 : 3;
        }
    }
    g_assert_cmpint(gw_store_log_insert(f->st, rows, 12, NULL), ==, GW_OK);
    for (int i = 0; i < 12; i++)
        gw_log_row_free(rows[i]);
    raw_exec(f, "UPDATE request_logs SET cache_status = 'HIT', cache_saved_nanos = 500 WHERE id IN (1, 2);"
                "UPDATE request_logs SET cache_status = 'MISS' WHERE id IN (3, 4, 5, 6);");

    json_t *out = NULL;
    GError *err = NULL;
    /* from mid-hour: widened to whole hours */
    g_assert_cmpint(gw_store_analytics_series_json(f->st, T0 + 5 * MIN_MS, T0 + 3 * 60 * MIN_MS,
                                                   &out, &err), ==, GW_OK);
    g_assert_no_error(err);
    g_assert_cmpstr(json_string_value(json_object_get(out, "bucket")), ==, "hour");
    g_assert_cmpint(geti(out, "from"), ==, T0);
    json_t *series = json_object_get(out, "series");
    g_assert_cmpuint(json_array_size(series), ==, 3);
    json_t *h0 = json_array_get(series, 0), *h1 = json_array_get(series, 1),
           *h2 = json_array_get(series, 2);
    g_assert_cmpint(geti(h0, "start"), ==, T0);
    g_assert_cmpint(geti(h0, "requests"), ==, 10);
    g_assert_cmpint(geti(h0, "latency_p50_ms"), ==, 50);  /* rank 5 of 10 */
    g_assert_cmpint(geti(h0, "latency_p95_ms"), ==, 100); /* rank 10 of 10 */
    g_assert_cmpint(geti(h0, "cost_nanos"), ==, 55000);
    g_assert_cmpint(geti(h0, "prompt_tokens"), ==, 100);
    g_assert_cmpint(geti(h0, "completion_tokens"), ==, 45);
    /* rows 0,3,6,9 are 429, row 5 is 500 */
    g_assert_cmpint(geti(h0, "errors"), ==, 5);
    g_assert_cmpfloat(json_real_value(json_object_get(h0, "error_rate")), ==, 0.5);
    g_assert_cmpint(geti(h0, "cache_hits"), ==, 2);
    g_assert_cmpint(geti(h0, "cache_lookups"), ==, 6);
    g_assert_cmpfloat_with_epsilon(json_real_value(json_object_get(h0, "cache_hit_rate")), 1.0 / 3, 1e-12);
    g_assert_cmpint(geti(h0, "cache_saved_nanos"), ==, 1000);
    g_assert_cmpint(geti(h1, "requests"), ==, 0);
    g_assert_true(json_is_null(json_object_get(h1, "latency_p50_ms")));
    g_assert_cmpint(geti(h1, "start"), ==, T0 + 60 * MIN_MS);
    g_assert_cmpint(geti(h2, "latency_p50_ms"), ==, 3);  /* rank 1 of 2 */
    g_assert_cmpint(geti(h2, "latency_p95_ms"), ==, 7);  /* rank 2 of 2 */
    g_assert_true(json_is_null(json_object_get(h2, "cache_hit_rate")));
    json_t *tot = json_object_get(out, "totals");
    g_assert_cmpint(geti(tot, "requests"), ==, 12);
    g_assert_cmpint(geti(tot, "latency_p50_ms"), ==, 40);  /* sorted 3,7,10..100: rank 6 → 40 */
    g_assert_cmpint(geti(tot, "latency_p95_ms"), ==, 100); /* rank 12 */
    char *csv = gw_analytics_series_csv(out);
    g_assert_nonnull(strstr(csv, "2023-11-14T22:00:00Z,10,0.000055000,100,45,145,5,0.5,50,100,2,6,"));
    g_free(csv);
    json_decref(out);

    /* a long range uses days */
    g_assert_cmpint(gw_store_analytics_series_json(f->st, T0, T0 + 7 * 24 * 60 * MIN_MS, &out, NULL),
                    ==, GW_OK);
    g_assert_cmpstr(json_string_value(json_object_get(out, "bucket")), ==, "day");
    g_assert_cmpuint(json_array_size(json_object_get(out, "series")), >=, 7);
    json_decref(out);

    /* breakdowns */
    g_assert_cmpint(gw_store_analytics_breakdown_json(f->st, T0, T0 + 3 * 60 * MIN_MS,
                                                      GW_DIM_MODEL, NULL, 10, &out, NULL), ==, GW_OK);
    json_t *br = json_object_get(out, "rows");
    g_assert_cmpuint(json_array_size(br), ==, 2);
    json_t *m0 = json_array_get(br, 0);
    /* equal counts: by key */
    g_assert_cmpstr(json_string_value(json_object_get(m0, "key")), ==, "claude-sonnet-4");
    g_assert_cmpint(geti(m0, "requests"), ==, 6);
    /* odd rows: latencies 10,40,90,60,50 and 3 → sorted 3,10,40,50,60,90: p50 rank 3 = 40 */
    g_assert_cmpint(geti(m0, "latency_p50_ms"), ==, 40);
    g_assert_cmpint(geti(m0, "latency_p95_ms"), ==, 90);
    json_decref(out);

    g_assert_cmpint(gw_store_analytics_breakdown_json(f->st, T0, T0 + 3 * 60 * MIN_MS,
                                                      GW_DIM_VIRTUAL_KEY, NULL, 1, &out, NULL), ==, GW_OK);
    g_assert_cmpuint(json_array_size(json_object_get(out, "rows")), ==, 1);
    json_decref(out);

    g_assert_cmpint(gw_store_analytics_breakdown_json(f->st, T0, T0 + 3 * 60 * MIN_MS,
                                                      GW_DIM_PROPERTY, "env", 10, &out, NULL), ==, GW_OK);
    br = json_object_get(out, "rows");
    g_assert_cmpuint(json_array_size(br), ==, 3); /* prod 6, null 4, dev 2 */
    g_assert_cmpstr(json_string_value(json_object_get(json_array_get(br, 0), "key")), ==, "prod");
    g_assert_cmpint(geti(json_array_get(br, 0), "requests"), ==, 6);
    g_assert_true(json_is_null(json_object_get(json_array_get(br, 1), "key")));
    g_assert_cmpint(geti(json_array_get(br, 1), "requests"), ==, 4);
    g_assert_cmpstr(json_string_value(json_object_get(json_array_get(br, 2), "key")), ==, "dev");
    csv = gw_analytics_breakdown_csv(out);
    g_assert_true(g_str_has_prefix(csv, "property:env,"));
    g_free(csv);
    json_decref(out);

    g_assert_cmpint(gw_store_analytics_breakdown_json(f->st, T0, T0 + 1, GW_DIM_PROPERTY, NULL, 10,
                                                      &out, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_analytics_series_json(f->st, T0, T0, &out, &err), ==, GW_EINVAL);
    g_clear_error(&err);
    g_assert_cmpint(gw_store_analytics_series_json(f->st, 0, 500 * GW_DAY_MS, &out, &err), ==,
                    GW_EINVAL);
    g_clear_error(&err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
#define FTEST(p, fn) g_test_add(p, Fixture, NULL, setup, fn, teardown)
    FTEST("/store-logs/search/pages", test_search_pages);
    FTEST("/store-logs/search/filters", test_search_filters);
    FTEST("/store-logs/detail", test_detail);
    FTEST("/store-logs/sessions", test_sessions);
    FTEST("/store-logs/analytics", test_analytics);
    return g_test_run();
}
