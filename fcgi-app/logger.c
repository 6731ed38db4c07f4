/* logger.c — batched, asynchronous log writer (one thread, one SQLite connection per process).
 *
 * The writer blocks on the queue, then drains whatever else is waiting and commits it all in one
 * transaction: under light load each row is committed within milliseconds, under heavy load the
 * batches grow and the per-row commit cost disappears. A failed commit (database locked past
 * busy_timeout, disk full) is retried with backoff; rows stay queued meanwhile, and until a
 * commit succeeds again gw_logger_accepting() says no, so the gateway refuses new requests
 * (fail closed) instead of serving requests it cannot record. */
#include "config.h"
#include "logger.h"

#include <pthread.h>
#include <stdio.h>
#include <jansson.h>

#define GW_LOG_BATCH_MAX 512
#define GW_LOG_RETRY_MAX_MS 2000

/* A plain pthread mutex + condition variable around a GQueue rather than GAsyncQueue: GLib's
 * futex-based locks are invisible to ThreadSanitizer, which then reports every hand-off. */
struct GwLogger {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    GQueue queue;              /* GwLogRow*, or &stop_marker */
    GThread *thread;
    GwStore *store;
    char *spill_path;
    gint failing;              /* 1 while the last commit failed (atomic) */
};

/* Queued in place of a row to tell the writer to finish. */
static GwLogRow stop_marker;

static void spill(GwLogger *lg, GwLogRow **rows, guint n)
{
    FILE *f = fopen(lg->spill_path, "a");
    for (guint i = 0; i < n; i++) {
        GwLogRow *r = rows[i];
        json_t *o = json_pack("{s:s, s:I, s:i, s:s?, s:s?, s:s?}", "request_id", r->request_id,
                              "created_at", (json_int_t)r->created_at, "status", r->status,
                              "path", r->path, "model", r->model, "error_code", r->error_code);
        if (f != NULL && o != NULL) {
            json_dumpf(o, f, JSON_COMPACT);
            fputc('\n', f);
        }
        json_decref(o);
    }
    if (f != NULL)
        fclose(f);
    g_warning("log writer: %u row(s) could not be written to the database; kept in %s", n,
              lg->spill_path);
}

static gboolean write_batch(GwLogger *lg, GwLogRow **rows, guint n, gboolean stopping)
{
    guint delay_ms = 10;
    for (int attempt = 0;; attempt++) {
        GError *err = NULL;
        if (gw_store_log_insert(lg->store, rows, n, &err) == GW_OK) {
            if (g_atomic_int_get(&lg->failing)) {
                g_atomic_int_set(&lg->failing, 0);
                g_message("log writer: the database takes rows again");
            }
            return TRUE;
        }
        g_atomic_int_set(&lg->failing, 1);
        if (attempt == 0 || attempt % 50 == 0)
            g_warning("log writer: %s (will retry)", err->message);
        g_error_free(err);
        /* While stopping, give the database a bounded chance, then spill to the file. */
        if (stopping && attempt >= 20)
            return FALSE;
        g_usleep(delay_ms * 1000);
        delay_ms = MIN(delay_ms * 2, GW_LOG_RETRY_MAX_MS);
    }
}

/* Takes up to max queued rows into batch; waits for the first one unless stopping. Sets
 * *stopping when the stop marker is taken. Returns how many rows were taken. */
static guint take_batch(GwLogger *lg, GwLogRow **batch, guint max, gboolean *stopping)
{
    guint n = 0;
    pthread_mutex_lock(&lg->lock);
    while (!*stopping && g_queue_is_empty(&lg->queue))
        pthread_cond_wait(&lg->nonempty, &lg->lock);
    while (n < max && !g_queue_is_empty(&lg->queue)) {
        GwLogRow *r = g_queue_pop_head(&lg->queue);
        if (r == &stop_marker)
            *stopping = TRUE;
        else
            batch[n++] = r;
    }
    pthread_mutex_unlock(&lg->lock);
    return n;
}

static gpointer writer_main(gpointer data)
{
    GwLogger *lg = data;
    GwLogRow *batch[GW_LOG_BATCH_MAX];
    gboolean stopping = FALSE;
    for (;;) {
        /* Once the stop marker was seen, drain what is left without blocking, then end. */
        guint n = take_batch(lg, batch, GW_LOG_BATCH_MAX, &stopping);
        if (n == 0 && stopping)
            break;
        if (n > 0 && !write_batch(lg, batch, n, stopping))
            spill(lg, batch, n);
        if (n > 0)
            gw_store_maintain_wal(lg->store);
        for (guint i = 0; i < n; i++)
            gw_log_row_free(batch[i]);
    }
    return NULL;
}

GwStatus gw_logger_start(const char *db_path, const char *spill_path, GwLogger **out, GError **err)
{
    GwStore *st = NULL;
    GwStatus rc = gw_store_open(db_path, &st, err);
    if (rc != GW_OK)
        return rc;
    gw_store_set_autocheckpoint(st, FALSE); /* this thread checkpoints in writer_main */
    GwLogger *lg = g_new0(GwLogger, 1);
    lg->store = st;
    lg->spill_path = g_strdup(spill_path);
    pthread_mutex_init(&lg->lock, NULL);
    pthread_cond_init(&lg->nonempty, NULL);
    g_queue_init(&lg->queue);
    lg->thread = g_thread_new("gw-log-writer", writer_main, lg);
    *out = lg;
    return GW_OK;
}

static void push(GwLogger *lg, GwLogRow *row)
{
    pthread_mutex_lock(&lg->lock);
    g_queue_push_tail(&lg->queue, row);
    pthread_cond_signal(&lg->nonempty);
    pthread_mutex_unlock(&lg->lock);
}

void gw_logger_submit(GwLogger *lg, GwLogRow *row)
{
    push(lg, row);
}

gboolean gw_logger_accepting(GwLogger *lg)
{
    return lg == NULL || !g_atomic_int_get(&lg->failing);
}

void gw_logger_stop(GwLogger *lg)
{
    if (lg == NULL)
        return;
    push(lg, &stop_marker);
    g_thread_join(lg->thread);
    pthread_cond_destroy(&lg->nonempty);
    pthread_mutex_destroy(&lg->lock);
    gw_store_close(lg->store);
    g_free(lg->spill_path);
    g_free(lg);
}
