/* main.c — the gateway worker process: configuration and state checks, then a pool of request
 * threads, each accepting FastCGI requests with FCGX_Accept_r and owning its own SQLite
 * connection and libcurl handle; a log-writer thread; and the main thread waiting for
 * SIGTERM/SIGINT to shut down cleanly (in-flight requests get a grace period, queued log rows
 * are written before exit).
 *
 * Started as a plain CGI program instead (file descriptor 0 is not a listening socket and the
 * web server set GATEWAY_INTERFACE), the same binary serves exactly one request from its
 * environment, stdin and stdout on the main thread, closes stdout to end the response, then
 * stops the log writer (which writes the request's row) and exits. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>
#include <fcgiapp.h>
#include "cache.h"
#include "conf.h"
#include "crypto.h"
#include "errors.h"
#include "logger.h"
#include "permcheck.h"
#include "pipeline.h"
#include "proxy.h"
#include "ratelimit.h"
#include "store.h"

#define GW_SHUTDOWN_GRACE_S 20

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GW_THREAD_STACK (2u << 20)
#else
#define GW_THREAD_STACK (512u << 10)
#endif

typedef struct {
    pthread_t tid;
    GwProcess *proc;
    gint in_accept;   /* 1 while blocked (or about to block) in FCGX_Accept_r */
    gint done;
} Slot;

static void on_wake(int sig)
{
    (void)sig; /* only interrupts accept() */
}

static void *thread_main(void *data)
{
    Slot *slot = data;
    GwProcess *proc = slot->proc;
    GwWorker w = { .proc = proc };
    GError *err = NULL;
    if (gw_store_open(proc->conf->db_path, &w.store, &err) != GW_OK) {
        g_warning("cannot open the database: %s", err->message);
        g_error_free(err);
        g_atomic_int_set(&slot->done, 1);
        kill(getpid(), SIGTERM);
        return NULL;
    }
    /* The log writer checkpoints the WAL for the whole process (gw_store_maintain_wal). */
    gw_store_set_autocheckpoint(w.store, FALSE);
    w.curl = gw_proxy_curl_new();
    FCGX_Request fr;
    FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR);
    while (!g_atomic_int_get(&proc->stopping)) {
        g_atomic_int_set(&slot->in_accept, 1);
        if (g_atomic_int_get(&proc->stopping))
            break;
        int rc = FCGX_Accept_r(&fr);
        g_atomic_int_set(&slot->in_accept, 0);
        if (rc < 0) {
            if (g_atomic_int_get(&proc->stopping))
                break;
            if (rc == -EINTR)
                continue;
            g_warning("FastCGI accept failed (%d): %s; stopping", rc, rc > -200 ? g_strerror(-rc) : "");
            kill(getpid(), SIGTERM);
            break;
        }
        gw_pipeline_handle(&w, &gw_request_io_fastcgi, &fr);
        FCGX_Finish_r(&fr);
    }
    g_atomic_int_set(&slot->in_accept, 0);
    FCGX_Free(&fr, 1);
    curl_easy_cleanup(w.curl);
    gw_cache_worker_close(&w);
    gw_store_close(w.store);
    g_atomic_int_set(&slot->done, 1);
    return NULL;
}

/* A start-up failure: the message goes to stderr (the web server's error log). A CGI request also
 * gets an answer, an OpenAI-style 503 that does not reveal the cause. Returns the exit code. */
static int startup_fail(gboolean cgi, const char *prefix, const char *message)
{
    fprintf(stderr, "alephant-gateway: %s%s\n", prefix, message);
    if (cgi) {
        char *body = gw_error_json(GW_E_UNAVAILABLE, "The gateway cannot serve requests now "
                                   "(its start-up failed; see the web server's error log)");
        printf("Status: %d\r\nContent-Type: application/json\r\nCache-Control: no-store\r\n\r\n%s",
               gw_error_status(GW_E_UNAVAILABLE), body);
        g_free(body);
        gw_request_cgi_finish();
    }
    return 1;
}

/* Plain CGI: one request on the main thread, then the log row, then exit. */
static int serve_cgi(GwProcess *proc)
{
    GError *err = NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *spill = g_build_filename(proc->conf->home, "log-spill.jsonl", NULL);
    GwStatus st = gw_logger_start(proc->conf->db_path, spill, &proc->logger, &err);
    g_free(spill);
    if (st != GW_OK) {
        int rc = startup_fail(TRUE, "", err->message);
        g_error_free(err);
        return rc;
    }
    GwWorker w = { .proc = proc };
    if (gw_store_open(proc->conf->db_path, &w.store, &err) != GW_OK) {
        int rc = startup_fail(TRUE, "cannot open the database: ", err->message);
        g_error_free(err);
        gw_logger_stop(proc->logger);
        return rc;
    }
    w.curl = gw_proxy_curl_new();
    gw_pipeline_handle(&w, &gw_request_io_cgi, NULL);
    /* The response ends for the client now; the log row is written while the process exits. */
    gw_request_cgi_finish();
    curl_easy_cleanup(w.curl);
    gw_cache_worker_close(&w);
    gw_store_close(w.store);
    gw_logger_stop(proc->logger);
    curl_global_cleanup();
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: alephant-gateway [--help] [--version]\n\n"
               "The Alephant Gateway FastCGI worker. It is started by the web server (lighttpd\n"
               "bin-path) or by spawn-fcgi with the listening socket on file descriptor 0, and\n"
               "serves /v1/* with a pool of threads. Started by a web server as a plain CGI\n"
               "program (GATEWAY_INTERFACE set, no socket on file descriptor 0) it serves the\n"
               "one request of its environment, stdin and stdout, then exits.\n\n"
               "Configuration: $ALEPHANT_CONFIG or $ALEPHANT_HOME/alephant.conf (GLib key-file),\n"
               "environment overrides ALEPHANT_HOME, ALEPHANT_THREADS, ALEPHANT_<SECTION>_<KEY>.\n"
               "The state directory must hold a database and master key (alephantctl init).\n");
}

int main(int argc, char **argv)
{
    /* FastCGI puts a listening socket on file descriptor 0; a CGI program gets the request
     * body (or /dev/null) there and GATEWAY_INTERFACE in its environment (RFC 3875). */
    const char *gi = getenv("GATEWAY_INTERFACE");
    gboolean cgi = FCGX_Init() == 0 && FCGX_IsCGI() && gi != NULL && g_str_has_prefix(gi, "CGI/");

    /* A CGI program's arguments are the words of a query string without '=' (RFC 3875 4.4),
     * not options: they are ignored. */
    for (int i = 1; !cgi && i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("alephant-gateway %s\n", PACKAGE_VERSION);
            return 0;
        }
        usage(stderr);
        return 2;
    }

    if (cgi)
        gw_request_cgi_setup();

    GwProcess proc = { 0 };
    GError *err = NULL;
    if (gw_conf_load(&proc.conf, &err) != GW_OK ||
        gw_permcheck_ready(proc.conf, proc.master_key, &err) != GW_OK) {
        int rc = startup_fail(cgi, "", err->message);
        g_error_free(err);
        gw_conf_free(proc.conf);
        return rc;
    }
    if (gw_cidr_list_parse(proc.conf->trusted_proxies, &proc.trusted_proxies, &err) != GW_OK) {
        int rc = startup_fail(cgi, "trusted_proxies: ", err->message);
        g_error_free(err);
        gw_conf_free(proc.conf);
        return rc;
    }
    /* Rate-limit state shared by every worker process (and thread) of this machine. */
    char *rundir = g_build_filename(proc.conf->home, "run", NULL);
    char *rlpath = g_build_filename(rundir, "ratelimit.shm", NULL);
    g_mkdir_with_parents(rundir, 0700);
    if (gw_ratelimit_open(rlpath, 0, &proc.ratelimiter, &err) != GW_OK) {
        char *prefix = g_strdup_printf("rate limiter %s: ", rlpath);
        int rc = startup_fail(cgi, prefix, err->message);
        g_free(prefix);
        g_error_free(err);
        g_free(rlpath);
        g_free(rundir);
        gw_cidr_list_free(proc.trusted_proxies);
        gw_conf_free(proc.conf);
        return rc;
    }
    g_free(rlpath);
    g_free(rundir);
    if (cgi) {
        int rc = serve_cgi(&proc);
        gw_cidr_list_free(proc.trusted_proxies);
        gw_ratelimit_close(proc.ratelimiter);
        gw_conf_free(proc.conf);
        return rc;
    }
    if (FCGX_Init() != 0 || FCGX_IsCGI()) {
        fprintf(stderr, "alephant-gateway: not started as a FastCGI application (file descriptor 0 "
                        "must be the listening socket: run it from lighttpd or spawn-fcgi) nor as "
                        "a CGI program (GATEWAY_INTERFACE is not set)\n");
        return 1;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    char *spill = g_build_filename(proc.conf->home, "log-spill.jsonl", NULL);
    if (gw_logger_start(proc.conf->db_path, spill, &proc.logger, &err) != GW_OK) {
        fprintf(stderr, "alephant-gateway: %s\n", err->message);
        return 1;
    }
    g_free(spill);

    /* Shutdown signals are taken by the main thread only; SIGUSR2 just interrupts accept(). */
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = { .sa_handler = on_wake };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR2, &sa, NULL);
    sigset_t stop_set;
    sigemptyset(&stop_set);
    sigaddset(&stop_set, SIGTERM);
    sigaddset(&stop_set, SIGINT);
    sigaddset(&stop_set, SIGHUP);
    sigaddset(&stop_set, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &stop_set, NULL);

    int n = proc.conf->threads;
    Slot *slots = g_new0(Slot, n);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, GW_THREAD_STACK);
    for (int i = 0; i < n; i++) {
        slots[i].proc = &proc;
        if (pthread_create(&slots[i].tid, &attr, thread_main, &slots[i]) != 0) {
            fprintf(stderr, "alephant-gateway: cannot start thread %d\n", i);
            return 1;
        }
    }
    pthread_attr_destroy(&attr);

    int sig = 0;
    sigwait(&stop_set, &sig);
    g_atomic_int_set(&proc.stopping, 1);
    proc.stop_deadline_us = g_get_monotonic_time() + GW_SHUTDOWN_GRACE_S * G_USEC_PER_SEC;
    FCGX_ShutdownPending();

    /* Wake idle threads until every thread has left; busy ones finish their request first
     * (their transfers are aborted once the grace period ends). */
    gint64 give_up = proc.stop_deadline_us + 5 * G_USEC_PER_SEC;
    for (;;) {
        int alive = 0;
        for (int i = 0; i < n; i++) {
            if (g_atomic_int_get(&slots[i].done))
                continue;
            alive++;
            if (g_atomic_int_get(&slots[i].in_accept))
                pthread_kill(slots[i].tid, SIGUSR2);
        }
        if (alive == 0 || g_get_monotonic_time() > give_up)
            break;
        g_usleep(20000);
    }
    for (int i = 0; i < n; i++)
        if (g_atomic_int_get(&slots[i].done))
            pthread_join(slots[i].tid, NULL);

    gw_logger_stop(proc.logger);
    gw_cidr_list_free(proc.trusted_proxies);
    gw_ratelimit_close(proc.ratelimiter);
    g_free(slots);
    curl_global_cleanup();
    gw_conf_free(proc.conf);
    return 0;
}
