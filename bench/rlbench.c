/* rlbench.c — the per-request limit checks in isolation, ns per call:
 *  - gw_ratelimit_take (cost 1, a limit that never refuses) on a temporary shared-memory file;
 *  - gw_store_budget_reserve + gw_store_budget_settle on a temporary migrated database holding
 *    one virtual key with one (never exhausted) budget.
 * Prints one JSON object. Usage: rlbench [ratelimit_iterations] [budget_iterations] */
#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "ratelimit.h"
#include "store.h"

static gint64 now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (gint64)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, GError *err)
{
    fprintf(stderr, "rlbench: %s: %s\n", what, err ? err->message : "failed");
    exit(1);
}

int main(int argc, char **argv)
{
    long rl_iters = argc > 1 ? atol(argv[1]) : 2000000;
    long bd_iters = argc > 2 ? atol(argv[2]) : 20000;
    GError *err = NULL;
    char *dir = g_dir_make_tmp("alephant-rlbench-XXXXXX", &err);
    if (dir == NULL)
        die("tmpdir", err);

    /* ---- rate limit ---- */
    char *shm = g_build_filename(dir, "ratelimit.shm", NULL);
    GwRateLimiter *rl = NULL;
    if (gw_ratelimit_open(shm, 0, &rl, &err) != GW_OK)
        die("gw_ratelimit_open", err);
    GwRateDecision d;
    for (long i = 0; i < 10000; i++) /* warm-up */
        gw_ratelimit_take(rl, "vk:1:key", 1000000000, 60000, 1, &d);
    gint64 t0 = now_ns();
    long refused = 0;
    for (long i = 0; i < rl_iters; i++) {
        gw_ratelimit_take(rl, "vk:1:key", 1000000000, 60000, 1, &d);
        refused += !d.allowed;
    }
    gint64 t1 = now_ns();
    double rl_ns = (double)(t1 - t0) / (double)rl_iters;
    /* the token check + charge pair a request also does */
    t0 = now_ns();
    for (long i = 0; i < rl_iters; i++) {
        gw_ratelimit_take(rl, "vk:1:tok", 1000000000, 60000, 0, &d);
        gw_ratelimit_charge(rl, "vk:1:tok", 1000000000, 60000, 21);
    }
    t1 = now_ns();
    double rl_tok_ns = (double)(t1 - t0) / (double)rl_iters;
    gw_ratelimit_close(rl);

    /* ---- budget ---- */
    char *db = g_build_filename(dir, "alephant.db", NULL);
    GwStore *st = NULL;
    if (gw_store_open(db, &st, &err) != GW_OK || gw_store_migrate(st, &err) != GW_OK)
        die("store", err);
    GBytes *secret = g_bytes_new_static("enc", 3);
    if (gw_store_provider_key_add(st, "main", "openai", NULL, NULL, secret, "x", NULL, &err) != GW_OK)
        die("provider_key_add", err);
    g_bytes_unref(secret);
    GwVkCreate p = {.name = "bench", .token_hash = "h-bench", .token_prefix = "vk-x",
                    .provider_key = "main"};
    gint64 vk = 0;
    if (gw_store_vk_create(st, &p, &vk, &err) != GW_OK)
        die("vk_create", err);
    if (gw_store_budget_set(st, "virtual_key", "bench", "monthly", 1,
                            GW_BUDGET_LIMIT_MAX_NANOS, -1, &err) != GW_OK)
        die("budget_set", err);
    char rid[64];
    gint64 res_ns = 0, set_ns = 0;
    gint64 now_ms = g_get_real_time() / 1000;
    for (long i = -200; i < bd_iters; i++) { /* negative i: warm-up */
        snprintf(rid, sizeof rid, "bench-%ld", i + 1000000);
        gint64 a = now_ns();
        if (gw_store_budget_reserve(st, vk, 0, 0, rid, 5000, now_ms, 3600000, NULL, &err) != GW_OK)
            die("budget_reserve", err);
        gint64 b = now_ns();
        if (gw_store_budget_settle(st, rid, 2100, now_ms, &err) != GW_OK)
            die("budget_settle", err);
        gint64 c = now_ns();
        if (i >= 0) {
            res_ns += b - a;
            set_ns += c - b;
        }
    }
    gw_store_close(st);

    printf("{\"ratelimit_take_ns\":%.1f,\"ratelimit_token_check_charge_ns\":%.1f,"
           "\"ratelimit_iterations\":%ld,\"ratelimit_refused\":%ld,"
           "\"budget_reserve_ns\":%.0f,\"budget_settle_ns\":%.0f,\"budget_iterations\":%ld}\n",
           rl_ns, rl_tok_ns, rl_iters, refused, (double)res_ns / (double)bd_iters,
           (double)set_ns / (double)bd_iters, bd_iters);

    char *files[] = {"ratelimit.shm", "alephant.db", "alephant.db-wal", "alephant.db-shm"};
    for (gsize i = 0; i < G_N_ELEMENTS(files); i++) {
        char *f = g_build_filename(dir, files[i], NULL);
        g_unlink(f);
        g_free(f);
    }
    g_rmdir(dir);
    g_free(shm);
    g_free(db);
    g_free(dir);
    return 0;
}
