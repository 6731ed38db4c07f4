/* cache.c — the response cache in the request path.
 *
 * - Lookup (after policies and rate limits): the cache headers are parsed (400 naming a bad
 *   one); the scope is the virtual key (or its agent or department, [cache] scope); with N
 *   buckets the N slot keys are read: any empty slot makes a miss that will be saved into the
 *   first slot still free when it is written (claimed atomically in the cache database, so
 *   concurrent misses never overwrite each other), all N filled make a hit served from a slot
 *   chosen at random. With semantic
 *   caching configured, an exact miss embeds the prompt text (through the embeddings key's own
 *   provider target, /v1/embeddings) and searches the scope's vectors of the same group.
 * - A hit answers with the stored status, content type and body (a stream is replayed event by
 *   event), writes its log row (tokens as stored, cost 0, the saved cost in cache_saved_nanos)
 *   and skips budget and upstream.
 * - A miss captures what the client is sent and saves it after a complete 2xx answer.
 * - The cache database is per worker thread, opened on first use; any storage failure makes the
 *   request a miss (logged once per thread), never an error.
 * - Time: real time, plus a test-only offset read from $ALEPHANT_TEST_CACHE_CLOCK_OFFSET_FILE
 *   (seconds) when that variable is set, so integration tests can expire entries. */
#include "config.h"
#include "cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "cache_key.h"
#include "cache_opts.h"
#include "cache_store.h"
#include "cache_vec.h"
#include "budget.h"
#include "cost.h"
#include "netaddr.h"
#include "uuid.h"
#include "providers/provider.h"

#define MIB (G_GINT64_CONSTANT(1024) * 1024)
/* Answers larger than this are not cached. */
#define CACHE_ENTRY_MAX (32 * MIB)
#define EMBED_RESPONSE_MAX (8 * MIB)
#define EMBED_TIMEOUT_MS 30000
#define EMBED_TEXT_MAX (1 * MIB)

typedef struct GwCallCache {
    GwCacheOpts opts;
    char *scope;
    char seed_hash[GW_CACHE_KEY_HEX_LEN + 1];
    GwCacheKeyInput key_in;
    gboolean looked_up;         /* a lookup ran: the response carries alephant-cache */
    gboolean hit;
    const char *kind;           /* "exact" | "semantic" on a hit */
    GwCacheEntry *entry;        /* the entry served on a hit */
    double similarity;          /* semantic hit, else -1 */
    gint64 latency_ms;
    int save_slot;              /* -1 = do not save; else the first free slot seen, or the
                                 * slot to refresh (save_refresh) */
    gboolean save_refresh;      /* save-only with every slot filled: replace save_slot */
    /* The slots' keys, derived at lookup, before providers change the body. */
    char slot_keys[GW_CACHE_BUCKETS_MAX][GW_CACHE_KEY_HEX_LEN + 1];
    GString *capture;           /* bytes sent to the client, while saving */
    gboolean capture_over;      /* larger than an entry may be: not saved */
    char *content_type;
    char sem_group[GW_CACHE_KEY_HEX_LEN + 1];
    float *vector;              /* the prompt's unit vector (semantic), owned */
    gsize dims;
    char latency_s[24], bucket_s[16], similarity_s[24];
} GwCallCache;

/* ---- clock ---- */

static gint64 now_ms(void)
{
    gint64 now = g_get_real_time() / 1000;
    const char *f = g_getenv("ALEPHANT_TEST_CACHE_CLOCK_OFFSET_FILE");
    if (f != NULL && *f != '\0') {
        char *text = NULL;
        gint64 off = 0;
        if (g_file_get_contents(f, &text, NULL, NULL) &&
            g_ascii_string_to_signed(g_strstrip(text), 10, -(G_GINT64_CONSTANT(1) << 40),
                                     G_GINT64_CONSTANT(1) << 40, &off, NULL))
            now += off * 1000;
        g_free(text);
    }
    return now;
}

/* ---- the worker's cache database ---- */

static GwCacheStore *worker_store(GwWorker *w)
{
    if (w->cache_store == NULL && !w->cache_store_failed) {
        GError *err = NULL;
        if (gw_cache_store_open(w->proc->conf->cache_path, &w->cache_store, &err) != GW_OK) {
            g_warning("response cache disabled for this thread: %s", err->message);
            g_error_free(err);
            w->cache_store_failed = TRUE;
        }
    }
    return w->cache_store;
}

void gw_cache_worker_close(GwWorker *w)
{
    gw_cache_store_close(w->cache_store);
    w->cache_store = NULL;
}

static void store_warning(const char *what, GError *err)
{
    g_warning("response cache: %s: %s (answering from upstream)", what,
              err != NULL ? err->message : "?");
    g_clear_error(&err);
}

/* ---- semantic index: per process, per group, refreshed from the database ----
 * Each group's GwVecIndex holds only the int8 copy of its vectors with their ids (dims + 16
 * bytes a vector); the float32 vectors of the few rows a search re-ranks are read back from
 * cache.db by id, on the searching request thread's own connection. A read-write lock: searches
 * (≈ 10 ms at 100,000 × 1536 dims) run side by side; the write lock is taken only when the
 * database holds vectors newer than the index (or to rebuild it). */

typedef struct {
    GwVecIndex *ix; /* NULL until the first vector fixes the size */
    gint64 max_id;  /* every vector with a row id up to this has been considered */
} SemGroup;

static pthread_rwlock_t sem_lock = PTHREAD_RWLOCK_INITIALIZER;
static GHashTable *sem_groups; /* group hex → SemGroup*, under sem_lock */

static void sem_group_free(gpointer p)
{
    SemGroup *g = p;
    gw_vec_index_free(g->ix);
    g_free(g);
}

static gint64 sem_group_len(const SemGroup *g)
{
    return g->ix != NULL ? (gint64)gw_vec_index_len(g->ix) : 0;
}

static void sem_add(gint64 id, const float *v, gsize dims, gpointer ud)
{
    SemGroup *g = ud;
    if (g->ix == NULL)
        g->ix = gw_vec_index_new(dims);
    g->max_id = MAX(g->max_id, id);
    if (dims != gw_vec_index_dims(g->ix))
        return; /* another embedding model's size: never comparable */
    gw_vec_index_add(g->ix, id, v);
}

/* Brings the group's index up to the database (newest vector id `last`), under the write
 * lock. Rows evicted or purged stay in memory until a rebuild (a search finds their vectors
 * gone: no match): rebuild once the group has grown well past what the database may keep. */
static GwStatus sem_refresh(GwCacheStore *st, const char *group, gint64 last, gint64 max_entries,
                            GError **err)
{
    GwStatus gs = GW_OK;
    pthread_rwlock_wrlock(&sem_lock);
    if (sem_groups == NULL)
        sem_groups = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, sem_group_free);
    SemGroup *g = g_hash_table_lookup(sem_groups, group);
    if (g != NULL && sem_group_len(g) > 2 * max_entries) {
        g_hash_table_remove(sem_groups, group);
        g = NULL;
    }
    if (g == NULL) {
        g = g_new0(SemGroup, 1);
        g_hash_table_insert(sem_groups, g_strdup(group), g);
    }
    if (g->max_id < last) {
        gs = gw_cache_store_vectors(st, group, g->max_id, now_ms(), sem_add, g, err);
        if (gs == GW_OK)
            g->max_id = MAX(g->max_id, last);
        if (g->ix != NULL)
            gw_vec_index_trim(g->ix);
    }
    pthread_rwlock_unlock(&sem_lock);
    return gs;
}

/* The re-rank's source of float32 vectors: the searching thread's cache database. */
typedef struct {
    GwCacheStore *st;
    const char *group;
    gsize dims;
    gint64 now;
    GError *err; /* a storage failure: no further reads, the lookup is a miss */
} SemFetch;

static gboolean sem_fetch(gpointer user, gsize row, gint64 id, float *out)
{
    SemFetch *f = user;
    (void)row;
    if (f->err != NULL)
        return FALSE;
    GError *err = NULL;
    GwStatus gs = gw_cache_store_vector_get(f->st, id, f->group, f->now, out, f->dims, &err);
    if (gs == GW_OK)
        return TRUE;
    if (gs == GW_ENOTFOUND)
        g_clear_error(&err); /* evicted, purged or expired since it was indexed: no match */
    else
        f->err = err;
    return FALSE;
}

/* Row id of the group's best vector for v when its cosine reaches floor (*sim), else -1. */
static gint64 sem_search(GwCacheStore *st, const char *group, const float *v, gsize dims,
                         gint64 max_entries, float floor, float *sim, GError **err)
{
    gint64 last = 0;
    if (gw_cache_store_last_vector_id(st, group, &last, err) != GW_OK)
        return -1;
    if (last == 0)
        return -1; /* the group has no vectors */
    pthread_rwlock_rdlock(&sem_lock);
    SemGroup *g = sem_groups != NULL ? g_hash_table_lookup(sem_groups, group) : NULL;
    gboolean stale = g == NULL || g->max_id < last || sem_group_len(g) > 2 * max_entries;
    pthread_rwlock_unlock(&sem_lock);
    if (stale && sem_refresh(st, group, last, max_entries, err) != GW_OK)
        return -1;
    gint64 best_id = -1;
    SemFetch fetch = {.st = st, .group = group, .dims = dims, .now = now_ms()};
    pthread_rwlock_rdlock(&sem_lock);
    g = g_hash_table_lookup(sem_groups, group);
    if (g != NULL && g->ix != NULL && gw_vec_index_dims(g->ix) == dims) {
        gssize at = gw_vec_index_search(g->ix, v, floor, sem_fetch, &fetch, sim, NULL);
        if (at >= 0)
            best_id = gw_vec_index_id(g->ix, (gsize)at);
    }
    pthread_rwlock_unlock(&sem_lock);
    if (fetch.err != NULL) {
        g_propagate_error(err, fetch.err);
        return -1;
    }
    return best_id;
}

/* ---- the embedding call ---- */

static size_t embed_body(char *buf, size_t size, size_t n, void *ud)
{
    GString *s = ud;
    size_t len = size * n;
    if (s->len + len > EMBED_RESPONSE_MAX)
        return 0;
    g_string_append_len(s, buf, (gssize)len);
    return len;
}

static curl_socket_t embed_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *addr)
{
    (void)purpose;
    const GwConf *conf = ud;
    if (!conf->allow_private_upstreams && gw_addr_is_private(&addr->addr))
        return CURL_SOCKET_BAD;
    return socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

/* The virtual key the embedding call uses: Alephant-Embeddings-Key, else the request's own. It
 * must be active, unexpired and allowed the embeddings model. *out is the caller's. */
static gboolean embeddings_vk(GwCall *call, const char *model, GwVirtualKey **out)
{
    const char *given = call->cache->opts.emb_key;
    if (given == NULL) {
        *out = NULL;
        return TRUE; /* the request's own key */
    }
    if (g_ascii_strncasecmp(given, "Bearer ", 7) == 0)
        given += 7;
    if (!gw_vk_is_well_formed(given, strlen(given)))
        return FALSE;
    char hash[GW_SHA256_HEX_LEN + 1];
    gw_sha256_hex(given, strlen(given), hash);
    GwVirtualKey *vk = NULL;
    if (gw_store_vk_find_by_hash(call->worker->store, hash, &vk, NULL) != GW_OK)
        return FALSE;
    gint64 now = g_get_real_time() / 1000;
    gboolean ok = gw_ct_equal(hash, vk->token_hash, GW_SHA256_HEX_LEN) &&
                  strcmp(vk->status, "active") == 0 &&
                  (vk->expires_at == 0 || vk->expires_at > now) &&
                  (vk->allowed_models == NULL ||
                   g_strv_contains((const char *const *)vk->allowed_models, model));
    if (!ok) {
        gw_virtual_key_free(vk);
        return FALSE;
    }
    *out = vk;
    return TRUE;
}

/* ---- the embedding call's own log row and budget charge ----
 * The embedding call is an upstream call like any other: it gets its own log row (a request to
 * POST /v1/embeddings by the embeddings key, with its tokens and cost from the price table, in
 * the request's session, linked to it by the property cache_embedding_for = the request's
 * alephant-id), and its cost is reserved and settled against the embeddings key's budgets (and
 * its agent's and department's) like a request of that key. A budget that refuses it makes the
 * lookup a miss. */

typedef struct {
    GwLogRow *row;
    char reservation[GW_UUID_STR_LEN + 1];
    gboolean reserved, priced;
} EmbedCharge;

/* The price of model (or, when it has none, of the name sent upstream) in force now. */
static gboolean embed_price(GwWorker *w, const char *model, const char *upstream, gint64 now,
                            GwPrice *price)
{
    const char *models[] = {upstream, model};
    for (guint i = 0; i < G_N_ELEMENTS(models); i++)
        if (models[i] != NULL && gw_store_price_find(w->store, models[i], now, price, NULL) == GW_OK)
            return TRUE;
    return FALSE;
}

/* Starts the row and reserves the call's most possible cost (every byte of the text a token)
 * against vk's budgets. FALSE when a budget refuses it (or cannot be checked): no call. */
static gboolean embed_charge_begin(GwCall *call, const GwVirtualKey *vk, const GwProviderKey *pk,
                                   const char *model, const char *upstream, gsize text_len,
                                   EmbedCharge *ch)
{
    GwWorker *w = call->worker;
    const GwLogRow *parent = call->log;
    GwLogRow *row = ch->row = gw_log_row_new();
    gw_uuid_v7(row->request_id);
    row->created_at = g_get_real_time() / 1000;
    row->virtual_key_id = vk->id;
    row->agent_id = vk->agent_id;
    row->department_id = vk->department_id;
    row->provider_key_id = pk->id;
    row->provider = g_strdup(pk->provider);
    row->model = g_strdup(model);
    row->method = g_strdup("POST");
    row->path = g_strdup("/v1/embeddings");
    row->client_ip = g_strdup(parent->client_ip);
    row->user_agent = g_strdup(parent->user_agent);
    row->session_id = g_strdup(parent->session_id);
    row->session_path = g_strdup(parent->session_path);
    row->session_name = g_strdup(parent->session_name);
    GwLogProperty *lp = g_new(GwLogProperty, 1);
    lp->name = g_strdup("cache_embedding_for");
    lp->value = g_strdup(parent->request_id);
    g_ptr_array_add(row->properties, lp);

    GwPrice price = {0};
    ch->priced = embed_price(w, model, upstream, row->created_at, &price);
    gint64 amount = ch->priced ? gw_budget_estimate_nanos(&price, (gint64)text_len + 16, 0)
                               : G_MAXINT64 / 4;
    gw_price_clear(&price);
    g_strlcpy(ch->reservation, row->request_id, sizeof ch->reservation);
    gint64 ttl = (gint64)EMBED_TIMEOUT_MS + 10000;
    GwBudgetBlock blocked = {0};
    GError *err = NULL;
    GwStatus st = gw_store_budget_reserve(w->store, vk->id, vk->agent_id, vk->department_id,
                                          ch->reservation, amount, row->created_at, ttl,
                                          &blocked, &err);
    gw_budget_block_clear(&blocked);
    if (st != GW_OK) {
        g_debug("semantic cache: the embeddings key's budget refused the embedding call: %s",
                err != NULL ? err->message : "exceeded");
        g_clear_error(&err);
        return FALSE;
    }
    ch->reserved = TRUE;
    return TRUE;
}

/* Completes the row from the answer (obj may be NULL), prices it, settles the reservation and
 * hands the row to the logger. */
static void embed_charge_end(GwCall *call, EmbedCharge *ch, const char *upstream, long status,
                             CURLcode rc, json_t *obj, gint64 t0_us)
{
    GwWorker *w = call->worker;
    GwLogRow *row = ch->row;
    row->latency_ms = (g_get_monotonic_time() - t0_us) / 1000;
    row->status = status > 0 ? (int)status : 502;
    if (rc != CURLE_OK || status < 200 || status >= 300) {
        row->error_code = g_strdup(rc == CURLE_OPERATION_TIMEDOUT ? "upstream_timeout"
                                   : rc != CURLE_OK ? "upstream_unreachable"
                                                    : "upstream_error");
        row->error_message = g_strdup(rc != CURLE_OK ? curl_easy_strerror(rc)
                                                     : "The embeddings provider answered an error");
    }
    json_t *usage = json_object_get(obj, "usage");
    json_t *pt = json_object_get(usage, "prompt_tokens"), *tt = json_object_get(usage, "total_tokens");
    if (json_is_integer(pt) && json_integer_value(pt) >= 0) {
        row->prompt_tokens = json_integer_value(pt);
        row->completion_tokens = 0;
        row->total_tokens = json_is_integer(tt) && json_integer_value(tt) >= 0
                                ? json_integer_value(tt) : row->prompt_tokens;
    }
    gint64 actual = 0;
    GwPrice price = {0};
    if (row->prompt_tokens < 0) {
        /* No usage: an error costs nothing; a success keeps its reservation (fail safe). */
        if (status >= 200 && status < 300)
            row->cost_flag = g_strdup("no_usage");
        actual = status >= 200 && status < 300 && ch->priced ? -1 : 0;
    } else if (embed_price(w, row->model, upstream, row->created_at, &price)) {
        row->cost_nanos = gw_cost_nanos(&price, row->prompt_tokens, -1, 0);
        actual = row->cost_nanos;
    } else {
        row->cost_flag = g_strdup("unknown_model");
    }
    gw_price_clear(&price);
    if (ch->reserved) {
        GError *err = NULL;
        if (gw_store_budget_settle(w->store, ch->reservation, actual, g_get_real_time() / 1000,
                                   &err) != GW_OK) {
            g_warning("budget settlement of an embedding call failed: %s", err->message);
            g_error_free(err);
        }
    }
    gw_logger_submit(w->proc->logger, row);
    ch->row = NULL;
}

/* Embeds text with model through the first target of the embeddings key: a unit vector in
 * *out (g_free) and its size, or FALSE (the caller treats it as a miss). */
static gboolean embed(GwCall *call, const char *model, const char *text, float **out, gsize *dims)
{
    GwWorker *w = call->worker;
    const GwConf *conf = w->proc->conf;
    GwVirtualKey *own = NULL;
    if (!embeddings_vk(call, model, &own))
        return FALSE;
    const GwVirtualKey *vk = own != NULL ? own : call->vk;
    if (own == NULL && vk->allowed_models != NULL &&
        !g_strv_contains((const char *const *)vk->allowed_models, model))
        return FALSE;
    GPtrArray *targets = NULL;
    EmbedCharge charge = {0};
    gboolean ok = FALSE;
    GwProviderKey *pk = NULL;
    char *secret = NULL, *url = NULL;
    struct curl_slist *headers = NULL;
    GString *resp = g_string_new(NULL);
    if (gw_store_vk_targets(w->store, vk->id, &targets, NULL) != GW_OK || targets->len == 0)
        goto out;
    const GwTarget *t = g_ptr_array_index(targets, 0);
    if (gw_store_provider_key_get_by_id(w->store, t->provider_key_id, &pk, NULL) != GW_OK)
        goto out;
    const GwProvider *prov = gw_provider_lookup(pk->provider);
    if (prov == NULL || prov->serve != NULL || strcmp(prov->kind, "anthropic") == 0)
        goto out; /* the mock and Anthropic have no embeddings endpoint */
    gsize blen;
    const void *blob = g_bytes_get_data(pk->secret_enc, &blen);
    if (gw_secret_decrypt(w->proc->master_key, blob, blen, &secret, NULL) != GW_OK)
        goto out;
    const char *mapped = t->model_map != NULL
                             ? json_string_value(json_object_get(t->model_map, model)) : NULL;
    /* The provider builds the URL and credential from a call aimed at /v1/embeddings. */
    GwCall sub = {
        .worker = w,
        .req = call->req,
        .log = call->log,
        .vk = (GwVirtualKey *)vk,
        .pk = pk,
        .secret = secret,
        .provider = prov,
        .path = (char *)"/v1/embeddings",
        .path_query = (char *)"/v1/embeddings",
        .upstream_model = (char *)(mapped != NULL ? mapped : model),
    };
    url = prov->upstream_url(&sub);
    headers = prov->add_auth(NULL, &sub);
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:");
    if (!embed_charge_begin(call, vk, pk, model, sub.upstream_model, strlen(text), &charge))
        goto out;
    gint64 t0 = g_get_monotonic_time();
    json_t *req = json_pack("{s:s, s:s}", "model", sub.upstream_model, "input", text);
    char *body = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    CURL *c = w->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR,
                     conf->allow_private_upstreams ? "http,https" : "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)conf->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)MIN(conf->request_timeout_ms, EMBED_TIMEOUT_MS));
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, embed_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, embed_open_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, (void *)conf);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    free(body);
    json_t *obj = rc == CURLE_OK ? json_loadb(resp->str, resp->len, 0, NULL) : NULL;
    embed_charge_end(call, &charge, sub.upstream_model, status, rc, obj, t0);
    if (rc != CURLE_OK || status < 200 || status >= 300) {
        g_debug("embedding call failed: curl %d, status %ld", (int)rc, status);
        json_decref(obj);
        goto out;
    }
    json_t *emb = json_object_get(json_array_get(json_object_get(obj, "data"), 0), "embedding");
    ok = gw_vec_from_json(emb, out, dims, NULL) == GW_OK;
    json_decref(obj);
out:
    gw_log_row_free(charge.row); /* only when the call was never made */
    for (struct curl_slist *l = headers; l != NULL; l = l->next)
        memset(l->data, 0, strlen(l->data)); /* one of them holds the provider secret */
    curl_slist_free_all(headers);
    g_free(url);
    gw_secret_free(secret);
    gw_provider_key_free(pk);
    if (targets != NULL)
        g_ptr_array_unref(targets);
    gw_virtual_key_free(own);
    g_string_free(resp, TRUE);
    return ok;
}

/* ---- lookup ---- */

static char *scope_of(const GwCall *call)
{
    const char *s = call->worker->proc->conf->cache_scope;
    const GwVirtualKey *vk = call->vk;
    if (strcmp(s, "agent") == 0 && vk->agent_id > 0)
        return g_strdup_printf("agent:%" G_GINT64_FORMAT, vk->agent_id);
    if (strcmp(s, "department") == 0 && vk->department_id > 0)
        return g_strdup_printf("department:%" G_GINT64_FORMAT, vk->department_id);
    return g_strdup_printf("vk:%" G_GINT64_FORMAT, vk->id);
}

/* The embeddings model when the semantic cache applies to this request, else NULL. */
static const char *semantic_model(const GwCall *call)
{
    const GwConf *conf = call->worker->proc->conf;
    if (!conf->cache_semantic || !json_is_object(call->json))
        return NULL;
    const char *m = call->cache->opts.emb_model;
    if (m == NULL && conf->cache_embeddings_model[0] != '\0')
        m = conf->cache_embeddings_model;
    return m;
}

/* Reads the N slots: on a hit *entry is the slot chosen at random; on a miss *free_slot is the
 * first empty one. FALSE on a storage failure. */
static gboolean read_slots(GwCall *call, GwCacheStore *st, GwCacheEntry **entry, int *free_slot)
{
    GwCallCache *cc = call->cache;
    int n = cc->opts.buckets;
    int pick = n > 1 ? g_random_int_range(0, n) : 0;
    *entry = NULL;
    *free_slot = -1;
    gint64 now = now_ms();
    for (int i = 0; i < n; i++)
        gw_cache_key(&cc->key_in, i, cc->slot_keys[i]);
    for (int i = 0; i < n; i++) {
        const char *key = cc->slot_keys[i];
        GwCacheEntry *e = NULL;
        GError *err = NULL;
        GwStatus gs = gw_cache_store_get(st, key, now, &e, &err);
        if (gs == GW_ENOTFOUND || (gs == GW_OK && (e->stream != call->stream))) {
            gw_cache_entry_free(e);
            g_clear_pointer(entry, gw_cache_entry_free);
            *free_slot = i;
            return TRUE;
        }
        if (gs != GW_OK) {
            store_warning("reading an entry", err);
            g_clear_pointer(entry, gw_cache_entry_free);
            return FALSE;
        }
        if (i == pick)
            *entry = e;
        else
            gw_cache_entry_free(e);
    }
    return TRUE;
}

/* Semantic search after an exact miss: the matching entry, or NULL. Keeps the prompt's vector
 * for the save. */
static GwCacheEntry *semantic_lookup(GwCall *call, GwCacheStore *st, const char *model)
{
    GwCallCache *cc = call->cache;
    char *text = gw_cache_prompt_text(call->json);
    if (text == NULL || strlen(text) > EMBED_TEXT_MAX) {
        g_free(text);
        return NULL;
    }
    gboolean ok = embed(call, model, text, &cc->vector, &cc->dims);
    g_free(text);
    if (!ok)
        return NULL;
    gw_cache_semantic_group(&cc->key_in, model, cc->sem_group);
    if (!cc->opts.read)
        return NULL;
    float sim = 0, floor = (float)(cc->opts.threshold - 1e-6);
    GError *err = NULL;
    gint64 id = sem_search(st, cc->sem_group, cc->vector, cc->dims,
                           call->worker->proc->conf->cache_semantic_max_entries, floor, &sim,
                           &err);
    if (err != NULL) {
        store_warning("searching vectors", err);
        return NULL;
    }
    if (id < 0)
        return NULL;
    GwCacheEntry *e = NULL;
    if (gw_cache_store_get_by_id(st, id, now_ms(), &e, &err) != GW_OK) {
        g_clear_error(&err); /* purged or expired since it was indexed: a miss */
        return NULL;
    }
    /* The row read must be the one indexed: a row id freed by eviction or purge may have been
     * reused by another entry (of another group, even another scope) since. Its own stored
     * vector decides. */
    if (e->stream != call->stream || e->sem_group == NULL ||
        strcmp(e->sem_group, cc->sem_group) != 0 || e->vector == NULL || e->dims != cc->dims ||
        (sim = gw_vec_dot(e->vector, cc->vector, cc->dims)) < floor) {
        gw_cache_entry_free(e);
        return NULL;
    }
    cc->similarity = MIN((double)sim, 1.0);
    return e;
}

/* Answers the client from e (a hit). */
static void serve(GwCall *call, GwCacheEntry *e)
{
    GwRequest *req = call->req;
    GwLogRow *log = call->log;
    log->status = e->status;
    gsize len;
    const char *body = g_bytes_get_data(e->body, &len);
    const char *ct = e->content_type != NULL ? e->content_type : "application/json";
    gw_response_start(req, e->status, gw_call_response_headers(call, ct), NULL);
    log->ttfb_ms = (g_get_monotonic_time() - call->start_us) / 1000;
    if (!e->stream) {
        gw_response_write(req, body, len);
    } else {
        /* Event by event, each flushed, as the original stream was relayed. */
        gsize off = 0;
        while (off < len && !req->client_gone) {
            const char *end = g_strstr_len(body + off, (gssize)(len - off), "\n\n");
            gsize n = end != NULL ? (gsize)(end - (body + off)) + 2 : len - off;
            gw_response_write(req, body + off, n);
            gw_response_flush(req);
            off += n;
        }
    }
    gw_response_flush(req);
    gw_call_log_response(call, body, len);
    call->usage.prompt_tokens = e->prompt_tokens;
    call->usage.completion_tokens = e->completion_tokens;
    call->usage.total_tokens = e->total_tokens;
    call->usage.cached_tokens = e->cached_tokens;
    call->usage.reasoning_tokens = e->reasoning_tokens;
    if (req->client_gone && log->error_code == NULL) {
        log->error_code = g_strdup("client_disconnected");
        log->error_message = g_strdup("The client closed the connection before the cached "
                                      "answer was delivered");
    }
}

gboolean gw_cache_lookup(GwCall *call)
{
    const GwConf *conf = call->worker->proc->conf;
    if (!conf->cache_enabled)
        return TRUE;
    const char *m = call->req->method;
    if (strcmp(m, "POST") != 0 && strcmp(m, "GET") != 0)
        return TRUE;
    GwCacheOpts opts;
    GError *err = NULL;
    if (gw_cache_opts_parse(call->req->headers, &opts, &err) != GW_OK) {
        gw_call_fail(call, GW_E_INVALID_REQUEST, err->message);
        g_error_free(err);
        return FALSE;
    }
    if (!opts.read && !opts.save) {
        gw_cache_opts_clear(&opts);
        return TRUE;
    }
    gint64 t0 = g_get_monotonic_time();
    GwCallCache *cc = call->cache = g_new0(GwCallCache, 1);
    cc->opts = opts;
    cc->similarity = -1;
    cc->save_slot = -1;
    cc->looked_up = TRUE;
    cc->scope = scope_of(call);
    gw_cache_seed_hash(cc->opts.seed, cc->seed_hash);
    gsize rlen = 0;
    const void *raw = call->upstream_body != NULL ? g_bytes_get_data(call->upstream_body, &rlen)
                                                  : NULL;
    /* key_in points at the body as the client sent it (after templates): keys are derived here,
     * before a provider's prepare() or a model map changes call->json. */
    cc->key_in = (GwCacheKeyInput){
        .scope = cc->scope, .seed = cc->opts.seed, .method = m, .path_query = call->path_query,
        .stream = call->stream, .body = call->json, .raw_body = raw, .raw_len = rlen,
    };

    GwCacheStore *st = worker_store(call->worker);
    GwCacheEntry *e = NULL;
    int free_slot = -1;
    gboolean store_ok = st != NULL && read_slots(call, st, &e, &free_slot);
    if (store_ok && e != NULL && !cc->opts.read) {
        /* Save-only with every slot filled: refresh one of them. */
        free_slot = e->bucket;
        cc->save_refresh = TRUE;
        g_clear_pointer(&e, gw_cache_entry_free);
    }
    if (store_ok && e == NULL) {
        const char *model = semantic_model(call);
        if (model != NULL)
            e = semantic_lookup(call, st, model);
        cc->kind = "semantic";
    } else {
        cc->kind = "exact";
    }
    cc->latency_ms = (g_get_monotonic_time() - t0) / 1000;
    g_snprintf(cc->latency_s, sizeof cc->latency_s, "%" G_GINT64_FORMAT, cc->latency_ms);
    if (e != NULL && cc->opts.read) {
        cc->hit = TRUE;
        cc->entry = e;
        g_snprintf(cc->bucket_s, sizeof cc->bucket_s, "%d", e->bucket);
        if (cc->similarity >= 0)
            g_snprintf(cc->similarity_s, sizeof cc->similarity_s, "%.4f", cc->similarity);
        serve(call, e);
        return FALSE;
    }
    gw_cache_entry_free(e);
    if (store_ok && cc->opts.save && cc->opts.ttl_s > 0 && free_slot >= 0) {
        cc->save_slot = free_slot;
        cc->capture = g_string_new(NULL);
    }
    return TRUE;
}

/* ---- capture and save ---- */

void gw_cache_capture(GwCall *call, const char *data, size_t len)
{
    GwCallCache *cc = call->cache;
    if (cc == NULL || cc->capture == NULL || cc->capture_over)
        return;
    if (cc->capture->len + len > (gsize)MIN(CACHE_ENTRY_MAX, call->worker->proc->conf->max_response_bytes)) {
        cc->capture_over = TRUE;
        return;
    }
    g_string_append_len(cc->capture, data, (gssize)len);
}

void gw_cache_capture_content_type(GwCall *call, const char *content_type)
{
    GwCallCache *cc = call->cache;
    if (cc == NULL || cc->capture == NULL || content_type == NULL)
        return;
    g_free(cc->content_type);
    cc->content_type = g_strdup(content_type);
}

void gw_cache_response_headers(GwCall *call, const char **h, guint *n, guint room)
{
    GwCallCache *cc = call->cache;
    if (cc == NULL || !cc->looked_up || *n + 8 > room)
        return;
    h[(*n)++] = "alephant-cache";
    h[(*n)++] = cc->hit ? "HIT" : "MISS";
    h[(*n)++] = "alephant-cache-latency";
    h[(*n)++] = cc->latency_s;
    if (cc->hit) {
        h[(*n)++] = "alephant-cache-bucket-idx";
        h[(*n)++] = cc->bucket_s;
        if (cc->similarity >= 0) {
            h[(*n)++] = "alephant-cache-similarity";
            h[(*n)++] = cc->similarity_s;
        }
    }
}

gboolean gw_cache_is_hit(const GwCall *call)
{
    return call->cache != NULL && call->cache->hit;
}

static void save(GwCall *call)
{
    GwCallCache *cc = call->cache;
    const GwLogRow *log = call->log;
    const GwConf *conf = call->worker->proc->conf;
    if (cc->capture == NULL || cc->capture_over || cc->save_slot < 0)
        return;
    /* Only a complete successful answer: no error recorded, the client got all of it. */
    if (log->status < 200 || log->status >= 300 || log->error_code != NULL ||
        call->req->client_gone || !call->req->headers_sent)
        return;
    GwCacheStore *st = worker_store(call->worker);
    if (st == NULL)
        return;
    gint64 now = now_ms();
    GwCacheEntry *e = gw_cache_entry_new();
    g_strlcpy(e->key, cc->slot_keys[cc->save_slot], sizeof e->key);
    e->scope = g_strdup(cc->scope);
    g_strlcpy(e->seed_hash, cc->seed_hash, sizeof e->seed_hash);
    e->bucket = cc->save_slot;
    g_strlcpy(e->source_request_id, log->request_id, sizeof e->source_request_id);
    e->expires_at = now + cc->opts.ttl_s * 1000;
    e->status = log->status;
    e->content_type = g_strdup(cc->content_type);
    e->stream = call->stream;
    e->body = g_bytes_new(cc->capture->str, cc->capture->len);
    e->model = g_strdup(call->model);
    e->prompt_tokens = log->prompt_tokens;
    e->completion_tokens = log->completion_tokens;
    e->total_tokens = log->total_tokens;
    e->cached_tokens = log->cached_tokens;
    e->reasoning_tokens = log->reasoning_tokens;
    e->cost_nanos = log->cost_nanos;
    if (cc->vector != NULL) {
        e->sem_group = g_strdup(cc->sem_group);
        e->vector = g_memdup2(cc->vector, cc->dims * sizeof(float));
        e->dims = cc->dims;
    }
    GError *err = NULL;
    gint64 max_bytes = conf->cache_max_size_mb * MIB;
    gint64 max_vectors = conf->cache_semantic ? conf->cache_semantic_max_entries : 0;
    GwStatus gs;
    if (cc->save_refresh) {
        gs = gw_cache_store_put(st, e, now, max_bytes, max_vectors, &err);
    } else {
        /* The first slot still free when the write happens: concurrent misses of the same
         * request each claim their own, and once all are filled the answer is not kept. */
        const char *keys[GW_CACHE_BUCKETS_MAX];
        for (int i = 0; i < cc->opts.buckets; i++)
            keys[i] = cc->slot_keys[i];
        int slot = -1;
        gs = gw_cache_store_put_free_slot(st, e, keys, cc->opts.buckets, now, max_bytes,
                                          max_vectors, &slot, &err);
        if (gs == GW_EEXISTS) {
            g_clear_error(&err);
            gs = GW_OK;
        }
    }
    if (gs != GW_OK)
        store_warning("saving an answer", err);
    gw_cache_entry_free(e);
}

void gw_cache_finish(GwCall *call)
{
    GwCallCache *cc = call->cache;
    if (cc == NULL || !cc->looked_up)
        return;
    GwLogRow *log = call->log;
    log->cache_status = g_strdup(cc->hit ? "HIT" : "MISS");
    log->cache_latency_ms = cc->latency_ms;
    if (cc->hit) {
        log->cache_kind = g_strdup(cc->kind);
        log->cache_source_request_id = g_strdup(cc->entry->source_request_id);
        log->cache_bucket_idx = cc->entry->bucket;
        log->cache_similarity = cc->similarity;
        log->cache_saved_nanos = cc->entry->cost_nanos;
        log->cost_nanos = 0; /* nothing reached a provider */
        g_clear_pointer(&log->cost_flag, g_free);
        return;
    }
    save(call);
}

void gw_cache_clear(GwCall *call)
{
    GwCallCache *cc = call->cache;
    if (cc == NULL)
        return;
    gw_cache_opts_clear(&cc->opts);
    g_free(cc->scope);
    gw_cache_entry_free(cc->entry);
    if (cc->capture != NULL)
        g_string_free(cc->capture, TRUE);
    g_free(cc->content_type);
    g_free(cc->vector);
    g_free(cc);
    call->cache = NULL;
}
