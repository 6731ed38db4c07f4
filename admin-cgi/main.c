/* main.c — the admin program (alephant-admin): configuration and state checks, then either one
 * request as a plain CGI program (GATEWAY_INTERFACE set, no FastCGI socket on fd 0) or a small
 * pool of FastCGI threads (FCGX_Accept_r, [admin] threads), each with its own SQLite connection;
 * SIGTERM lets requests in progress finish. */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <fcgiapp.h>
#include "conf.h"
#include "crypto.h"
#include "permcheck.h"
#include "router.h"
#include "store.h"

typedef struct {
    pthread_t tid;
    AdmApp *app;
    gint in_accept;
    gint done;
} Slot;

static gint stopping;

static void on_wake(int sig)
{
    (void)sig; /* only interrupts accept() */
}

static void *thread_main(void *data)
{
    Slot *slot = data;
    GError *err = NULL;
    GwStore *store = NULL;
    if (gw_store_open(slot->app->conf->db_path, &store, &err) != GW_OK) {
        g_warning("alephant-admin: cannot open the database: %s", err->message);
        g_error_free(err);
        g_atomic_int_set(&slot->done, 1);
        kill(getpid(), SIGTERM);
        return NULL;
    }
    FCGX_Request fr;
    FCGX_InitRequest(&fr, 0, FCGI_FAIL_ACCEPT_ON_INTR);
    while (!g_atomic_int_get(&stopping)) {
        g_atomic_int_set(&slot->in_accept, 1);
        if (g_atomic_int_get(&stopping))
            break;
        int rc = FCGX_Accept_r(&fr);
        g_atomic_int_set(&slot->in_accept, 0);
        if (rc < 0) {
            if (g_atomic_int_get(&stopping))
                break;
            if (rc == -EINTR)
                continue;
            g_warning("alephant-admin: FastCGI accept failed (%d); stopping", rc);
            kill(getpid(), SIGTERM);
            break;
        }
        adm_handle(slot->app, store, &gw_request_io_fastcgi, &fr);
        FCGX_Finish_r(&fr);
    }
    g_atomic_int_set(&slot->in_accept, 0);
    FCGX_Free(&fr, 1);
    gw_store_close(store);
    g_atomic_int_set(&slot->done, 1);
    return NULL;
}

static int startup_fail(gboolean cgi, const char *message)
{
    fprintf(stderr, "alephant-admin: %s\n", message);
    if (cgi) {
        printf("Status: 503\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-store\r\n"
               "X-Content-Type-Options: nosniff\r\n\r\nThe admin cannot serve requests now "
               "(see the web server's error log).\n");
        gw_request_cgi_finish();
    }
    return 1;
}

/* FastCGI with unusable state: lighttpd would refuse to start if the program exited, taking the
 * gateway down with it; instead every admin request gets a 503 until SIGTERM. */
static int serve_unavailable(void)
{
    signal(SIGPIPE, SIG_IGN);
    FCGX_Request fr;
    FCGX_InitRequest(&fr, 0, 0);
    while (FCGX_Accept_r(&fr) >= 0) {
        FCGX_PutS("Status: 503\r\nContent-Type: text/plain; charset=utf-8\r\n"
                  "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
                  "X-Frame-Options: DENY\r\nContent-Security-Policy: default-src 'none'\r\n\r\n"
                  "The admin cannot serve requests now (see the web server's error log).\n",
                  fr.out);
        FCGX_Finish_r(&fr);
    }
    FCGX_Free(&fr, 1);
    return 1;
}

static int serve_cgi(AdmApp *app)
{
    GError *err = NULL;
    GwStore *store = NULL;
    if (gw_store_open(app->conf->db_path, &store, &err) != GW_OK) {
        int rc = startup_fail(TRUE, err->message);
        g_error_free(err);
        return rc;
    }
    adm_handle(app, store, &gw_request_io_cgi, NULL);
    gw_request_cgi_finish();
    gw_store_close(store);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: alephant-admin [--help] [--version] [--routes]\n\n"
               "The Alephant admin program (pages and JSON API under /admin). Started by the web\n"
               "server as a FastCGI application (lighttpd bin-path or spawn-fcgi, listening socket\n"
               "on file descriptor 0; [admin] threads request threads) or as a plain CGI program\n"
               "(GATEWAY_INTERFACE set: one request, then exit).\n\n"
               "  --routes   print the route table (method, path, least role) and exit\n\n"
               "Configuration: $ALEPHANT_CONFIG or $ALEPHANT_HOME/alephant.conf, as the gateway.\n"
               "Accounts: alephantctl admin add --user NAME --password-stdin [--role admin|viewer].\n");
}

static int serve_fastcgi(AdmApp *app)
{
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

    int n = app->conf->admin_threads;
    Slot *slots = g_new0(Slot, n);
    int started = 0;
    for (int i = 0; i < n; i++) {
        slots[i].app = app;
        if (pthread_create(&slots[i].tid, NULL, thread_main, &slots[i]) != 0) {
            fprintf(stderr, "alephant-admin: cannot start thread %d\n", i);
            g_atomic_int_set(&slots[i].done, 1);
            kill(getpid(), SIGTERM);
            break;
        }
        started++;
    }
    int sig = 0;
    sigwait(&stop_set, &sig);
    g_atomic_int_set(&stopping, 1);
    FCGX_ShutdownPending();
    gint64 give_up = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
    for (;;) {
        int alive = 0;
        for (int i = 0; i < started; i++) {
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
    for (int i = 0; i < started; i++)
        if (g_atomic_int_get(&slots[i].done))
            pthread_join(slots[i].tid, NULL);
    g_free(slots);
    return 0;
}

int main(int argc, char **argv)
{
    const char *gi = getenv("GATEWAY_INTERFACE");
    gboolean cgi = FCGX_Init() == 0 && FCGX_IsCGI() && gi != NULL && g_str_has_prefix(gi, "CGI/");
    for (int i = 1; !cgi && i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[i], "--version") == 0) {
            printf("alephant-admin %s\n", PACKAGE_VERSION);
            return 0;
        }
        if (strcmp(argv[i], "--routes") == 0) {
            adm_routes_print(stdout);
            return fflush(stdout) == 0 ? 0 : 1;
        }
        usage(stderr);
        return 2;
    }
    if (cgi)
        gw_request_cgi_setup();

    AdmApp app = { 0 };
    GError *err = NULL;
    if (gw_conf_load(&app.conf, &err) != GW_OK ||
        gw_permcheck_ready(app.conf, app.master_key, &err) != GW_OK) {
        int rc = startup_fail(cgi, err->message);
        g_error_free(err);
        gw_conf_free(app.conf);
        if (!cgi && FCGX_Init() == 0 && !FCGX_IsCGI())
            rc = serve_unavailable();
        return rc;
    }
    int rc;
    if (cgi) {
        rc = serve_cgi(&app);
    } else if (FCGX_Init() != 0 || FCGX_IsCGI()) {
        fprintf(stderr, "alephant-admin: not started as a FastCGI application (file descriptor 0 "
                        "must be the listening socket) nor as a CGI program\n");
        rc = 1;
    } else {
        rc = serve_fastcgi(&app);
    }
    explicit_bzero(app.master_key, sizeof app.master_key);
    gw_conf_free(app.conf);
    return rc;
}
